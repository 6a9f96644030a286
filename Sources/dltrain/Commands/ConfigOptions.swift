import ArgumentParser
import DLTrain

/// The config file (or a CSV table with `--target`) and its `--set` overrides, shared by
/// every command that reads a config.
struct ConfigOptions: ParsableArguments {
    @Argument(help: "The JSON config file, or a CSV table (with --target): every setting is then chosen from the data.")
    var file: String

    @Option(help: ArgumentHelp("With a CSV table in place of the config: the column to predict.", valueName: "COLUMN"))
    var target: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key by dotted path, e.g. optimizer.lr=0.01 or model.layers.0.units=64.", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    /// Reads, overrides and validates the config; `crossValidation`: folds supply validation data.
    func load(crossValidation: Bool = false) throws -> Config {
        guard file.lowercased().hasSuffix(".csv") else {
            if target != nil { throw ValidationError("--target goes with a CSV table in place of the config; a config names its target in data.train.target") }
            return try Config.load(file, overrides: overrides, crossValidation: crossValidation)
        }
        guard let target else {
            throw ValidationError("\(file) is a data file: name the column to predict with --target COLUMN (or give a JSON config)")
        }
        return try Config.load(table: file, target: target, overrides: overrides, crossValidation: crossValidation)
    }
}

/// `--threshold`, shared by eval and predict: the binary decision threshold in place of the checkpoint's.
struct ThresholdOption: ParsableArguments {
    @Option(help: ArgumentHelp("Binary tasks: decide a row positive when its probability is at least T, in place of the checkpoint's threshold (default 0.5, or training.threshold's).", valueName: "T"))
    var threshold: Double?
}
