import DLNN
import Foundation

/// The predicted class of one row of `width` scores (logits or probabilities): the index of
/// the largest, the first on ties. Every predicted class in dltrain comes from here.
@inline(__always)
func argmax(_ row: UnsafePointer<Float>, width c: Int) -> Int {
    var best = 0
    for k in 1..<Swift.max(c, 1) where row[k] > row[best] { best = k }
    return best
}

/// How many of `n` rows of network outputs predict their target's class, for targets as
/// `loss` takes them: binary cross-entropy's one logit by its sign against a 0/1 target,
/// hinge's class index, and otherwise the argmax of a one-hot row.
func correctPredictions(outputs z: UnsafeMutableBufferPointer<Float>, targets y: UnsafeMutableBufferPointer<Float>, rows n: Int,
                        classes c: Int, loss: Loss) -> Int {
    let z = UnsafePointer(z.baseAddress!), y = UnsafePointer(y.baseAddress!)
    var correct = 0
    for r in 0..<n {
        let predicted: Bool
        switch loss {
        case .binaryCrossEntropy: predicted = (z[r] > 0) == (y[r] > 0.5)
        case .hinge: predicted = argmax(z + r * c, width: c) == Int(y[r])
        default: predicted = argmax(z + r * c, width: c) == argmax(y + r * c, width: c)
        }
        if predicted { correct += 1 }
    }
    return correct
}

/// Classification metrics accumulated over batches of predicted class probabilities.
///
/// The confusion matrix has a row per true class and a column per predicted class
/// (`confusion[true][predicted]`). Precision, recall and F1 follow scikit-learn's
/// definitions (0 where a denominator is 0); the macro average weighs classes equally, the
/// weighted average by their support. ROC AUC (binary tasks) is the Mann–Whitney statistic of
/// the positive class's probability, ties counted half.
public struct ClassificationMetrics {
    public let classes: [String]
    public private(set) var confusion: [[Int]]
    public private(set) var rows = 0
    private var logLoss = 0.0
    private var topKCorrect = 0
    public let topK: Int?
    /// Positive-class scores and labels, kept for ROC AUC (binary only).
    private var scores: [Double] = []
    private var positives: [Bool] = []

    public init(classes: [String], topK: Int? = nil) {
        self.classes = classes
        self.topK = topK
        confusion = Array(repeating: Array(repeating: 0, count: classes.count), count: classes.count)
    }

    /// Adds rows: `probabilities` (rows × C, each row summing to 1) and the true class indices.
    public mutating func add(probabilities p: UnsafePointer<Float>, labels: UnsafePointer<Float>, rows n: Int) {
        let c = classes.count
        for r in 0..<n {
            let truth = Int(labels[r]), row = p + r * c
            confusion[truth][argmax(row, width: c)] += 1
            logLoss -= Foundation.log(Swift.max(Double(row[truth]), 1e-15))
            if let topK {
                // The true class is in the top k when fewer than k classes score strictly higher.
                var higher = 0
                for k in 0..<c where row[k] > row[truth] { higher += 1 }
                if higher < topK { topKCorrect += 1 }
            }
            if c == 2 {
                scores.append(Double(row[1]))
                positives.append(truth == 1)
            }
        }
        rows += n
    }

    public var accuracy: Double { Double((0..<classes.count).reduce(0) { $0 + confusion[$1][$1] }) / Double(Swift.max(rows, 1)) }
    /// Mean negative log-likelihood of the true class (cross-entropy of the predictions).
    public var loss: Double { logLoss / Double(Swift.max(rows, 1)) }
    public var topKAccuracy: Double? { topK.map { _ in Double(topKCorrect) / Double(Swift.max(rows, 1)) } }

    public struct ClassScores {
        public var precision: Double, recall: Double, f1: Double, support: Int
    }

    public var perClass: [ClassScores] {
        (0..<classes.count).map { k in
            let tp = confusion[k][k]
            let predicted = (0..<classes.count).reduce(0) { $0 + confusion[$1][k] }
            let actual = confusion[k].reduce(0, +)
            let precision = predicted > 0 ? Double(tp) / Double(predicted) : 0
            let recall = actual > 0 ? Double(tp) / Double(actual) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return ClassScores(precision: precision, recall: recall, f1: f1, support: actual)
        }
    }

    public var macro: ClassScores {
        let s = perClass, n = Double(Swift.max(s.count, 1))
        return ClassScores(precision: s.map(\.precision).reduce(0, +) / n, recall: s.map(\.recall).reduce(0, +) / n,
                           f1: s.map(\.f1).reduce(0, +) / n, support: rows)
    }

    public var weighted: ClassScores {
        let s = perClass, total = Double(Swift.max(rows, 1))
        func mean(_ key: KeyPath<ClassScores, Double>) -> Double { s.map { $0[keyPath: key] * Double($0.support) }.reduce(0, +) / total }
        return ClassScores(precision: mean(\.precision), recall: mean(\.recall), f1: mean(\.f1), support: rows)
    }

    /// Area under the ROC curve for binary tasks; nil with one class only, or more than two.
    public var rocAUC: Double? { ClassificationMetrics.rocAUC(scores: scores, positives: positives) }

