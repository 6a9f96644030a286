import Foundation
import DLCore
import DLData

/// The metrics of an epoch: the training accuracy counted in the step, and loss, accuracy or
/// MSE and MAE over a held-out loader. The definitions are `Inference/Metrics.swift`'s.
extension Trainer {
    /// Rows of the executor's current batch whose predicted class matches the target's.
    func countCorrect(_ e: Executor<Float>, rows n: Int) -> Int {
        let cutoff = decisions.threshold.map { Float(decisions.temperature * Foundation.log($0 / (1 - $0))) }
        return correctPredictions(outputs: e.buffer(model.outputs), targets: e.buffer(model.target), rows: n,
                                  classes: model.outputUnits, loss: config.model.loss.kind, binaryCutoff: cutoff)
    }

    /// After training: the network's outputs on every validation row (rows × units, in
    /// evaluation mode) and their classes.
    func validationOutputs() throws -> (outputs: [Float], labels: [Int])? {
        guard isClassification, let loader = validationLoader else { return nil }
        loader.startEpoch()
        var outputs: [Float] = [], labels: [Int] = []
        let units = model.outputUnits, kind = config.model.loss.kind
        while true {
            evaluation.rows = evaluation.batchCapacity
            let n = try loader.next(features: evaluation.buffer(model.features).baseAddress!, targets: evaluation.buffer(model.target).baseAddress!)
            if n == 0 { break }
            evaluation.rows = n
            evaluation.forward()
            let z = evaluation.buffer(model.outputs), y = evaluation.buffer(model.target)
            outputs.append(contentsOf: UnsafeBufferPointer(start: z.baseAddress!, count: n * units))
            for r in 0..<n {
                switch kind {
                case .crossEntropy: labels.append(argmax(y.baseAddress! + r * units, width: units))
                default: labels.append(Int(y[r]))
                }
            }
        }
        return (outputs, labels)
    }

    /// training.calibration and training.threshold, fitted on the validation rows once the
    /// final weights are in place; the validation split's metrics before and after are kept
    /// for summary.json and calibration.svg.
    func fitDecisions() throws {
        guard let (outputs, labels) = try validationOutputs(), !labels.isEmpty else {
            if case .fixed(let t)? = config.threshold { decisions = Decisions(threshold: t, thresholdRule: "fixed") }
            return
        }
        let units = model.outputUnits, classes = data.classNames
        func metrics(_ d: Decisions) -> ClassificationMetrics {
            var probabilities = [Float](repeating: 0, count: labels.count * classes.count)
            let truth = labels.map(Float.init)
            outputs.withUnsafeBufferPointer { d.addProbabilities(outputs: $0.baseAddress!, rows: labels.count, units: units, into: &probabilities) }
            var m = ClassificationMetrics(classes: classes, threshold: d.threshold)
            m.add(probabilities: probabilities, labels: truth, rows: labels.count)
            return m
        }
        let before = metrics(Decisions())
        var fitted = Decisions()
        if config.calibratesTemperature {
            fitted.temperature = Decisions.fitTemperature(logits: outputs, labels: labels, width: units)
        }
        switch config.threshold {
        case .fixed(let t)?:
            fitted.threshold = t
            fitted.thresholdRule = "fixed"
        case .chosen(let rule)?:
            let calibrated = metrics(fitted)
            let (scores, positives) = calibrated.oneVersusRest(1)
            fitted.threshold = Decisions.chooseThreshold(scores: scores, positives: positives, rule: rule)
            fitted.thresholdRule = rule
        case nil: break
        }
        decisions = fitted
        let after = metrics(fitted)
        validationCalibration = (before, after)
        if config.calibratesTemperature {
            try notice(String(format: "training.calibration temperature: T = %.4g; validation log loss %.4f → %.4f, ECE %.4f → %.4f",
                              fitted.temperature, before.loss, after.loss, before.ece, after.ece))
        }
        if case .chosen(let rule)? = config.threshold, let t = fitted.threshold {
            let name = rule == "f1" ? "F1 of \"\(classes[1])\"" : "balanced accuracy"
            let value = { (m: ClassificationMetrics) in rule == "f1" ? m.perClass[1].f1 : m.balancedAccuracy }
            try notice(String(format: "training.threshold %@: %.4g, chosen on the validation split; validation %@ %.4f at 0.5 → %.4f", rule, t, name, value(before), value(after)))
        }
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
