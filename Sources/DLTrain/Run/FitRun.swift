import Foundation

/// What `dltrain fit` does once its arguments are read: choose the run directory, read a
/// checkpoint to resume, start MPI when launched as a rank, build the trainer and train it
/// with the run's callbacks (checkpoints, run files, curves, diagnostics, console).
public enum FitRun {
    public struct Options {
        /// The run directory asked for (`--out`); nil: the config's.
        public var out: String?
        /// A checkpoint to continue (`--resume`).
        public var resume: String?
        public var quiet = false
        /// `--folds K`: K-fold cross-validation in place of one run.
        public var folds: Int?
        /// `--distributed mpi`, or started as a rank by a launcher.
        public var distributed = false

        public init(out: String? = nil, resume: String? = nil, quiet: Bool = false, folds: Int? = nil, distributed: Bool = false) {
            self.out = out
            self.resume = resume
            self.quiet = quiet
            self.folds = folds
            self.distributed = distributed
        }
    }

    public static func run(_ config: Config, _ options: Options) throws {
        if let folds = options.folds {
            try CrossValidation.run(config: config, folds: folds, directory: options.out ?? config.outputDirectory, quiet: options.quiet)
            return
        }
        var resumed: (checkpoint: Checkpoint, path: String)? = nil
        var path = options.out ?? config.outputDirectory
        if let resume = options.resume {
            let checkpoint = try Checkpoint.read(resume)
            try config.checkResumable(fromRunConfig: checkpoint.config, path: resume)
            resumed = (checkpoint, resume)
            // A checkpoint at RUN/checkpoints/last.h5 continues in RUN unless --out says otherwise.
            let folder = URL(fileURLWithPath: resume).deletingLastPathComponent()
            if options.out == nil && folder.lastPathComponent == "checkpoints" { path = folder.deletingLastPathComponent().path }
        }
        let replicas = options.distributed || MPI.launchedAsRank ? try MPI() : nil
        defer { replicas?.finish() }
        let trainer = try Trainer(config: config, resume: resumed, replicas: replicas)
        InterruptSignal.install()
        if let replicas, replicas.rank != 0 {
            // Every rank trains alike; rank 0 alone writes and reports.
            try trainer.fit()
            return
        }
        let directory = try RunDirectory(path: path)
        try trainer.fit(callbacks: [try CheckpointWriter(runDirectory: path), directory, CurvesWriter(runDirectory: path),
                                    DiagnosticsWriter(runDirectory: path), ConsoleLogger(quiet: options.quiet)])
        printError("run directory: \(directory.path)")
    }
}
