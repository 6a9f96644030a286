import ArgumentParser
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

            Exit codes: 0 success; 1 a run that failed (diverged, could not write);
            2 bad usage, config or data.
            """,
        version: dltrainVersion,
        subcommands: [Fit.self, SchemaCommand.self]
    )

    /// Runs the command; maps errors to the documented exit codes (ArgumentParser's own
    /// usage errors become 2, not its default 64).
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if let interrupted = error as? Interrupted {
                printError(interrupted.description)
                if let checkpoint = interrupted.checkpoint { printError("continue it with:\n  \(Fit.resumeCommand(checkpoint))") }
                Foundation.exit(interrupted.exitCode)
            }
            if let status = exitStatus(for: error) {
                printError("error: \(error)")
                Foundation.exit(status)
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

    func validate() throws {
        if let folds, folds < 2 { throw ValidationError("--folds needs at least 2 folds, got \(folds)") }
    }

    func run() throws {
        let config = try Config.load(self.config, overrides: overrides, crossValidation: folds != nil)
        if let folds {
            guard resume == nil else { throw ValidationError("--folds and --resume do not go together") }
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
        let trainer = try Trainer(config: config, resume: resumed)
        let directory = try RunDirectory(path: path)
        let checkpoints = try CheckpointWriter(runDirectory: path)
        InterruptSignal.install()
        try trainer.fit(callbacks: [ConsoleLogger(quiet: quiet), directory, checkpoints, CurvesWriter(runDirectory: path)])
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
