import Foundation

/// K-fold cross-validation (the lectures' way to choose, say, the number of hidden units):
/// K runs on the same config, run k validated on fold k of the training file (stratified for
/// classes), each in `DIR/fold-k`; `DIR/folds.json` and the console get the validation
/// metric's mean and standard deviation over the folds.
public enum CrossValidation {
    /// `verbose` prints how the first fold's products are shared between the threads (every
    /// fold has the same shapes); `measuringProducts` as ``Trainer/init(config:fold:resume:replicas:measuringProducts:)``.
    public static func run(config: Config, folds: Int, directory: String, quiet: Bool, verbose: Bool = false, measuringProducts: Bool = false) throws {
        let metric = config.task == .regression ? "val_loss" : "val_accuracy"
        var values: [Double] = []
        for k in 0..<folds {
            let trainer = try Trainer(config: config, fold: (k, folds), measuringProducts: measuringProducts)
            if verbose && k == 0 { for line in trainer.productPlanLines { printError(line) } }
            let run = try RunDirectory(path: "\(directory)/fold-\(k + 1)")
            if !quiet { printError("fold \(k + 1) of \(folds): training on \(trainer.data.train.rows) rows, validating on \(trainer.data.validation?.rows ?? 0)") }
            try trainer.fit(callbacks: [ConsoleLogger(quiet: true), run])
            guard let value = trainer.history.last?.metrics[metric] else { throw RunFailure("fold \(k + 1) recorded no \(metric)") }
            values.append(value)
            printError("fold \(k + 1)/\(folds): \(metric) \(String(format: "%.4f", value))")
        }
        let mean = values.reduce(0, +) / Double(folds)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(folds - 1)).squareRoot()
        let summary = JSON.object([
            ("folds", .number(Double(folds))), ("metric", .string(metric)),
            ("mean", .number(mean)), ("std", .number(std)), ("values", .array(values.map(JSON.number))),
        ])
        try summary.rendered().appending("\n").write(toFile: "\(directory)/folds.json", atomically: true, encoding: .utf8)
        printError(String(format: "%d-fold cross-validation: %@ %.4f ± %.4f (standard deviation over folds); %@/folds.json", folds, metric, mean, std, directory))
    }
}
