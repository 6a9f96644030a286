import CKernels
import DLCore
import Foundation
import RealModule

/// Updates the flat parameter vector from the flat gradient vector, one pass per step over
/// the trainable spans (frozen layers and batch-norm running statistics are never touched).
///
/// All state (momenta, moment estimates, the step count) lives in ``state`` as named flat
/// buffers of the parameter vector's length, so a checkpoint stores and restores it whole.
/// `weightDecay` is L2 coupled into the gradient (`g ← g + λθ`, as PyTorch's `weight_decay`)
/// for every optimizer but AdamW, where it is decoupled.
public protocol Optimizer: AnyObject {
    /// Applies one update with learning rate `lr`.
    func step(_ parameters: ParameterStore<Float>, learningRate lr: Float)
    /// Named state buffers, each as long as the parameter vector.
    var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { get }
    /// Updates applied so far (Adam's bias correction depends on it).
    var steps: Int { get set }
}

/// Contiguous spans of the parameter vector that train, merged where adjacent.
public func trainableSpans(of graph: Graph) -> [Range<Int>] {
    var spans: [Range<Int>] = []
    for spec in graph.parameters where spec.trainable && spec.count > 0 {
        let span = spec.offset..<(spec.offset + spec.count)
        if let last = spans.last, last.upperBound == span.lowerBound {
            spans[spans.count - 1] = last.lowerBound..<span.upperBound
        } else {
            spans.append(span)
        }
    }
    return spans
}

/// Flat state buffers, allocated once and freed with their optimizer.
final class StateBuffers {
    private(set) var named: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] = []

    func add(_ name: String, count: Int, value: Float = 0) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
        buffer.initialize(repeating: value)
        named.append((name, buffer))
        return buffer
    }

    deinit { for (_, buffer) in named { buffer.deallocate() } }
}

/// Stochastic gradient descent, optionally with momentum (Polyak 1964) or Nesterov momentum
/// (Sutskever et al. 2013), in the form PyTorch uses:
///
///     g ← g + λθ                     (weight decay)
///     v ← μ v + g
///     θ ← θ − lr · v                 (momentum)
///     θ ← θ − lr · (g + μ v)         (Nesterov)
///
/// With μ = 0 this is plain SGD, θ ← θ − lr · g.
public final class SGD: Optimizer {
    public let momentum: Float, nesterov: Bool, weightDecay: Float
    public var steps = 0
    private let spans: [Range<Int>]
    private let buffers = StateBuffers()
    private let velocity: UnsafeMutableBufferPointer<Float>

    public init(parameterCount: Int, spans: [Range<Int>]? = nil, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.spans = spans ?? [0..<parameterCount]
        velocity = buffers.add("velocity", count: parameterCount)
    }

    public var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { buffers.named }

    public func step(_ parameters: ParameterStore<Float>, learningRate lr: Float) {
        let theta = parameters.values, g = parameters.gradients, v = velocity, mu = momentum, wd = weightDecay
        for span in spans {
            for i in span {
                let gi = g[i] + wd * theta[i]
                if mu == 0 { theta[i] -= lr * gi; continue }
                v[i] = mu * v[i] + gi
                theta[i] -= nesterov ? lr * (gi + mu * v[i]) : lr * v[i]
            }
        }
        steps += 1
    }
}

/// AdaGrad (Duchi, Hazan and Singer 2011): per-parameter rates shrink with the sum of squares.
///
///     g ← g + λθ
///     G ← G + g²
///     θ ← θ − lr · g / (√G + ε)
public final class AdaGrad: Optimizer {
    public let epsilon: Float, weightDecay: Float
    public var steps = 0
    private let spans: [Range<Int>]
    private let buffers = StateBuffers()
    private let sumOfSquares: UnsafeMutableBufferPointer<Float>

    /// PyTorch's default ε.
    public static let defaultEpsilon: Float = 1e-10

