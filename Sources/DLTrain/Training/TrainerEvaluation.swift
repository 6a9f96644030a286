import DLCore
import DLData

/// The metrics of an epoch: the training accuracy counted in the step, and loss, accuracy or
/// MSE and MAE over a held-out loader. The definitions are `Inference/Metrics.swift`'s.
extension Trainer {
    /// Rows of the executor's current batch whose predicted class matches the target's.
    func countCorrect(_ e: Executor<Float>, rows n: Int) -> Int {
        correctPredictions(outputs: e.buffer(model.outputs), targets: e.buffer(model.target), rows: n,
                           classes: model.outputUnits, loss: config.model.loss.kind)
    }

    /// Loss and accuracy (classification) or loss, MSE and MAE in the target's own units
    /// (regression) over every row of `loader`, in evaluation mode.
    public func evaluate(_ loader: BatchLoader) throws -> [String: Double] {
        loader.startEpoch()
        var lossSum = 0.0, rows = 0, correct = 0
        var regression = RegressionMetrics(width: data.train.targetWidth)
        let features = model.features, target = model.target
        let perTarget = config.model.loss.kind.outputsPerTarget
        let shift = data.preprocessor.targetShift, scale = data.preprocessor.targetScale
        while true {
            evaluation.rows = evaluation.batchCapacity
            let n = try loader.next(features: evaluation.buffer(features).baseAddress!, targets: evaluation.buffer(target).baseAddress!)
            if n == 0 { break }
            evaluation.rows = n
            evaluation.forward()
            lossSum += Double(evaluation.scalar(model.dataLoss)) * Double(n)
            rows += n
            if isClassification {
                correct += countCorrect(evaluation, rows: n)
                continue
            }
            let z = evaluation.buffer(model.outputs), y = evaluation.buffer(target), width = regression.width
            // Predictions are the means (every other output for gaussian_nll), in the user's units.
            for r in 0..<n {
                for k in 0..<width {
                    var prediction = z[(r * width + k) * perTarget], truth = y[r * width + k]
                    if let shift, let scale {
                        prediction = prediction / scale[k] + shift[k]
                        truth = truth / scale[k] + shift[k]
                    }
                    regression.add(prediction: prediction, truth: truth, column: k)
                }
            }
            regression.rowsAdded(n)
        }
        var metrics = ["loss": lossSum / Double(rows)]
        if isClassification {
            metrics["accuracy"] = Double(correct) / Double(rows)
        } else {
            metrics["mse"] = regression.mse
            metrics["mae"] = regression.mae
        }
        return metrics
    }
}
