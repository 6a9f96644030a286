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
/// `loss` takes them: binary cross-entropy's one logit by its sign against a 0/1 target (or
/// at least `binaryCutoff`: a threshold t at temperature T is the logit T·ln(t / (1 − t))),
/// hinge's class index, and otherwise the argmax of a one-hot row.
func correctPredictions(outputs z: UnsafeMutableBufferPointer<Float>, targets y: UnsafeMutableBufferPointer<Float>, rows n: Int,
                        classes c: Int, loss: Loss, binaryCutoff: Float? = nil) -> Int {
    let z = UnsafePointer(z.baseAddress!), y = UnsafePointer(y.baseAddress!)
    var correct = 0
    for r in 0..<n {
        let predicted: Bool
        switch loss {
        case .binaryCrossEntropy: predicted = (binaryCutoff.map { z[r] >= $0 } ?? (z[r] > 0)) == (y[r] > 0.5)
        case .hinge: predicted = argmax(z + r * c, width: c) == Int(y[r])
        default: predicted = argmax(z + r * c, width: c) == argmax(y + r * c, width: c)
        }
        if predicted { correct += 1 }
    }
    return correct
}

/// The decided class of one row of C class probabilities: for a binary task with a
/// decision threshold t, the positive class (1) when p₁ ≥ t; otherwise the argmax. Every
/// decided class at eval, predict and explain comes from here.
@inline(__always)
func decidedClass(_ row: UnsafePointer<Float>, width c: Int, threshold: Double?) -> Int {
    // In float32, as the ONNX graph compares.
    if let threshold, c == 2 { return row[1] >= Float(threshold) ? 1 : 0 }
    return argmax(row, width: c)
}

/// `s` with spaces after it (or before it, `right`) to `width` characters: the columns of the
/// console tables (eval's, explain's).
func padded(_ s: String, _ width: Int, right: Bool = false) -> String {
    let space = String(repeating: " ", count: Swift.max(0, width - s.count))
    return right ? space + s : s + space
}

/// Classification metrics accumulated over batches of predicted class probabilities, with
/// scikit-learn's definitions (a test computes each with scikit-learn and asks for 1e-6):
///
///     confusion[true][decided]        the decided class: ``decidedClass(_:width:threshold:)``
///     precision, recall, F1           per class, 0 where a denominator is 0; macro: the mean
///                                     over the classes that occur (as truth or as decision);
///                                     weighted: by support
///     balanced accuracy               the mean recall over the classes that occur as truth
///     MCC                             (c·s − Σ t_k p_k) / √((s² − Σ p_k²)(s² − Σ t_k²)), 0 when undefined
///     ROC AUC                         Mann–Whitney, ties half; several classes: one-vs-rest, macro
///     average precision (binary)      Σ (R_n − R_{n−1}) P_n over the distinct scores, descending
///     log loss                        mean −log max(p_true, 2⁻⁵²)
///     Brier                           binary: mean (p₁ − y)²; several classes: mean Σ_k (p_k − y_k)²
///     ECE (Guo et al. 2017)           15 equal-width bins ((k−1)/15, k/15] of the top probability:
///                                     Σ_b (n_b / n) |accuracy_b − confidence_b| of the argmax
public struct ClassificationMetrics {
    public let classes: [String]
    public private(set) var confusion: [[Int]]
    public private(set) var rows = 0
    /// The binary decision threshold in use (nil: the argmax, that is 0.5).
    public let threshold: Double?
    private var logLoss = 0.0
    private var brierSum = 0.0
    private var topKCorrect = 0
    public let topK: Int?
    /// Every row's probabilities and true class, for the ranking metrics and the plots.
    public private(set) var probabilities: [Float] = []
    public private(set) var labels: [Int32] = []
    private let keepsProbabilities: Bool
    public static let calibrationBins = 15
    /// Per bin of the top probability: rows, Σ confidence, rows whose argmax is right.
    public private(set) var binRows = [Int](repeating: 0, count: calibrationBins)
    public private(set) var binConfidence = [Double](repeating: 0, count: calibrationBins)
    public private(set) var binCorrect = [Int](repeating: 0, count: calibrationBins)

    /// `keepingProbabilities` false keeps only counts and sums (no ranking metrics), for many accumulators at once.
    public init(classes: [String], topK: Int? = nil, threshold: Double? = nil, keepingProbabilities: Bool = true) {
        self.classes = classes
        self.topK = topK
        self.threshold = classes.count == 2 ? threshold : nil
        keepsProbabilities = keepingProbabilities
        confusion = Array(repeating: Array(repeating: 0, count: classes.count), count: classes.count)
    }

