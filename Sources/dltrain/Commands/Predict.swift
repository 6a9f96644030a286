import ArgumentParser
import DLData
import DLTrain
import Foundation

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write predictions for every row of a data file.",
        discussion: """
            Example:
              dltrain predict runs/digits/checkpoints/best.h5 --data new.csv --out predictions.csv

            Classification: a column `predicted` (the class by its name: the most probable,
            or for a binary task the positive class when its probability reaches the
            checkpoint's threshold or --threshold) and one `probability_CLASS` column per
            class (temperature-scaled when the run calibrated). Regression: one column per target, in the
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

    @OptionGroup var decision: ThresholdOption

    func run() throws {
        let (rows, notes) = try Evaluation.predict(checkpoints: checkpoints, path: data, output: out, threshold: decision.threshold)
        for note in notes { printError(note) }
        printError("wrote \(rows) predictions to \(out)")
    }
}
