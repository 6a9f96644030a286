/// Compares reverse-mode gradients with central finite differences, in float64.
///
/// For every scalar θ_k of every trainable parameter (and of every input marked as
/// requiring gradients) the numeric derivative is `(f(θ + h e_k) − f(θ − h e_k)) / 2h`
/// and the relative error is `|a − n| / max(|a|, |n|, s)` with `s = 1e-3 · max(1, |f(θ)|)`.
///
/// Why the floor `s`: in float64 the difference quotient carries a rounding error of about
/// `ε·|f|/h ≈ 1e-10·|f|` at h = 1e-6, so a derivative much smaller than the loss (or one
/// that is exactly zero, like a bias feeding batch normalisation) cannot be measured to
/// 1e-6 relative. Below `s` the comparison is therefore absolute, `|a − n| / s`; above it,
/// plainly relative. A wrong derivative of any measurable size still fails.
public enum GradientCheck {
    public struct Report: CustomStringConvertible, Sendable {
        public let name: String
        public let count: Int
        public let maxRelativeError: Double
        /// Flat index of the worst scalar and its two derivatives.
        public let worstIndex: Int
        public let analytic: Double
        public let numeric: Double
        public let tolerance: Double
        public var passed: Bool { maxRelativeError < tolerance }

        public var description: String {
            let verdict = passed ? "ok" : "FAIL"
            return "\(name) (\(count) scalars): max relative error \(maxRelativeError) at [\(worstIndex)] (autodiff \(analytic), numeric \(numeric)) \(verdict)"
        }
    }

    public static let defaultStep = 1e-6
    public static let defaultTolerance = 1e-6
    /// `s` per unit of loss magnitude (see above).
    static let smallGradientScale = 1e-3

    /// Checks `loss` (a scalar node) of `executor`, whose inputs must already be fed.
    /// Dropout masks are drawn once and held for every perturbed evaluation, so the
    /// function being differentiated does not change between them.
    ///
    /// `maxScalars` checks at most that many entries of each parameter, a seeded random
    /// choice (always including the first and last); nil checks every entry.
    public static func check(
        _ executor: Executor<Double>, loss: NodeID, step: Double = defaultStep, tolerance: Double = defaultTolerance,
        maxScalars: Int? = nil
    ) -> [Report] {
        let heldBefore = executor.holdMasks
        defer { executor.holdMasks = heldBefore }
        executor.forward()
        executor.holdMasks = true
        executor.backward(from: loss)
        let graph = executor.graph
        var targets: [(name: String, values: UnsafeMutablePointer<Double>, analytic: [Double])] = []
        for spec in graph.parameters where spec.trainable {
            let values = executor.parameters.values(of: spec)
            targets.append((spec.name, values.baseAddress!, Array(executor.parameters.gradients(of: spec))))
        }
        for (i, node) in graph.nodes.enumerated() where node.requiresGrad {
            guard case .input = node.op, let g = executor.gradient(of: NodeID(i)) else { continue }
            targets.append((node.name ?? "input \(i)", executor.buffer(NodeID(i)).baseAddress!, g.scalars))
        }

        let floor = smallGradientScale * Swift.max(1, Swift.abs(executor.scalar(loss)))
        func lossAt() -> Double {
            executor.forward()
            return executor.scalar(loss)
        }
        var rng = RandomSource(seed: 0xC4EC)
        return targets.map { target in
            var worst = (error: -1.0, index: 0, analytic: 0.0, numeric: 0.0)
            var entries = Array(target.analytic.indices)
            if let limit = maxScalars, entries.count > limit {
                for i in stride(from: entries.count - 1, to: 0, by: -1) { entries.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                entries = Array(Set(entries.prefix(limit - 2)).union([0, target.analytic.count - 1])).sorted()
            }
            for k in entries {
                let saved = target.values[k]
                target.values[k] = saved + step
                let up = lossAt()
                target.values[k] = saved - step
                let down = lossAt()
                target.values[k] = saved
                let numeric = (up - down) / (2 * step), analytic = target.analytic[k]
                let error = Swift.abs(analytic - numeric) / Swift.max(Swift.abs(analytic), Swift.abs(numeric), floor)
                if error > worst.error || error.isNaN { worst = (error, k, analytic, numeric) }
            }
            executor.forward()
            return Report(name: target.name, count: entries.count, maxRelativeError: worst.error,
                          worstIndex: worst.index, analytic: worst.analytic, numeric: worst.numeric, tolerance: tolerance)
        }
    }
}
