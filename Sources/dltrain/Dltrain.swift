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

            Writes config.json, metrics.csv and summary.json into the run directory
            (output.dir, or --out, or runs/CONFIG-NAME).
            """
    )

    @Argument(help: "The JSON config file.")
    var config: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key by dotted path, e.g. optimizer.lr=0.01 or model.layers.0.units=64.", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    @Option(help: "Run directory (overrides output.dir).")
    var out: String?

    @Flag(help: "Print only the final summary.")
    var quiet = false

    @Option(help: ArgumentHelp("K-fold cross-validation: train K models, each validated on one fold of the training data, and report the metric's mean and spread.", valueName: "K"))
    var folds: Int?

    func validate() throws {
        if let folds, folds < 2 { throw ValidationError("--folds needs at least 2 folds, got \(folds)") }
    }

    func run() throws {
        let config = try Config.load(self.config, overrides: overrides)
        let path = out ?? config.outputDirectory
        if let folds {
            try CrossValidation.run(config: config, folds: folds, directory: path, quiet: quiet)
            return
        }
        let trainer = try Trainer(config: config)
        let directory = try RunDirectory(path: path)
        try trainer.fit(callbacks: [ConsoleLogger(quiet: quiet), directory])
        printError("run directory: \(directory.path)")
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
