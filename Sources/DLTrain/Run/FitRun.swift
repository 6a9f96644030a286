import DLData
import Foundation

/// What `dltrain fit` does once its arguments are read: start MPI when launched as a rank,
/// read a checkpoint to resume, claim the run directory, build the trainer and train it with
/// the run's callbacks (checkpoints, run files, curves, diagnostics, console).
///
/// The run directory rules: a finished run is never overwritten unasked. The default
/// `runs/CONFIG-NAME` gives way to `runs/CONFIG-NAME-2`, `-3`... when it holds a run or another
/// process owns it; an explicit `--out` or `output.dir` that holds a run is refused unless
/// `--overwrite` (which removes the old run's files first) or `--resume`. One process owns a
/// directory at a time (``RunLock``); under MPI, rank 0 alone claims it.
public enum FitRun {
    public struct Options {
        /// The run directory asked for (`--out`); nil: the config's.
        public var out: String?
        /// A checkpoint to continue (`--resume`).
        public var resume: String?
        public var quiet = false
        /// `--verbose`: also print how the step's matrix products are computed and how memory is paged.
        public var verbose = false
        /// `--folds K`: K-fold cross-validation in place of one run.
        public var folds: Int?
        /// `--distributed mpi`, or started as a rank by a launcher.
        public var distributed = false
        /// `--overwrite`: replace the run an explicit directory holds.
        public var overwrite = false

        public init(out: String? = nil, resume: String? = nil, quiet: Bool = false, verbose: Bool = false, folds: Int? = nil,
                    distributed: Bool = false, overwrite: Bool = false) {
            self.overwrite = overwrite
            self.verbose = verbose
            self.out = out
            self.resume = resume
            self.quiet = quiet
            self.folds = folds
            self.distributed = distributed
        }
    }

    public static func run(_ config: Config, _ options: Options) throws {
        let measuring = try Trainer.measuresProducts()
        if let folds = options.folds {
            let claimed = try claim(config, options, resuming: false)
            try CrossValidation.run(config: config, folds: folds, directory: claimed.directory, quiet: options.quiet, verbose: options.verbose,
                                    measuringProducts: measuring)
            return
        }
        var resumed: (checkpoint: Checkpoint, path: String)? = nil
        if let resume = options.resume {
            let checkpoint = try Checkpoint.read(resume)
            try config.checkResumable(fromRunConfig: checkpoint.config, path: resume)
            resumed = (checkpoint, resume)
        }
        let replicas = options.distributed || MPI.launchedAsRank ? try MPI() : nil
        defer { replicas?.finish() }
        if let replicas, replicas.rank != 0 {
            // Every rank trains alike; rank 0 alone writes and reports.
            let trainer = try Trainer(config: config, resume: resumed, replicas: replicas)
            InterruptSignal.install()
            try trainer.fit()
            return
        }
        let claimed = try claim(config, options, resuming: resumed != nil)
        let path = claimed.directory
        let trainer = try Trainer(config: config, resume: resumed, replicas: replicas, measuringProducts: measuring)
        if options.verbose { for line in trainer.productPlanLines + [memoryPagesLine] { printError(line) } }
        InterruptSignal.install()
        let directory = try RunDirectory(path: path)
        try trainer.fit(callbacks: [try CheckpointWriter(runDirectory: path), directory, CurvesWriter(runDirectory: path),
                                    DiagnosticsWriter(runDirectory: path), ConsoleLogger(quiet: options.quiet)])
        printError("run directory: \(directory.path)")
        withExtendedLifetime(claimed) {}
    }

    /// The run directory this fit writes, locked for the life of the process.
    static func claim(_ config: Config, _ options: Options, resuming: Bool) throws -> RunLock {
        var path = options.out ?? config.outputDirectory
        // A checkpoint at RUN/checkpoints/last.h5 continues in RUN unless --out says otherwise.
        if let resume = options.resume, options.out == nil {
            let folder = URL(fileURLWithPath: resume).deletingLastPathComponent()
            if folder.lastPathComponent == "checkpoints" { path = folder.deletingLastPathComponent().path }
        }
        let explicit = options.out != nil || !config.outputDirectoryIsDefault || resuming
        guard !explicit else { return try claimExplicit(path, config, options, resuming: resuming) }
        for k in 1...10_000 {
            let candidate = k == 1 ? path : "\(path)-\(k)"
            switch try take(candidate, overwrite: options.overwrite, resuming: false) {
            case .taken(let lock):
                if k > 1 { printError("this run goes to \(candidate) (\(path) holds another run; --out DIR chooses, --overwrite replaces)") }
                return lock
            case .inUse, .holdsRun:
                continue
            }
        }
        throw RunFailure("no free run directory from \(path) to \(path)-10000; clean up runs/ or choose one with --out")
    }

    private static func claimExplicit(_ path: String, _ config: Config, _ options: Options, resuming: Bool) throws -> RunLock {
        switch try take(path, overwrite: options.overwrite, resuming: resuming) {
        case .taken(let lock):
            return lock
        case .inUse(let owner):
            throw DataError(file: path, "the run directory is in use by another dltrain process (pid \(owner.map(String.init) ?? "unknown")); wait for it to finish, stop it, or choose another directory with --out")
        case .holdsRun(let file):
            let named = options.out != nil ? "--out \(path)" : "output.dir \"\(path)\" in \(config.file)"
            throw DataError(file: path, "\(named) already holds a run (\(file)); a finished run is never overwritten unasked. Pass --overwrite to replace it, --resume \(path)/checkpoints/last.h5 to continue it, or choose another directory with --out")
        }
    }

    private enum Claim {
        case taken(RunLock)
        case inUse(owner: Int32?)
        case holdsRun(String)
    }

    /// Takes `path` unless a live process owns it or (neither overwriting nor resuming) it holds
    /// a run. A directory refused is left exactly as it was: nothing is created or written in it.
    private static func take(_ path: String, overwrite: Bool, resuming: Bool) throws -> Claim {
        if let owner = RunLock.owner(of: path) { return .inUse(owner: owner) }
        if !overwrite && !resuming, let file = RunDirectory.heldRun(in: path) { return .holdsRun(file) }
        let (lock, owner) = try RunLock.acquire(path)
        guard let lock else { return .inUse(owner: owner) }
        // Another process may have started a run here between the look and the lock.
        if !resuming, let file = RunDirectory.heldRun(in: path) {
            guard overwrite else { return .holdsRun(file) }
            try RunDirectory.clearRun(in: path)
            printError("--overwrite: the run in \(path) is replaced")
        }
        lock.recordOwner()
        return .taken(lock)
    }
}
