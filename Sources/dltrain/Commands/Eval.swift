import ArgumentParser
import DLData
import DLTrain
import Foundation

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
            Classification also reports balanced accuracy, macro F1, MCC, ROC AUC (binary, or
            one-vs-rest macro), PR AUC (binary: average precision), log loss, Brier score and
            ECE (15 bins), as scikit-learn defines them, and the threshold in use.
            --plots DIR writes roc.svg, pr.svg, calibration.svg and confusion.svg.
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

    @OptionGroup var decision: ThresholdOption

    @Option(help: ArgumentHelp("Write roc.svg, pr.svg, calibration.svg and confusion.svg into this directory.", valueName: "DIR"))
    var plots: String?

    @Flag(help: "Print one JSON object on stdout instead of the table.")
    var json = false

    func validate() throws {
        if let split, !["train", "validation", "test"].contains(split) { throw ValidationError("--split takes train, validation or test, not \"\(split)\"") }
    }

    func run() throws {
        let result = try Evaluation.evaluate(checkpoints: checkpoints, path: data, split: split, topK: topK, threshold: decision.threshold, plots: plots)
        print(json ? result.json.rendered(indent: nil) : result.text)
    }
}
