@testable import DLTrain
import DLCore
import Foundation
import TestSupport
import Testing

/// eval's classification metrics against scikit-learn's on the same probabilities (to 1e-6,
/// binary and multiclass, with ties and a class never decided), and the temperature and
/// threshold fits against cases whose answer is known.
@Suite struct DecisionMetricsTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `rows` rows of `classes` probabilities, informative about the label; every third row's
    /// probabilities are rounded to a tenth, so scores tie.
    static func predictions(rows: Int, classes: Int, seed: UInt64, neverDecided: Int? = nil) -> (p: [Float], y: [Float]) {
        var rng = RandomSource(seed: seed)
        var p: [Float] = [], y: [Float] = []
        for r in 0..<rows {
            let label = Int(rng.next() % UInt64(classes))
            var z = (0..<classes).map { k in rng.normal() + (k == label ? 1.2 : 0) - (k == neverDecided ? 6 : 0) }
            if r % 3 == 0 { z = z.map { ($0 * 2).rounded() / 2 } }
            let top = z.max()!, e = z.map { Foundation.exp($0 - top) }, total = e.reduce(0, +)
            p += e.map { Float($0 / total) }
            y.append(Float(label))
        }
        return (p, y)
    }

    func sklearn(_ p: [Float], _ y: [Float], classes: Int, threshold: Double?) throws -> JSON {
        let dir = try temporaryDirectory()
        var text = "label," + (0..<classes).map { "p\($0)" }.joined(separator: ",") + "\n"
        for r in 0..<y.count {
            text += "\(Int(y[r]))," + (0..<classes).map { String(format: "%.9g", Double(p[r * classes + $0])) }.joined(separator: ",") + "\n"
        }
        let file = try writeFile(dir, "predictions.csv", text)
        let script = Self.packageRoot.appendingPathComponent("Tests/python/sklearn_metrics.py").path
        let run = try runProgram("/usr/bin/env", ["python3", script, file, threshold.map { "\($0)" } ?? "none"])
        try #require(run.status == 0, "\(run.stderr)")
        return try JSON.parse(run.stdout)
    }

    @Test(arguments: [(2, 0.37), (2, nil), (4, nil), (5, nil)] as [(Int, Double?)])
    func metricsAgreeWithScikitLearn(classes: Int, threshold: Double?) throws {
        // Five classes: one is never the most probable, so it is in no decision (and F1 macro
        // counts it only as a true class).
        let (p, y) = Self.predictions(rows: 997, classes: classes, seed: UInt64(7 + classes), neverDecided: classes == 5 ? 4 : nil)
        var m = ClassificationMetrics(classes: (0..<classes).map { "c\($0)" }, threshold: threshold)
        m.add(probabilities: p, labels: y, rows: y.count)
        let reference = try sklearn(p, y, classes: classes, threshold: threshold)
        let ours: [(String, Double?)] = [
            ("accuracy", m.accuracy), ("balanced_accuracy", m.balancedAccuracy), ("f1_macro", m.macro.f1), ("mcc", m.mcc),
            ("roc_auc", m.rocAUC), ("log_loss", m.loss), ("brier", m.brier), ("ece", m.ece),
        ] + (classes == 2 ? [("pr_auc", m.averagePrecision)] : [])
        for (name, value) in ours {
            let expected = try #require(reference[name]?.number, "scikit-learn gave no \(name)")
            let got = try #require(value, "\(name) is undefined")
            #expect(Swift.abs(got - expected) < 1e-6, "\(name): dltrain \(got), scikit-learn \(expected)")
        }
        // The JSON eval prints carries the same numbers and the threshold in use.
        let json = m.json()
        #expect(json["f1_macro"]?.number == m.macro.f1 && json["ece"]?.number == m.ece)
        if classes == 2 { #expect(json["threshold"]?.number == threshold ?? 0.5) }
        if classes == 5 { #expect(m.confusion.allSatisfy { $0[4] == 0 }, "class 4 is decided somewhere; the case tests nothing") }
    }

    /// Labels drawn from softmax(z / 2): the fitted temperature is near 2, and no nearby
    /// temperature has a lower log loss.
    @Test func temperatureRecoversTheOneThatMadeTheLabels() {
        var rng = RandomSource(seed: 3)
        let rows = 20_000, width = 3
        var logits: [Float] = [], labels: [Int] = []
        for _ in 0..<rows {
            let z = (0..<width).map { _ in 3 * rng.normal() }
            let e = z.map { Foundation.exp($0 / 2) }, total = e.reduce(0, +)
            var u = Double(rng.next() >> 11) / Double(1 << 53) * total, k = 0
            while k < width - 1 && u >= e[k] { u -= e[k]; k += 1 }
            logits += z.map(Float.init)
            labels.append(k)
        }
        let t = Decisions.fitTemperature(logits: logits, labels: labels, width: width)
        #expect(Swift.abs(t - 2) < 0.1, "fitted temperature \(t)")
        func logLoss(_ t: Double) -> Double {
            var total = 0.0
            for r in 0..<rows {
                let z = (0..<width).map { Double(logits[r * width + $0]) / t }, top = z.max()!
                total += top + Foundation.log(z.map { Foundation.exp($0 - top) }.reduce(0, +)) - z[labels[r]]
            }
            return total / Double(rows)
        }
        #expect(logLoss(t) <= logLoss(t * 1.01) && logLoss(t) <= logLoss(t / 1.01))
        // A binary logit: labels from σ(z / 0.5).
        var binary: [Float] = [], positive: [Int] = []
        for _ in 0..<rows {
            let z = 2 * rng.normal()
            binary.append(Float(z))
            positive.append(Double(rng.next() >> 11) / Double(1 << 53) < 1 / (1 + Foundation.exp(-z / 0.5)) ? 1 : 0)
        }
        let tb = Decisions.fitTemperature(logits: binary, labels: positive, width: 1)
        #expect(Swift.abs(tb - 0.5) < 0.05, "fitted binary temperature \(tb)")
    }

    /// Scores 0.9 0.8 0.7 0.6 0.4 0.3 for labels 1 1 0 1 0 0. F1 at each candidate (rows at or
    /// above it positive): 0.9 → 2/4, 0.8 → 4/5, 0.7 → 4/6, 0.6 → 6/7, 0.4 → 6/8, 0.3 → 6/9:
    /// the best is 0.6, placed midway to 0.4. Balanced accuracy: 0.8 → (2/3 + 1)/2 = 5/6 and
    /// 0.6 → (1 + 2/3)/2 = 5/6 tie; the higher, 0.8, wins, placed midway to 0.7.
    @Test func thresholdIsChosenByHand() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3], positives = [true, true, false, true, false, false]
        #expect(Swift.abs(Decisions.chooseThreshold(scores: scores, positives: positives, rule: "f1") - 0.5) < 1e-12)
        #expect(Swift.abs(Decisions.chooseThreshold(scores: scores, positives: positives, rule: "balanced_accuracy") - 0.75) < 1e-12)
    }
}
