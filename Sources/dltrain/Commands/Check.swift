import ArgumentParser
import DLData
import DLTrain
import Foundation

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

    @OptionGroup var config: ConfigOptions

    @Option(help: "Where lr_range.svg goes (default runs/CONFIG-NAME-check).")
    var out: String?

    func run() throws {
        let config = try self.config.load()
        let directory = out ?? config.outputDirectory + "-check"
        let (text, results) = try Checks.run(config, directory: directory)
        print(text)
        if results.contains(where: { $0.verdict == .fail }) { throw ExitCode(1) }
    }
}
