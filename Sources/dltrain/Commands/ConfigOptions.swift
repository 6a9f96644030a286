import ArgumentParser
import DLTrain

/// The config file and its `--set` overrides, shared by every command that reads a config.
struct ConfigOptions: ParsableArguments {
    @Argument(help: "The JSON config file.")
    var file: String

    @Option(name: .customLong("set"), help: ArgumentHelp("Override a config key by dotted path, e.g. optimizer.lr=0.01 or model.layers.0.units=64.", valueName: "KEY=VALUE"))
    var overrides: [String] = []

    /// Reads, overrides and validates the config; `crossValidation`: folds supply validation data.
    func load(crossValidation: Bool = false) throws -> Config {
        try Config.load(file, overrides: overrides, crossValidation: crossValidation)
    }
}