    /// Mann–Whitney: (Σ ranks of positives − P(P+1)/2) / (P·N), ranks averaged over ties.
    public static func rocAUC(scores: [Double], positives: [Bool]) -> Double? {
        let p = positives.filter { $0 }.count, n = positives.count - p
        guard p > 0 && n > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1  // average of ranks i+1 ... j+1
            for k in i...j where positives[order[k]] { rankSum += rank }
            i = j + 1
        }
        return (rankSum - Double(p * (p + 1)) / 2) / Double(p * n)
    }

    public func json() -> JSON {
        var members: [(String, JSON)] = [("n", .number(Double(rows))), ("loss", .number(loss)), ("accuracy", .number(accuracy))]
        if let topK, let value = topKAccuracy { members.append(("top_\(topK)_accuracy", .number(value))) }
        if let auc = rocAUC { members.append(("roc_auc", .number(auc))) }
        func scores(_ s: ClassScores) -> JSON {
            .object([("precision", .number(s.precision)), ("recall", .number(s.recall)), ("f1", .number(s.f1)), ("support", .number(Double(s.support)))])
        }
        members.append(("per_class", .object(zip(classes, perClass).map { ($0, scores($1)) })))
        members.append(("macro_avg", scores(macro)))
        members.append(("weighted_avg", scores(weighted)))
        members.append(("confusion_matrix", .object([
            ("rows", .string("true class")), ("columns", .string("predicted class")),
            ("classes", .array(classes.map(JSON.string))),
            ("counts", .array(confusion.map { .array($0.map { JSON.number(Double($0)) }) })),
        ])))
        return .object(members)
    }

    /// An aligned text report: summary, per-class table, confusion matrix with class names.
    public func table() -> String {
        var lines = [String(format: "rows %d  loss %.4f  accuracy %.4f", rows, loss, accuracy)]
        if let topK, let value = topKAccuracy { lines[0] += String(format: "  top-%d accuracy %.4f", topK, value) }
        if let auc = rocAUC { lines[0] += String(format: "  ROC AUC %.4f", auc) }
        let width = Swift.max(12, (classes.map(\.count).max() ?? 0) + 2)
        func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
            let space = String(repeating: " ", count: Swift.max(0, w - s.count))
            return right ? space + s : s + space
        }
        lines.append("")
        lines.append(pad("class", width) + ["precision", "recall", "f1", "support"].map { pad($0, 10, right: true) }.joined())
        for (name, s) in zip(classes, perClass) {
            lines.append(pad(name, width) + [String(format: "%.4f", s.precision), String(format: "%.4f", s.recall), String(format: "%.4f", s.f1), "\(s.support)"].map { pad($0, 10, right: true) }.joined())
        }
        for (name, s) in [("macro avg", macro), ("weighted avg", weighted)] {
            lines.append(pad(name, width) + [String(format: "%.4f", s.precision), String(format: "%.4f", s.recall), String(format: "%.4f", s.f1), "\(s.support)"].map { pad($0, 10, right: true) }.joined())
        }
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class)")
        let cell = Swift.max(6, (classes.map(\.count).max() ?? 0) + 1, String(confusion.flatMap { $0 }.max() ?? 0).count + 1)
        lines.append(pad("", width) + classes.map { pad($0, cell, right: true) }.joined())
        for (name, row) in zip(classes, confusion) {
            lines.append(pad(name, width) + row.map { pad("\($0)", cell, right: true) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}

/// Regression metrics accumulated over batches, in the target's own units, averaged over
/// target columns (scikit-learn's uniform average): MSE, RMSE = √MSE, MAE, and
/// R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)².
public struct RegressionMetrics {
    public let width: Int
    public private(set) var rows = 0
    private var squared: [Double], absolute: [Double], sum: [Double], sumSquares: [Double]

    public init(width: Int) {
        self.width = width
        squared = Array(repeating: 0, count: width)
        absolute = squared
        sum = squared
        sumSquares = squared
    }

    public mutating func add(predictions: UnsafePointer<Float>, predictionStride: Int, targets: UnsafePointer<Float>, rows n: Int) {
        for r in 0..<n {
            for k in 0..<width { add(prediction: predictions[r * predictionStride + k], truth: targets[r * width + k], column: k) }
        }
        rows += n
    }

    /// One prediction of target column `k`; call ``rowsAdded(_:)`` after each batch's rows.
    @inline(__always)
    mutating func add(prediction: Float, truth: Float, column k: Int) {
        let y = Double(truth), e = Double(prediction) - y
        squared[k] += e * e
        absolute[k] += Swift.abs(e)
        sum[k] += y
        sumSquares[k] += y * y
    }

    mutating func rowsAdded(_ n: Int) { rows += n }

    public var mse: Double { squared.reduce(0, +) / Double(width * Swift.max(rows, 1)) }
    public var rmse: Double { mse.squareRoot() }
    public var mae: Double { absolute.reduce(0, +) / Double(width * Swift.max(rows, 1)) }
    public var r2: Double {
        let n = Double(Swift.max(rows, 1))
        let values = (0..<width).map { k -> Double in
            let total = sumSquares[k] - sum[k] * sum[k] / n
            return total > 0 ? 1 - squared[k] / total : (squared[k] == 0 ? 1 : 0)
        }
        return values.reduce(0, +) / Double(width)
    }

    public func json(loss: Double) -> JSON {
        .object([("n", .number(Double(rows))), ("loss", .number(loss)), ("mse", .number(mse)), ("rmse", .number(rmse)),
                 ("mae", .number(mae)), ("r2", .number(r2))])
    }

    public func table(loss: Double) -> String {
        String(format: "rows %d  loss %.6g  MSE %.6g  RMSE %.6g  MAE %.6g  R² %.4f", rows, loss, mse, rmse, mae, r2)
    }
}
