import DLCore

/// The activations a layer can name in a config, mapped onto the core's unary ops.
public enum Activation: String, Sendable, CaseIterable {
    case linear, sigmoid, tanh, relu, leakyRelu = "leaky_relu", elu, selu, gelu, softplus, swish, silu, abs

    /// The core op, or nil for `linear`. `alpha` parameterises leaky_relu (default 0.01) and elu (1).
    public func op(alpha: Double? = nil) -> UnaryOp? {
        switch self {
        case .linear: return nil
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
