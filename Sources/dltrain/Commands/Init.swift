import ArgumentParser
import DLData
import DLTrain
import Foundation

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a starter config for a CSV table: every column with its inferred type and handling, every default spelled out.",
        discussion: """
            Example:
              dltrain init penguins.csv --target species --out penguins.json
              dltrain fit penguins.json

            The config is what `dltrain fit penguins.csv --target species` would use, written
            out in full so that it can be edited: declare a column "ignore", change a
            category's encoding or min_count, a number's missing-value fill or scale.
            """
    )

    @Argument(help: "The CSV table.")
    var data: String

    @Option(help: ArgumentHelp("The column to predict.", valueName: "COLUMN"))
    var target: String

    @Option(help: ArgumentHelp("Where the config goes (default: the table's name with .json, in this directory); an existing file is kept.", valueName: "CONFIG.json"))
    var out: String?

    func run() throws {
        let path = out ?? URL(fileURLWithPath: data).deletingPathExtension().lastPathComponent + ".json"
        guard !FileManager.default.fileExists(atPath: path) else {
            throw ValidationError("\(path) exists and is kept; choose another with --out, or remove it")
        }
        let (config, notes) = try TableDefaults.starterConfig(table: data, target: target, writtenTo: path)
        for note in notes { printError(note) }
        do {
            try (config.rendered() + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw DataError(file: path, "cannot write the config: \(error.localizedDescription)")
        }
        printError("wrote \(path); train with: dltrain fit \(path)")
    }
}
