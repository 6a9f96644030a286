import ArgumentParser
import DLData
import DLTrain
import Foundation

@main
struct Dltrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dltrain",
        abstract: "Train neural networks from a declarative JSON config.",
        discussion: """
            Example:
              dltrain fit configs/xor.json
              dltrain fit configs/xor.json --set optimizer.lr=0.01 --out runs/xor-fast
              dltrain eval runs/digits/checkpoints/best.h5 --data data/digits.csv --split test
              dltrain predict runs/digits/checkpoints/best.h5 --data new.csv --out predictions.csv

            Exit codes: 0 success; 1 a run that failed (diverged, could not write);
            2 bad usage, config or data.
            """,
        version: dltrainVersion,
        subcommands: [Fit.self, Eval.self, Predict.self, Inspect.self, Export.self, SweepCommand.self, GradCheck.self, Check.self, SchemaCommand.self]
    )

    /// Runs the command; maps errors to the documented exit codes (ArgumentParser's own
    /// usage errors become 2, not its default 64).
    static func main() {
        HDF5Isolation.runTrialIfAsked()
        Checkpoint.runTrialIfAsked()
        HDF5Isolation.executable = "/proc/self/exe"
        Checkpoint.isolatedTrial = { try Checkpoint.spawnTrial(of: $0, executable: "/proc/self/exe") }
        // Only commands that compute pay for the re-exec; --version and --help stay instant.
        if let command = CommandLine.arguments.dropFirst().first, ["fit", "eval", "predict", "gradcheck", "check", "sweep"].contains(command),
           !CommandLine.arguments.contains("--help") && !CommandLine.arguments.contains("-h") {
            BLASEnvironment.prepare()
        }
        FaultInjection.install()
        ParentWatch.start()
        // A file-size limit (ulimit -f) must fail the write that crosses it (EFBIG, reported
        // with the file's name) instead of killing the process mid-checkpoint.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if let interrupted = error as? Interrupted {
                printError(interrupted.description)
                if let checkpoint = interrupted.checkpoint {
                    printError("continue it with:\n  " + (checkpoint.hasSuffix("journal.jsonl")
                        ? (["dltrain"] + CommandLine.arguments.dropFirst().filter { $0 != "--resume" } + ["--resume"]).joined(separator: " ")
                        : Fit.resumeCommand(checkpoint)))
                }
                Foundation.exit(interrupted.exitCode)
            }
            if let status = exitStatus(for: error) {
                printError("error: \(error)")
                // Without the exit handlers: libhdf5's own, run after a write that failed
                // (a full disk), can crash while it tidies up a file already closed.
                fflush(nil)
                _exit(status)
            }
            let code = exitCode(for: error)
            if code == .success || error is CleanExit { exit(withError: error) }
            printError(fullMessage(for: error))
            Foundation.exit(code == .validationFailure ? 2 : code.rawValue)
        }
    }
}

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model from a config file.",
        discussion: """
            Example:
              dltrain fit configs/xor.json --set training.epochs=500
              dltrain fit configs/digits.json --folds 5
              dltrain fit configs/digits.json --resume runs/digits/checkpoints/last.h5

            Writes config.json, metrics.csv, curves.svg, summary.json and
            checkpoints/last.h5 and best.h5 into the run directory (output.dir, or --out,
            or runs/CONFIG-NAME). Ctrl-C finishes the current step, saves last.h5 and prints
            the command that resumes the run exactly.
            """
    )

    @Argument(help: "The JSON config file.")
    var config: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key by dotted path, e.g. optimizer.lr=0.01 or model.layers.0.units=64.", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    @Option(help: "Run directory (overrides output.dir; with --resume, default the checkpoint's run).")
    var out: String?

    @Option(help: ArgumentHelp("Continue the run saved in this checkpoint (checkpoints/last.h5 of a run), exactly where it stopped. The config must be the run's; only training.epochs may grow.", valueName: "CKPT"))
    var resume: String?

    @Flag(help: "Print only the final summary.")
    var quiet = false

    @Option(help: ArgumentHelp("K-fold cross-validation: train K models, each validated on one fold of the training data, and report the metric's mean and spread.", valueName: "K"))
    var folds: Int?

    @Option(help: ArgumentHelp("mpi: data-parallel over the ranks of an MPI job (automatic when mpirun starts several ranks).", valueName: "mpi"))
    var distributed: Distribution?

    func validate() throws {
        if let folds, folds < 2 { throw ValidationError("--folds needs at least 2 folds, got \(folds)") }
    }

    func run() throws {
        let config = try Config.load(self.config, overrides: overrides, crossValidation: folds != nil)
        if let folds {
            guard resume == nil else { throw ValidationError("--folds and --resume do not go together") }
            guard distributed == nil && !MPI.launchedAsRank else { throw ValidationError("--folds runs in one process; start it without mpirun") }
            try CrossValidation.run(config: config, folds: folds, directory: out ?? config.outputDirectory, quiet: quiet)
            return
        }
        var resumed: (checkpoint: Checkpoint, path: String)? = nil
        var path = out ?? config.outputDirectory
        if let resume {
            let checkpoint = try Checkpoint.read(resume)
            try config.checkResumable(from: checkpoint, path: resume)
            resumed = (checkpoint, resume)
            // A checkpoint at RUN/checkpoints/last.h5 continues in RUN unless --out says otherwise.
            let folder = URL(fileURLWithPath: resume).deletingLastPathComponent()
            if out == nil && folder.lastPathComponent == "checkpoints" { path = folder.deletingLastPathComponent().path }
        }
        let replicas = distributed == .mpi || MPI.launchedAsRank ? try MPI() : nil
        defer { replicas?.finish() }
        let trainer = try Trainer(config: config, resume: resumed, replicas: replicas)
        if let replicas, replicas.rank != 0 {
            // Every rank trains alike; rank 0 alone writes and reports.
            InterruptSignal.install()
            try trainer.fit()
            return
        }
        let directory = try RunDirectory(path: path)
        let checkpoints = try CheckpointWriter(runDirectory: path)
        InterruptSignal.install()
        // Checkpoints first: the summary and the console report what they wrote.
        try trainer.fit(callbacks: [checkpoints, directory, CurvesWriter(runDirectory: path), DiagnosticsWriter(runDirectory: path), ConsoleLogger(quiet: quiet)])
        printError("run directory: \(directory.path)")
    }

    /// This invocation with `--resume CHECKPOINT` in place of any earlier `--resume`.
    static func resumeCommand(_ checkpoint: String) -> String {
        var words: [String] = []
        var skip = false
        for word in CommandLine.arguments.dropFirst() {
            if skip { skip = false; continue }
            if word == "--resume" { skip = true; continue }
            if word.hasPrefix("--resume=") { continue }
            words.append(word.contains(" ") ? "'\(word)'" : word)
        }
        return (["dltrain"] + words + ["--resume", checkpoint]).joined(separator: " ")
    }
}

