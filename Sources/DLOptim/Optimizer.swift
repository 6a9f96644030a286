import DLCore
import RealModule

/// Updates the flat parameter vector from the flat gradient vector, one pass per step.
///
/// All state (momenta, moment estimates, the step count) lives in ``state`` as named flat
/// buffers of the parameter vector's length, so a checkpoint stores and restores it whole.
public protocol Optimizer: AnyObject {
    /// Applies one update with learning rate `lr`.
    func step(_ parameters: ParameterStore<Float>, learningRate lr: Float)
    /// Named state buffers, each as long as the parameter vector.
    var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { get }
    /// Updates applied so far (Adam's bias correction depends on it).
    var steps: Int { get set }
}

/// Flat state buffers, allocated once and freed with their optimizer.
final class StateBuffers {
    private(set) var named: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] = []

    func add(_ name: String, count: Int) -> UnsafeMutableBufferPointer<Float> {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
        buffer.initialize(repeating: 0)
        named.append((name, buffer))
        return buffer
    }

    deinit { for (_, buffer) in named { buffer.deallocate() } }
}

/// Stochastic gradient descent, optionally with momentum (Polyak 1964) or Nesterov momentum
/// (Sutskever et al. 2013), in the form PyTorch uses:
///
///     v ← μ v + g
///     θ ← θ − lr · v                 (momentum)
///     θ ← θ − lr · (g + μ v)         (Nesterov)
///
/// With μ = 0 this is plain SGD, θ ← θ − lr · g.
public final class SGD: Optimizer {
    public let momentum: Float
    public let nesterov: Bool
    public var steps = 0
    private let buffers = StateBuffers()
    private let velocity: UnsafeMutableBufferPointer<Float>

    public init(parameterCount: Int, momentum: Float = 0, nesterov: Bool = false) {
        self.momentum = momentum
        self.nesterov = nesterov
        velocity = buffers.add("velocity", count: parameterCount)
    }

    public var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { buffers.named }

    public func step(_ parameters: ParameterStore<Float>, learningRate lr: Float) {
        let theta = parameters.values, g = parameters.gradients, v = velocity, mu = momentum
        if mu == 0 {
            for i in 0..<parameters.count { theta[i] -= lr * g[i] }
        } else if nesterov {
            for i in 0..<parameters.count {
                v[i] = mu * v[i] + g[i]
                theta[i] -= lr * (g[i] + mu * v[i])
            }
        } else {
            for i in 0..<parameters.count {
                v[i] = mu * v[i] + g[i]
                theta[i] -= lr * v[i]
            }
        }
        steps += 1
    }
}

/// Adam (Kingma and Ba 2015, Algorithm 1), with bias correction:
///
///     m ← β1 m + (1 − β1) g
///     v ← β2 v + (1 − β2) g²
///     m̂ = m / (1 − β1^t),  v̂ = v / (1 − β2^t)       t = steps taken, from 1
///     θ ← θ − lr · m̂ / (√v̂ + ε)
public final class Adam: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float
    public var steps = 0
    private let buffers = StateBuffers()
    private let m: UnsafeMutableBufferPointer<Float>
    private let v: UnsafeMutableBufferPointer<Float>

    public init(parameterCount: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        m = buffers.add("m", count: parameterCount)
        v = buffers.add("v", count: parameterCount)
    }

    public var state: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { buffers.named }

    public func step(_ parameters: ParameterStore<Float>, learningRate lr: Float) {
        steps += 1
        let t = Double(steps)
        // Bias corrections in double: β^t underflows gracefully and 1 − β^t stays accurate.
        let c1 = Float(1 - Double.pow(Double(beta1), t)), c2 = Float(1 - Double.pow(Double(beta2), t))
        let theta = parameters.values, g = parameters.gradients, m = m, v = v
        let b1 = beta1, b2 = beta2, eps = epsilon
        for i in 0..<parameters.count {
            let gi = g[i]
            m[i] = b1 * m[i] + (1 - b1) * gi
            v[i] = b2 * v[i] + (1 - b2) * gi * gi
            theta[i] -= lr * (m[i] / c1) / ((v[i] / c2).squareRoot() + eps)
        }
    }
}
