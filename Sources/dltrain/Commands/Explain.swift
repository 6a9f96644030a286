import ArgumentParser
import DLTrain
import Foundation

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rank the raw input columns by permutation importance: how much the metric drops when a column is shuffled.",
        discussion: """
            Example:
              dltrain explain runs/penguins/checkpoints/best.h5 --data penguins.csv
              dltrain explain best.h5 --data test.csv --metric roc_auc --repeats 10 --json

            Each column's cells are shuffled across the rows (within chunks of 50,000 rows)
            and the data re-predicted; the importance is the metric on the data as given
            minus the metric shuffled (for a loss, the other way round), as mean and standard
            deviation over the repeats. A table's category, date, or number with its missing
            indicator moves as one column. The data must hold the target. The passes use both
            cores; the result depends only on --seed.
            Metrics: accuracy (default), balanced_accuracy, f1_macro, mcc, roc_auc, pr_auc,
            log_loss, brier for classifiers; r2 (default), mse, rmse, mae for regression.
            """
    )

    @Argument(help: "One or more checkpoints (.h5); several are an ensemble.")
    var checkpoints: [String]

    @Option(help: "Labelled data: CSV or HDF5 with the target column.")
    var data: String

    @Option(help: "Shuffles of each column.")
    var repeats = 5

    @Option(help: ArgumentHelp("The metric whose drop is measured.", valueName: "METRIC"))
    var metric: String?

    @Option(help: "Seed of the shuffles.")
    var seed: UInt64 = 0

    @OptionGroup var decision: ThresholdOption

    @Option(help: ArgumentHelp("Where to draw the ranked bars with their spread.", valueName: "SVG"))
    var plot = "importance.svg"

    @Flag(help: "Print one JSON object on stdout instead of the table.")
    var json = false

    func run() throws {
        let result = try Explanation.explain(checkpoints: checkpoints, path: data, repeats: repeats, metric: metric, seed: seed, threshold: decision.threshold)
        try Explanation.writePlot(result, to: plot)
        print(json ? Explanation.json(result).rendered(indent: nil) : Explanation.table(result))
        printError("wrote \(plot)")
    }
}