    /// Adds rows: `probabilities` (rows × C, each row summing to 1) and the true class indices.
    public mutating func add(probabilities p: UnsafePointer<Float>, labels y: UnsafePointer<Float>, rows n: Int) {
        let c = classes.count
        for r in 0..<n {
            let truth = Int(y[r]), row = p + r * c
            confusion[truth][decidedClass(row, width: c, threshold: threshold)] += 1
            logLoss -= Foundation.log(Swift.max(Double(row[truth]), Double.ulpOfOne))
            if c == 2 {
                let e = Double(row[1]) - (truth == 1 ? 1 : 0)
                brierSum += e * e
            } else {
                for k in 0..<c { let e = Double(row[k]) - (k == truth ? 1 : 0); brierSum += e * e }
            }
            let top = argmax(row, width: c), confidence = Double(row[top])
            let bin = Swift.min(Swift.max(Int((confidence * Double(Self.calibrationBins)).rounded(.up)) - 1, 0), Self.calibrationBins - 1)
            binRows[bin] += 1
            binConfidence[bin] += confidence
            if top == truth { binCorrect[bin] += 1 }
            if let topK {
                // The true class is in the top k when fewer than k classes score strictly higher.
                var higher = 0
                for k in 0..<c where row[k] > row[truth] { higher += 1 }
                if higher < topK { topKCorrect += 1 }
            }
        }
        if keepsProbabilities {
            probabilities.append(contentsOf: UnsafeBufferPointer(start: p, count: n * c))
            for r in 0..<n { labels.append(Int32(y[r])) }
        }
        rows += n
    }

    public var accuracy: Double { Double((0..<classes.count).reduce(0) { $0 + confusion[$1][$1] }) / Double(Swift.max(rows, 1)) }
    /// Mean negative log-likelihood of the true class (cross-entropy of the predictions).
    public var loss: Double { logLoss / Double(Swift.max(rows, 1)) }
    public var brier: Double { brierSum / Double(Swift.max(rows, 1)) }
    public var topKAccuracy: Double? { topK.map { _ in Double(topKCorrect) / Double(Swift.max(rows, 1)) } }

    public var ece: Double {
        var total = 0.0
        for b in 0..<Self.calibrationBins where binRows[b] > 0 {
            total += Swift.abs(Double(binCorrect[b]) - binConfidence[b]) / Double(Swift.max(rows, 1))
        }
        return total
    }

    public struct ClassScores {
        public var precision: Double, recall: Double, f1: Double, support: Int
    }

    private func decided(_ k: Int) -> Int { (0..<classes.count).reduce(0) { $0 + confusion[$1][k] } }

    public var perClass: [ClassScores] {
        (0..<classes.count).map { k in
            let tp = confusion[k][k], predicted = decided(k), actual = confusion[k].reduce(0, +)
            let precision = predicted > 0 ? Double(tp) / Double(predicted) : 0
            let recall = actual > 0 ? Double(tp) / Double(actual) : 0
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            return ClassScores(precision: precision, recall: recall, f1: f1, support: actual)
        }
    }

    /// The mean over the classes that occur as truth or as decision (scikit-learn's labels).
    public var macro: ClassScores {
        let s = perClass, present = (0..<classes.count).filter { s[$0].support > 0 || decided($0) > 0 }
        let n = Double(Swift.max(present.count, 1))
        func mean(_ key: KeyPath<ClassScores, Double>) -> Double { present.map { s[$0][keyPath: key] }.reduce(0, +) / n }
        return ClassScores(precision: mean(\.precision), recall: mean(\.recall), f1: mean(\.f1), support: rows)
    }

    public var weighted: ClassScores {
        let s = perClass, total = Double(Swift.max(rows, 1))
        func mean(_ key: KeyPath<ClassScores, Double>) -> Double { s.map { $0[keyPath: key] * Double($0.support) }.reduce(0, +) / total }
        return ClassScores(precision: mean(\.precision), recall: mean(\.recall), f1: mean(\.f1), support: rows)
    }

    public var balancedAccuracy: Double {
        let recalls = perClass.filter { $0.support > 0 }.map(\.recall)
        return recalls.reduce(0, +) / Double(Swift.max(recalls.count, 1))
    }

    public var mcc: Double {
        let c = classes.count
        let t = (0..<c).map { Double(confusion[$0].reduce(0, +)) }, p = (0..<c).map { Double(decided($0)) }
        let correct = Double((0..<c).reduce(0) { $0 + confusion[$1][$1] }), s = Double(rows)
        let covariance = correct * s - zip(t, p).reduce(0) { $0 + $1.0 * $1.1 }
        let predictedVariance = s * s - p.reduce(0) { $0 + $1 * $1 }, trueVariance = s * s - t.reduce(0) { $0 + $1 * $1 }
        return predictedVariance * trueVariance > 0 ? covariance / (predictedVariance * trueVariance).squareRoot() : 0
    }