    public init(parameterCount: Int, spans: [Range<Int>]? = nil, epsilon: Float = defaultEpsilon, weightDecay: Float = 0) {
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.spans = spans ?? [0..<parameterCount]
        sumOfSquares = buffers.add("sum_of_squares", count: parameterCount)
    }

    public var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { buffers.named }

    public func step(_ parameters: ParameterStore<Float>, learningRate lr: Float) {
        let theta = parameters.values, g = parameters.gradients, s = sumOfSquares, eps = epsilon, wd = weightDecay
        for span in spans {
            for i in span {
                let gi = g[i] + wd * theta[i]
                s[i] += gi * gi
                theta[i] -= lr * gi / (s[i].squareRoot() + eps)
            }
        }
        steps += 1
    }
}

/// RMSProp (Tieleman and Hinton 2012, lecture 6.5): a leaky average of squared gradients.
///
///     g ← g + λθ
///     E ← ρ E + (1 − ρ) g²           ρ = `decay`
///     θ ← θ − lr · g / (√E + ε)
public final class RMSProp: Optimizer {
    public let decay: Float, epsilon: Float, weightDecay: Float
    public var steps = 0
    private let spans: [Range<Int>]
    private let buffers = StateBuffers()
    private let meanSquare: UnsafeMutableBufferPointer<Float>

    /// ρ as Hinton's lecture 6e (PyTorch's default is 0.99), and PyTorch's default ε.
    public static let defaultDecay: Float = 0.9, defaultEpsilon: Float = 1e-8

    public init(parameterCount: Int, spans: [Range<Int>]? = nil, decay: Float = defaultDecay, epsilon: Float = defaultEpsilon, weightDecay: Float = 0) {
        self.decay = decay
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.spans = spans ?? [0..<parameterCount]
        meanSquare = buffers.add("mean_square", count: parameterCount)
    }

    public var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { buffers.named }

    public func step(_ parameters: ParameterStore<Float>, learningRate lr: Float) {
        let theta = parameters.values, g = parameters.gradients, e = meanSquare, rho = decay, eps = epsilon, wd = weightDecay
        for span in spans {
            for i in span {
                let gi = g[i] + wd * theta[i]
                e[i] = rho * e[i] + (1 - rho) * gi * gi
                theta[i] -= lr * gi / (e[i].squareRoot() + eps)
            }
        }
        steps += 1
    }
}

