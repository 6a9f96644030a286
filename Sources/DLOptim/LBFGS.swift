import DLCore

/// Limited-memory BFGS (Liu and Nocedal 1989; Nocedal and Wright, Algorithm 7.4 and 7.5),
/// the quasi-Newton method of the optimization lecture, for full-batch training of small
/// problems (as scikit-learn's MLP does on small data).
///
/// Each iteration: the direction `d = −H g` by the two-loop recursion over the last `m` pairs
/// `s = θ₊ − θ`, `y = g₊ − g` (with `H₀ = (sᵀy / yᵀy) I` from the newest pair), then a
/// backtracking line search from step `α₀` (`lr` on the first iteration, 1 after) halving
/// until Armijo's condition `f(θ + αd) ≤ f(θ) + 10⁻⁴ α gᵀd` holds. A pair is kept only when
/// `sᵀy > 10⁻¹⁰` (positive curvature); a direction that is not downhill resets the memory.
/// Inner products are accumulated in double.
public final class LBFGS {
    public let history: Int
    public var steps = 0
    private let spans: [Range<Int>]
    private let n: Int
    private let buffers = StateBuffers()
    private let s: [UnsafeMutableBufferPointer<Float>], y: [UnsafeMutableBufferPointer<Float>]
    private let direction: UnsafeMutableBufferPointer<Float>
    private let previousTheta: UnsafeMutableBufferPointer<Float>, previousGradient: UnsafeMutableBufferPointer<Float>
    /// Pairs kept, the newest pair's slot, and 1/(yᵀs) of each slot; checkpointed with the buffers.
    private let bookkeeping: UnsafeMutableBufferPointer<Float>
    private var alpha: [Double]

    /// Curvature pairs kept, as PyTorch's `history_size`.
    public static let defaultHistory = 10

    public init(parameterCount: Int, spans: [Range<Int>]? = nil, history: Int = defaultHistory) {
        self.history = history
        self.n = parameterCount
        self.spans = spans ?? [0..<parameterCount]
        s = (0..<history).map { [buffers] in buffers.add("s\($0)", count: parameterCount) }
        y = (0..<history).map { [buffers] in buffers.add("y\($0)", count: parameterCount) }
        direction = buffers.add("direction", count: parameterCount)
        previousTheta = buffers.add("previous_theta", count: parameterCount)
        previousGradient = buffers.add("previous_gradient", count: parameterCount)
        bookkeeping = buffers.add("bookkeeping", count: 2 + history)
        alpha = [Double](repeating: 0, count: history)
    }

    /// Every buffer, for checkpoints (the last holds the pair count, the newest slot and 1/(yᵀs) per slot).
    public var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { buffers.named }

    private var kept: Int {
        get { Int(bookkeeping[0]) }
        set { bookkeeping[0] = Float(newValue) }
    }
    private var newest: Int {
        get { Int(bookkeeping[1]) }
        set { bookkeeping[1] = Float(newValue) }
    }

    private func dot(_ a: UnsafeMutableBufferPointer<Float>, _ b: UnsafeMutableBufferPointer<Float>) -> Double {
        var total = 0.0
        for span in spans { for i in span { total += Double(a[i]) * Double(b[i]) } }
        return total
    }

    /// One iteration. `evaluate` computes the loss at the store's current values and leaves
    /// its gradient in the store's gradients. Returns the loss after the step.
    public func iterate(_ p: ParameterStore<Float>, learningRate lr: Float, evaluate: () throws -> Double) rethrows -> Double {
        let theta = p.values, g = p.gradients, d = direction
        let f0 = try evaluate()
        // Two-loop recursion: d = −H g.
        for span in spans { for i in span { d[i] = -g[i] } }
        for k in 0..<kept {
            let slot = (newest - k + history) % history
            alpha[slot] = Double(bookkeeping[2 + slot]) * dot(s[slot], d)
            let a = Float(alpha[slot]), ys = y[slot]
            for span in spans { for i in span { d[i] -= a * ys[i] } }
        }
        if kept > 0 {
            let gamma = Float(dot(s[newest], y[newest]) / Swift.max(dot(y[newest], y[newest]), 1e-30))
            for span in spans { for i in span { d[i] *= gamma } }
        }
        for k in stride(from: kept - 1, through: 0, by: -1) {
            let slot = (newest - k + history) % history
            let beta = Double(bookkeeping[2 + slot]) * dot(y[slot], d)
            let c = Float(alpha[slot] - beta), ss = s[slot]
            for span in spans { for i in span { d[i] += c * ss[i] } }
        }
        var slope = dot(g, d)
        if !(slope < 0) {
            // Not downhill (stale curvature): forget the history, step along −g.
            kept = 0
            for span in spans { for i in span { d[i] = -g[i] } }
            slope = dot(g, d)
        }
        for span in spans {
            for i in span {
                previousTheta[i] = theta[i]
                previousGradient[i] = g[i]
            }
        }
        var step = steps == 0 || kept == 0 ? Double(lr) : 1.0
        var f = f0
        for _ in 0..<30 {
            for span in spans { for i in span { theta[i] = previousTheta[i] + Float(step) * d[i] } }
            f = try evaluate()
            if f.isFinite && f <= f0 + 1e-4 * step * slope { break }
            step *= 0.5
        }
        if !(f.isFinite && f <= f0) {
            // No decrease found: stay where we were, forget the curvature pairs.
            for span in spans { for i in span { theta[i] = previousTheta[i]; g[i] = previousGradient[i] } }
            kept = 0
            steps += 1
            return f0
        }
        let slot = (newest + 1) % history
        let sNew = s[slot], yNew = y[slot]
        for span in spans {
            for i in span {
                sNew[i] = theta[i] - previousTheta[i]
                yNew[i] = g[i] - previousGradient[i]
            }
        }
        let curvature = dot(yNew, sNew)
        if curvature > 1e-10 {
            bookkeeping[2 + slot] = Float(1 / curvature)
            newest = slot
            kept = Swift.min(kept + 1, history)
        }
        steps += 1
        return f
    }
}
