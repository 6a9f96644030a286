@testable import DLTrain
import Foundation
import Testing

/// Every metric against a small case worked by hand.
@Suite struct MetricsTests {
    /// Three classes, six rows. True → predicted: a→a, a→b, b→b, b→b, c→a, c→c.
    func example(topK: Int? = nil) -> ClassificationMetrics {
        var m = ClassificationMetrics(classes: ["a", "b", "c"], topK: topK)
        let p: [Float] = [0.7, 0.2, 0.1,  0.3, 0.6, 0.1,  0.1, 0.8, 0.1,  0.2, 0.5, 0.3,  0.5, 0.1, 0.4,  0.1, 0.2, 0.7]
        let y: [Float] = [0, 0, 1, 1, 2, 2]
        m.add(probabilities: p, labels: y, rows: 6)
        return m
    }

    func close(_ a: Double, _ b: Double) -> Bool { Swift.abs(a - b) < 1e-9 }

    @Test func confusionMatrixRowsAreTrueColumnsPredicted() {
        let m = example()
        #expect(m.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
        #expect(close(m.accuracy, 4.0 / 6))
        #expect(m.table().contains("rows: true class, columns: predicted class"))
        let json = m.json()
        #expect(json["confusion_matrix"]?["rows"]?.string == "true class")
        #expect(json["confusion_matrix"]?["counts"]?.items?[2].items?.map(\.number) == [1, 0, 1])
    }

    /// a: precision 1/2 (predicted a twice, once right), recall 1/2, F1 1/2.
    /// b: precision 2/3, recall 1, F1 0.8. c: precision 1, recall 1/2, F1 2/3.
    @Test func perClassAndAverages() {
        let s = example().perClass
        #expect(close(s[0].precision, 0.5) && close(s[0].recall, 0.5) && close(s[0].f1, 0.5))
        #expect(close(s[1].precision, 2.0 / 3) && close(s[1].recall, 1) && close(s[1].f1, 0.8))
        #expect(close(s[2].precision, 1) && close(s[2].recall, 0.5) && close(s[2].f1, 2.0 / 3))
        #expect(s.map(\.support) == [2, 2, 2])
        let macro = example().macro
        #expect(close(macro.precision, (0.5 + 2.0 / 3 + 1) / 3) && close(macro.f1, (0.5 + 0.8 + 2.0 / 3) / 3))
        // Equal supports: weighted equals macro here; a skewed case below tells them apart.
        #expect(close(example().weighted.recall, macro.recall))
        var skewed = ClassificationMetrics(classes: ["x", "y"])
        skewed.add(probabilities: [0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.1, 0.9], labels: [0, 0, 1, 1], rows: 4)
        // x: precision 2/3, recall 1; y: precision 1, recall 1/2 (supports 2, 2 → weighted = macro)
        #expect(close(skewed.weighted.precision, (2.0 / 3 * 2 + 1 * 2) / 4))
        var unequal = ClassificationMetrics(classes: ["x", "y"])
        unequal.add(probabilities: [0.9, 0.1, 0.9, 0.1, 0.9, 0.1, 0.1, 0.9], labels: [0, 0, 0, 1], rows: 4)
        // x: P 1, R 1, F1 1 (support 3); y: P 1, R 1 (support 1): both perfect.
        #expect(close(unequal.weighted.f1, 1) && close(unequal.accuracy, 1))
        unequal.add(probabilities: [0.2, 0.8], labels: [0], rows: 1)
        // Now x: P 1, R 3/4, F1 6/7 (support 4); y: P 1/2, R 1, F1 2/3 (support 1).
        #expect(close(unequal.weighted.f1, (6.0 / 7 * 4 + 2.0 / 3) / 5))
        #expect(close(unequal.macro.f1, (6.0 / 7 + 2.0 / 3) / 2))
    }

    @Test func topKAndLogLoss() {
        // Top-2: rows 1 (a second-best at 0.3), 6 and all others hit; row 5 (c at 0.4 second) hits too.
        #expect(close(example(topK: 2).topKAccuracy!, 1))
        #expect(close(example(topK: 1).topKAccuracy!, 4.0 / 6))
        let expected = -[0.7, 0.3, 0.8, 0.5, 0.4, 0.7].map { Foundation.log(Double(Float($0))) }.reduce(0, +) / 6
        #expect(Swift.abs(example().loss - expected) < 1e-6)
    }

    /// AUC by hand: scores of positives {0.9, 0.6, 0.5}, negatives {0.6, 0.3}. Pairs where the
    /// positive scores higher: 0.9 beats both (2), 0.6 beats 0.3 (1) and ties 0.6 (½), 0.5
    /// beats 0.3 (1): 4.5 of 6 = 0.75.
    @Test func rocAUCWithTies() {
        let auc = ClassificationMetrics.rocAUC(scores: [0.9, 0.6, 0.5, 0.6, 0.3], positives: [true, true, true, false, false])
        #expect(close(auc!, 0.75))
        #expect(ClassificationMetrics.rocAUC(scores: [0.1, 0.2], positives: [true, true]) == nil)
        var binary = ClassificationMetrics(classes: ["no", "yes"])
        binary.add(probabilities: [0.1, 0.9, 0.4, 0.6, 0.5, 0.5, 0.4, 0.6, 0.7, 0.3], labels: [1, 1, 1, 0, 0], rows: 5)
        #expect(close(binary.rocAUC!, 0.75))
        #expect(binary.json()["roc_auc"]?.number == 0.75)
    }

    /// Targets (1, 2, 3, 4), predictions (1.5, 2, 2, 5): errors (.5, 0, −1, 1), MSE 2.25/4,
    /// MAE 2.5/4; Σ(y − ȳ)² = 5, so R² = 1 − 2.25/5.
    @Test func regression() {
        var m = RegressionMetrics(width: 1)
        m.add(predictions: [1.5, 2, 2, 5], predictionStride: 1, targets: [1, 2, 3, 4], rows: 4)
        #expect(close(m.mse, 0.5625) && close(m.rmse, 0.75) && close(m.mae, 0.625) && close(m.r2, 1 - 2.25 / 5))
        let json = m.json(loss: 1)
        #expect(Set(json.members!.map(\.key)) == ["n", "loss", "mse", "rmse", "mae", "r2"])
        // Two targets: each metric is the mean over the targets.
        var two = RegressionMetrics(width: 2)
        two.add(predictions: [1, 10, 3, 10], predictionStride: 2, targets: [2, 10, 4, 12], rows: 2)
        #expect(close(two.mse, (1 + 0 + 1 + 4) / 4.0) && close(two.r2, ((1 - 2.0 / 2) + (1 - 4.0 / 2)) / 2))
    }
}