/// Adam (Kingma and Ba 2015, Algorithm 1) with bias correction, and AdamW (Loshchilov and
/// Hutter 2019) when `decoupled`:
///
///     g ← g + λθ                                   (Adam: weight decay coupled)
///     m ← β1 m + (1 − β1) g
///     v ← β2 v + (1 − β2) g²
///     m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t)       t = steps taken, from 1
///     θ ← θ − lr · m̂ / (√v̂ + ε)
///     θ ← θ − lr · λ θ                             (AdamW: decoupled, before the Adam step)
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, decoupled: Bool
    public var steps = 0
    private let spans: [Range<Int>]
    private let buffers = StateBuffers()
    private let m: UnsafeMutableBufferPointer<Float>
    private let v: UnsafeMutableBufferPointer<Float>

    /// PyTorch's defaults: β = (0.9, 0.999), ε = 1e-8, and λ = 0.01 for AdamW (Adam: 0).
    public static let defaultBetas: (Float, Float) = (0.9, 0.999), defaultEpsilon: Float = 1e-8, defaultDecoupledWeightDecay: Float = 0.01

    public init(parameterCount: Int, spans: [Range<Int>]? = nil, beta1: Float = defaultBetas.0, beta2: Float = defaultBetas.1, epsilon: Float = defaultEpsilon,
                weightDecay: Float = 0, decoupled: Bool = false) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        self.spans = spans ?? [0..<parameterCount]
        m = buffers.add("m", count: parameterCount)
        v = buffers.add("v", count: parameterCount)
    }

    public var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { buffers.named }

    public func step(_ parameters: ParameterStore<Float>, learningRate lr: Float) {
        steps += 1
        let t = Double(steps)
        // The paper's efficient form (Section 2, last paragraph): with c1 = 1 − β1^t and
        // c2 = 1 − β2^t, m̂/(√v̂ + ε) = (√c2 / c1) · m / (√v + ε√c2), so one scaled step size
        // and one scaled ε replace the per-element bias corrections. Computed in double.
        let c1 = 1 - Double.pow(Double(beta1), t), c2 = 1 - Double.pow(Double(beta2), t)
        let stepSize = Float(Double(lr) * c2.squareRoot() / c1), epsHat = Float(Double(epsilon) * c2.squareRoot())
        let coupled = decoupled ? 0 : weightDecay, shrink = decoupled ? 1 - lr * weightDecay : 1
        let theta = parameters.values.baseAddress!, g = parameters.gradients.baseAddress!
        let m = m.baseAddress!, v = v.baseAddress!
        // Each parameter's piece of the slab is cut between the two cores where its gradient
        // was cut (``SlabPiece``); a small one stays here. One piece of a span at a time, so
        // that the pass allocates nothing.
        for span in spans {
            for piece in parameters.pieces where piece.range.overlaps(span) {
                let part = piece.range.clamped(to: span), cut = Swift.min(Swift.max(piece.cut, part.lowerBound), part.upperBound)
                update(part, cut: cut, theta, g, m, v, stepSize: stepSize, epsHat: epsHat, coupled: coupled, shrink: shrink)
            }
        }
    }

    /// Adam's pass over `part` of the slab, from `cut` on the helper core when there is one.
    private func update(_ part: Range<Int>, cut: Int, _ theta: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>,
                        _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                        stepSize: Float, epsHat: Float, coupled: Float, shrink: Float) {
        let start = part.lowerBound
        let task = AdamKernel.Task(theta: theta + start, g: g + start, m: m + start, v: v + start,
                                   count: part.count, beta1: beta1, beta2: beta2, stepSize: stepSize, epsHat: epsHat, coupled: coupled, shrink: shrink)
        if cut > start && cut < part.upperBound, BLAS.threadCount > 1, let helper = HelperThread.shared, helper.claim() {
            let half = cut - start
            AdamKernel.secondHalf.pointee = task.slice(from: half)
            helper.start(HelperThread.Job(AdamKernel.Task.run, UnsafeMutableRawPointer(AdamKernel.secondHalf)))
            task.slice(to: half).run()
            helper.finish()
        } else {
            task.run()
        }
    }
}

/// Adam's update over one contiguous span, 16 lanes at a time (a single pass over θ, g, m, v).
enum AdamKernel {

    /// One span's update, as plain values so it can cross to the helper thread unallocated.
    struct Task {
        var theta, g, m, v: UnsafeMutablePointer<Float>
        var count: Int
        var beta1, beta2, stepSize, epsHat, coupled, shrink: Float

        func run() {
            update(theta, g, m, v, count: count, beta1: beta1, beta2: beta2, stepSize: stepSize, epsHat: epsHat, coupled: coupled, shrink: shrink)
        }
        static let run: @convention(c) (UnsafeMutableRawPointer) -> Void = { raw in
            raw.assumingMemoryBound(to: Task.self).pointee.run()
        }
        func slice(to end: Int) -> Task { var t = self; t.count = end; return t }
        func slice(from start: Int) -> Task {
            var t = self
            t.theta += start; t.g += start; t.m += start; t.v += start
            t.count = count - start
            return t
        }
    }

    /// The part of a large piece (``SlabPiece``) that goes to the helper thread, kept in one place made once.
    nonisolated(unsafe) static let secondHalf = UnsafeMutablePointer<Task>.allocate(capacity: 1)

    @inline(__always)
    static func update(_ theta: UnsafeMutablePointer<Float>, _ g: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                       _ v: UnsafeMutablePointer<Float>, count: Int, beta1: Float, beta2: Float, stepSize: Float, epsHat: Float,
                       coupled: Float, shrink: Float) {
        dl_adam_update(theta, g, m, v, count, beta1, beta2, stepSize, epsHat, coupled, shrink)
    }
}
