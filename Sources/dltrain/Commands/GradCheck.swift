import ArgumentParser
import DLData
import DLTrain
import Foundation

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

    @OptionGroup var config: ConfigOptions

    @Option(help: "Rows of data to check on.")
    var rows = 8

    @Flag(help: "Check every entry of every parameter (by default at most 2,000 per parameter, chosen at random).")
    var all = false

    func run() throws {
        let config = try self.config.load()
        let (text, passed) = try Diagnostics.gradcheck(config, rows: rows, maxScalars: all ? nil : 2000)
        print(text)
        if !passed { throw ExitCode(1) }
    }
}