    /// Class `k`'s probability of every row, and whether the row is of class `k`.
    public func oneVersusRest(_ k: Int) -> (scores: [Double], positives: [Bool]) {
        let c = classes.count
        return ((0..<labels.count).map { Double(probabilities[$0 * c + k]) }, labels.map { Int($0) == k })
    }

    /// Area under the ROC curve: the positive class's for binary tasks, the one-vs-rest macro
    /// average for several; nil when a class has no rows or every row is of one class.
    public var rocAUC: Double? {
        guard keepsProbabilities else { return nil }
        if classes.count == 2 { let (s, y) = oneVersusRest(1); return ClassificationMetrics.rocAUC(scores: s, positives: y) }
        let areas = (0..<classes.count).map { k in let (s, y) = oneVersusRest(k); return ClassificationMetrics.rocAUC(scores: s, positives: y) }
        guard !areas.contains(where: { $0 == nil }) else { return nil }
        return areas.map { $0! }.reduce(0, +) / Double(areas.count)
    }

    /// Average precision of the positive class (binary tasks).
    public var averagePrecision: Double? {
        guard keepsProbabilities, classes.count == 2 else { return nil }
        let (s, y) = oneVersusRest(1)
        let curve = ClassificationMetrics.rankingCurve(scores: s, positives: y)
        guard let last = curve.last, last.truePositives > 0 else { return nil }
        var area = 0.0, previousRecall = 0.0
        for point in curve {
            let recall = Double(point.truePositives) / Double(last.truePositives)
            area += (recall - previousRecall) * Double(point.truePositives) / Double(point.truePositives + point.falsePositives)
            previousRecall = recall
        }
        return area
    }

    /// At each distinct score, descending: the rows scored at least that high that are
    /// positive and negative (the points of the ROC and precision-recall curves).
    public static func rankingCurve(scores: [Double], positives: [Bool]) -> [(threshold: Double, truePositives: Int, falsePositives: Int)] {
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var curve: [(threshold: Double, truePositives: Int, falsePositives: Int)] = []
        var tp = 0, fp = 0, i = 0
        while i < order.count {
            let score = scores[order[i]]
            while i < order.count && scores[order[i]] == score {
                if positives[order[i]] { tp += 1 } else { fp += 1 }
                i += 1
            }
            curve.append((score, tp, fp))
        }
        return curve
    }

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
        members += [("balanced_accuracy", .number(balancedAccuracy)), ("f1_macro", .number(macro.f1)), ("mcc", .number(mcc))]
        members.append(("roc_auc", rocAUC.map(JSON.number) ?? .null))
        if classes.count == 2 { members.append(("pr_auc", averagePrecision.map(JSON.number) ?? .null)) }
        members += [("log_loss", .number(loss)), ("brier", .number(brier)), ("ece", .number(ece))]
        if classes.count == 2 { members.append(("threshold", .number(threshold ?? 0.5))) }
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
        var second = String(format: "balanced accuracy %.4f  F1 macro %.4f  MCC %.4f", balancedAccuracy, macro.f1, mcc)
        if let auc = rocAUC { second += String(format: "  ROC AUC %.4f", auc) }
        if let ap = averagePrecision { second += String(format: "  PR AUC %.4f", ap) }
        lines.append(second)
        lines.append(String(format: "Brier %.4f  ECE %.4f", brier, ece) + (classes.count == 2 ? String(format: "  threshold %.4g", threshold ?? 0.5) : ""))
        let width = Swift.max(12, (classes.map(\.count).max() ?? 0) + 2)
        lines.append("")
        lines.append(padded("class", width) + ["precision", "recall", "f1", "support"].map { padded($0, 10, right: true) }.joined())
        for (name, s) in zip(classes, perClass) {
            lines.append(padded(name, width) + [String(format: "%.4f", s.precision), String(format: "%.4f", s.recall), String(format: "%.4f", s.f1), "\(s.support)"].map { padded($0, 10, right: true) }.joined())
        }
        for (name, s) in [("macro avg", macro), ("weighted avg", weighted)] {
            lines.append(padded(name, width) + [String(format: "%.4f", s.precision), String(format: "%.4f", s.recall), String(format: "%.4f", s.f1), "\(s.support)"].map { padded($0, 10, right: true) }.joined())
        }
        lines.append("")
        lines.append("confusion matrix (rows: true class, columns: predicted class)")
        let cell = Swift.max(6, (classes.map(\.count).max() ?? 0) + 1, String(confusion.flatMap { $0 }.max() ?? 0).count + 1)
        lines.append(padded("", width) + classes.map { padded($0, cell, right: true) }.joined())
        for (name, row) in zip(classes, confusion) {
            lines.append(padded(name, width) + row.map { padded("\($0)", cell, right: true) }.joined())
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
