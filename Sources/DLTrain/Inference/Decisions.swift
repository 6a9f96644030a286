import DLNN
import Foundation

/// How a classifier's outputs become probabilities and decisions after training, stored in
/// the checkpoint (`meta/model.json`, "decisions") and applied by `predict`, `eval`,
/// ensembles, `explain` and the ONNX export:
///
///     probabilities   softmax(z / T), or σ(z / T) for a binary logit: temperature scaling
///                     (Guo et al. 2017, "On Calibration of Modern Neural Networks"), T = 1
///                     unless `training.calibration` is "temperature"
///     decision        binary: the positive class when p₁ ≥ threshold; otherwise the argmax
public struct Decisions: Sendable, Equatable {
    public var temperature = 1.0
    public var threshold: Double?
    /// Where the threshold came from: "fixed" (the config's number), "f1" or "balanced_accuracy".
    public var thresholdRule: String?

    public init(temperature: Double = 1, threshold: Double? = nil, thresholdRule: String? = nil) {
        self.temperature = temperature
        self.threshold = threshold
        self.thresholdRule = thresholdRule
    }

    public var isDefault: Bool { temperature == 1 && threshold == nil }

    func json() -> JSON {
        .object([("temperature", .number(temperature)), ("threshold", threshold.map(JSON.number) ?? .null),
                 ("threshold_rule", thresholdRule.map(JSON.string) ?? .null)])
    }

    init(json: JSON?) {
        temperature = json?["temperature"]?.number ?? 1
        threshold = json?["threshold"]?.number
        thresholdRule = json?["threshold_rule"]?.string
    }

    /// Adds the class probabilities of `n` rows of network outputs `z` (rows × units) to `out`
    /// (rows × C): softmax(z / T), or for one binary logit (1 − σ(z / T), σ(z / T)).
    func addProbabilities(outputs z: UnsafePointer<Float>, rows n: Int, units: Int, into out: UnsafeMutablePointer<Float>) {
        let inverse = Float(1 / temperature)
        if units == 1 {
            for r in 0..<n {
                let positive = 1 / (1 + Foundation.exp(-z[r] * inverse))
                out[r * 2] += 1 - positive
                out[r * 2 + 1] += positive
            }
            return
        }
        for r in 0..<n {
            let row = z + r * units
            var top = row[0]
            for k in 1..<units where row[k] > top { top = row[k] }
            var total: Float = 0
            for k in 0..<units { total += Foundation.exp((row[k] - top) * inverse) }
            for k in 0..<units { out[r * units + k] += Foundation.exp((row[k] - top) * inverse) / total }
        }
    }

    // MARK: Fitting on validation outputs

    /// The temperature that minimises the mean log loss of `logits` (rows × width; width 1 is
    /// a binary logit) against `labels`. The loss is convex in β = 1/T, with derivative
    /// mean(E_p[z] − z_y) (binary: mean((σ(βz) − y) z)), so β is found by bisection of the
    /// derivative's sign over log β in [ln 10⁻³, ln 10³], in double.
    public static func fitTemperature(logits: [Float], labels: [Int], width: Int) -> Double {
        let n = labels.count
        func slope(_ beta: Double) -> Double {
            var total = 0.0
            for r in 0..<n {
                if width == 1 {
                    let z = Double(logits[r])
                    total += (1 / (1 + Foundation.exp(-beta * z)) - Double(labels[r])) * z
                } else {
                    var top = -Double.infinity
                    for k in 0..<width { top = Swift.max(top, beta * Double(logits[r * width + k])) }
                    var sum = 0.0, weighted = 0.0
                    for k in 0..<width {
                        let z = Double(logits[r * width + k]), e = Foundation.exp(beta * z - top)
                        sum += e
                        weighted += e * z
                    }
                    total += weighted / sum - Double(logits[r * width + labels[r]])
                }
            }
            return total / Double(Swift.max(n, 1))
        }
        var low = Foundation.log(1e-3), high = Foundation.log(1e3)
        if slope(Foundation.exp(low)) >= 0 { return 1 / Foundation.exp(low) }
        if slope(Foundation.exp(high)) <= 0 { return 1 / Foundation.exp(high) }
        for _ in 0..<60 {
            let middle = (low + high) / 2
            if slope(Foundation.exp(middle)) < 0 { low = middle } else { high = middle }
        }
        return 1 / Foundation.exp((low + high) / 2)
    }

    /// The threshold on p₁ that maximises `rule` ("f1" or "balanced_accuracy") on validation
    /// `scores`: each distinct score is a candidate (rows at or above it positive); the best
    /// (the highest on ties) is placed midway to the next lower score, so the validation
    /// decisions are the same and new rows near the boundary are not all on one side.
    public static func chooseThreshold(scores: [Double], positives: [Bool], rule: String) -> Double {
        let curve = ClassificationMetrics.rankingCurve(scores: scores, positives: positives)
        let p = positives.filter { $0 }.count, n = positives.count - p
        var best = -Double.infinity, chosen = 0
        for (i, point) in curve.enumerated() {
            let tp = Double(point.truePositives), fp = Double(point.falsePositives)
            let value = rule == "f1" ? 2 * tp / Swift.max(2 * tp + fp + Double(p) - tp, 1)
                : 0.5 * (tp / Double(Swift.max(p, 1)) + (Double(n) - fp) / Double(Swift.max(n, 1)))
            if value > best { best = value; chosen = i }
        }
        let score = curve[chosen].threshold, below = chosen + 1 < curve.count ? curve[chosen + 1].threshold : 0
        return (score + below) / 2
    }
}
