import DLCore

/// The activations a layer can name in a config. Most map onto one of the core's unary
/// ops; `prelu` (a learned slope per unit, He et al. 2015) and `maxout` (the maximum of k
/// affine pieces per unit, Goodfellow et al. 2013) are built by the layer from primitives.
public enum Activation: String, Sendable, CaseIterable {
    case linear, sigmoid, tanh, relu, leakyRelu = "leaky_relu", prelu, elu, selu, gelu, softplus, swish, silu, abs, maxout

    /// The core op, or nil for `linear`, `prelu` and `maxout`. `alpha` parameterises
    /// leaky_relu (default 0.01) and elu (default 1).
    public func op(alpha: Double? = nil) -> UnaryOp? {
        switch self {
        case .linear, .prelu, .maxout: return nil
        case .sigmoid: return .sigmoid
        case .tanh: return .tanh
        case .relu: return .relu
        case .leakyRelu: return .leakyRelu(alpha: alpha ?? 0.01)
        case .elu: return .elu(alpha: alpha ?? 1)
        case .selu: return .selu
        case .gelu: return .gelu
        case .softplus: return .softplus
        case .swish, .silu: return .swish
        case .abs: return .abs
        }
    }
}
