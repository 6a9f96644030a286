import ArgumentParser
import DLData
import DLTrain
import Foundation

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