struct SchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (draft 2020-12) of the config file.",
        discussion: "Example:\n  dltrain schema > dltrain.schema.json"
    )

    func run() throws {
        print(configJSONSchema().rendered())
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate checkpoints on labelled data: loss, accuracy, per-class scores and the confusion matrix, or MSE, RMSE, MAE and R².",
        discussion: """
            Example:
              dltrain eval runs/digits/checkpoints/best.h5 --data data/digits.csv --split test
              dltrain eval a/best.h5 b/best.h5 c/best.h5 --data test.csv --json --top-k 3

            Several checkpoints are an ensemble: their predicted probabilities (or values) are
            averaged. The data is read as the training data was (target column, CSV dialect)
            and preprocessed with each checkpoint's stored preprocessing. --split recomputes the
            training file's train, validation or test split exactly as fit made it.
            The confusion matrix has a row per true class and a column per predicted class.
            """
    )

    @Argument(help: "One or more checkpoints (.h5).")
    var checkpoints: [String]

    @Option(help: "The labelled data: CSV or HDF5.")
    var data: String

    @Option(help: ArgumentHelp("Evaluate only this split of the checkpoint's training file: train, validation or test.", valueName: "SPLIT"))
    var split: String?

    @Option(name: .customLong("top-k"), help: "Also report top-k accuracy.")
    var topK: Int?

    @Flag(help: "Print one JSON object on stdout instead of the table.")
    var json = false

    func validate() throws {
        if let split, !["train", "validation", "test"].contains(split) { throw ValidationError("--split takes train, validation or test, not \"\(split)\"") }
    }

    func run() throws {
        let result = try Evaluation.evaluate(checkpoints: checkpoints, path: data, split: split, topK: topK)
        print(json ? result.json.rendered(indent: nil) : result.text)
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write predictions for every row of a data file.",
        discussion: """
            Example:
              dltrain predict runs/digits/checkpoints/best.h5 --data new.csv --out predictions.csv

            Classification: a column `predicted` (the class by its name) and one
            `probability_CLASS` column per class. Regression: one column per target, in the
            target's units (and TARGET_std for gaussian_nll models). A target column in the
            input is allowed and ignored. Large inputs are read in chunks: memory stays bounded.
            Several checkpoints average their predictions (an ensemble).
            """
    )

    @Argument(help: "One or more checkpoints (.h5).")
    var checkpoints: [String]

    @Option(help: "The rows to predict: CSV or HDF5.")
    var data: String

    @Option(help: "Where to write the predictions (CSV).")
    var out: String

    func run() throws {
        let rows = try Evaluation.predict(checkpoints: checkpoints, path: data, output: out)
        printError("wrote \(rows) predictions to \(out)")
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a checkpoint: the model, how it was trained, its preprocessing.",
        discussion: "Example:\n  dltrain inspect runs/digits/checkpoints/best.h5"
    )

    @Argument(help: "A checkpoint (.h5).")
    var checkpoint: String

    func run() throws {
        print(try Inspection.describe(checkpoint))
    }
}

extension ModelExport.Format: ExpressibleByArgument {}

enum Distribution: String, ExpressibleByArgument { case mpi }

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export a checkpoint: the whole inference path as ONNX, or the weights as safetensors.",
        discussion: """
            Example:
              dltrain export runs/digits/checkpoints/best.h5 --format onnx --out digits.onnx
              dltrain export runs/digits/checkpoints/best.h5 --format safetensors --out digits.safetensors

            ONNX (opset 17): input "features" (N, raw feature columns); the stored
            preprocessing, every layer (batch norm folded into the weights) and the output:
            "probabilities" (N, classes) for classification, "predictions" (N, targets) in the
            target's units for regression (and "std" for gaussian_nll). It reproduces
            `dltrain predict` for the same checkpoint. safetensors: every parameter by its
            checkpoint name (dense_0/kernel (in, out), ...) and the preprocessing statistics.
            """
    )

    @Argument(help: "A checkpoint (.h5).")
    var checkpoint: String

    @Option(help: "onnx or safetensors.")
    var format: ModelExport.Format = .onnx

    @Option(help: "The file to write.")
    var out: String

    func run() throws {
        printError(try ModelExport.export(checkpoint: checkpoint, format: format, to: out))
    }
}

struct GradCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradcheck",
        abstract: "Check the configured model's gradients against central finite differences.",
        discussion: """
            Example:
              dltrain gradcheck configs/digits.json

            Builds the model (every layer, the loss, the penalties) in float64 on a few rows of
            the configured data (random rows when the data cannot be read), and compares the
            autodiff gradient of every parameter with central differences (h = 1e-6). A
            parameter passes when |a - n| / max(|a|, |n|, 1e-3·max(1, |loss|)) < 1e-6.
            Batch norm uses training-mode statistics and dropout one fixed mask. Exit code 0
            only when every parameter passes, 1 otherwise.
            """
    )

    @Argument(help: "The JSON config file.")
    var config: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key by dotted path.", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    @Option(help: "Rows of data to check on.")
    var rows = 8

    @Flag(help: "Check every entry of every parameter (by default at most 2,000 per parameter, chosen at random).")
    var all = false

    func run() throws {
        let config = try Config.load(self.config, overrides: overrides)
        let (text, passed) = try Diagnostics.gradcheck(config, rows: rows, maxScalars: all ? nil : 2000)
        print(text)
        if !passed { throw ExitCode(1) }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The babysitting checks: initial loss, regularisation, overfitting a small sample, learning-rate range test, activations, sharpness.",
        discussion: """
            Example:
              dltrain check configs/digits.json

            (1) the initial loss against what guessing gives (ln C for C classes); (2) the
            loss rises when regularisation is on; (3) 20 rows are learnt to 100% training
            accuracy within 500 steps (hints when not: learning rate too low or too high);
            (4) a learning-rate range test from 1e-7 to 10, drawn to lr_range.svg, with a
            suggested rate; (5) activation statistics per layer at initialisation; (6) the
            top Hessian eigenvalue beside 2/lr. Exit code 0 when nothing fails, 1 otherwise.
            """
    )

    @Argument(help: "The JSON config file.")
    var config: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key by dotted path.", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    @Option(help: "Where lr_range.svg goes (default runs/CONFIG-NAME-check).")
    var out: String?

    func run() throws {
        let config = try Config.load(self.config, overrides: overrides)
        let directory = out ?? config.outputDirectory + "-check"
        let (text, results) = try Checks.run(config, directory: directory)
        print(text)
        if results.contains(where: { $0.verdict == .fail }) { throw ExitCode(1) }
    }
}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Search hyperparameters: grid, random or successive-halving trials, each a fit run.",
        discussion: """
            Example:
              dltrain sweep configs/digits-sweep.json --parallel 2
              dltrain sweep configs/digits-sweep.json --resume

            Each trial is the base config with the trial's parameters and a seed derived from
            the sweep seed and those parameters, saved as trial-K/trial.json (dltrain fit on it
            reproduces the trial) and run by dltrain fit in trial-K/. The sweep directory gets
            journal.jsonl (every start and end, flushed), leaderboard.csv (best first),
            best.json (the best trial's complete config) and sweep.svg (the metric against each
            numeric parameter). --resume skips finished trials and reruns interrupted ones.
            A trial that fails or diverges is recorded with its error; the sweep goes on.
            """
    )

    @Argument(help: "The JSON sweep file.")
    var sweep: String

    @Option(help: "Trials at a time (overrides the file's \"parallel\"); the cores are divided between them.")
    var parallel: Int?

    @Flag(help: "Continue the sweep in the sweep directory: finished trials are kept, the rest run.")
    var resume = false

    func validate() throws {
        if let parallel, parallel < 1 { throw ValidationError("--parallel needs at least 1, got \(parallel)") }
    }

    func run() throws {
        let spec = try SweepSpec.load(sweep, parallel: parallel)
        let binary = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let replicas = MPI.launchedAsRank ? try MPI() : nil
        defer { replicas?.finish() }
        let runner = try Sweep(spec: spec, resume: resume, binary: binary, replicas: replicas)
        InterruptSignal.install()
        try runner.run()
        guard runner.reports else { return }
        if let best = runner.leader(), let outcome = runner.outcomes[best.id], let metric = outcome.metric {
            printError(String(format: "best: trial %d, %@ %.4f; %@/leaderboard.csv, %@/best.json", best.id, spec.metric, metric, spec.out, spec.out))
        } else {
            printError("no trial finished; see \(spec.out)/leaderboard.csv and the trials' fit.log")
        }
    }
}
