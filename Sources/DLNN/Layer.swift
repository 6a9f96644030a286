import DLCore

/// One layer of the network: inputs combined, an affine map (full or low-rank), optional
/// batch normalisation, an activation, optional dropout.
///
///     x = combine(inputs)                         add, or concat along features
///     z = x W + b        or  z = (x U) V + b      low rank: U (in, q), V (q, out)
///     z = batchnorm(z)                            before the non-linearity, as in the paper
///     h = f(z)                                    maxout: max over k pieces of z per unit
///     h = dropout(h)
public struct LayerSpec: Sendable {
    public enum Combine: String, Sendable, CaseIterable { case add, concat }

    public struct BatchNorm: Sendable, Equatable {
        public var momentum: Double
        public var epsilon: Double
        public init(momentum: Double = 0.9, epsilon: Double = 1e-5) {
            self.momentum = momentum
            self.epsilon = epsilon
        }
    }

    public var name: String
    public var units: Int
    public var activation: Activation = .linear
    /// leaky_relu's slope, elu's scale, prelu's initial slope.
    public var alpha: Double? = nil
    /// maxout's pieces per unit.
    public var pieces: Int = 2
    public var initializer: Initializer? = nil
    public var biasInitializer: Initializer = .zeros
    public var batchNorm: BatchNorm? = nil
    public var dropout: Double = 0
    public var trainable = true
    /// Factorises the kernel into (in, rank) · (rank, out) when set.
    public var rank: Int? = nil
    /// Names of earlier layers (or "input") read by this layer; nil reads the previous layer.
    public var inputs: [String]? = nil
    public var combine: Combine = .add
    /// Penalties on this layer's kernel; nil takes the model's global value.
    public var l1: Double? = nil
    public var l2: Double? = nil

    public init(name: String, units: Int, activation: Activation = .linear) {
        self.name = name
        self.units = units
        self.activation = activation
    }

    /// Affine outputs before the activation: maxout needs k per unit.
    var affineUnits: Int { activation == .maxout ? units * pieces : units }

    /// The kernel parameters this layer creates (for penalties and summaries).
    var kernelNames: [String] { rank == nil ? ["\(name)/kernel"] : ["\(name)/kernel_a", "\(name)/kernel_b"] }

    // x (N, in) -> h (N, units)
    func build(on g: Graph, input x: NodeID) throws -> NodeID {
        let fanIn = g.shape(x).dims[1], out = affineUnits
        var z: NodeID
        if let rank {
            let a = try g.parameter("\(name)/kernel_a", shape: [fanIn, rank], trainable: trainable)
            let b = try g.parameter("\(name)/kernel_b", shape: [rank, out], trainable: trainable)
            z = try g.matmul(try g.matmul(x, a), b)
        } else {
            z = try g.matmul(x, try g.parameter("\(name)/kernel", shape: [fanIn, out], trainable: trainable))
        }
        z = try g.add(z, try g.parameter("\(name)/bias", shape: [out], trainable: trainable))
        if let bn = batchNorm {
            z = try g.batchNorm(z, scale: try g.parameter("\(name)/gamma", shape: [out], trainable: trainable),
                                shift: try g.parameter("\(name)/beta", shape: [out], trainable: trainable),
                                runningMean: try g.parameter("\(name)/moving_mean", shape: [out], trainable: false),
                                runningVariance: try g.parameter("\(name)/moving_variance", shape: [out], trainable: false),
                                momentum: bn.momentum, epsilon: bn.epsilon)
        }
        var h: NodeID
        switch activation {
        case .prelu:
            // max(z, 0) + a ⊙ min(z, 0): the slope a (units) is learned.
            let zero = g.constant(0)
            let slope = try g.parameter("\(name)/alpha", shape: [units], trainable: trainable)
            h = try g.add(try g.maximum(z, zero), try g.mul(try g.minimum(z, zero), slope))
        case .maxout:
            h = try g.max(try g.reshape(z, [Shape.batch, units, pieces]), axis: 2)
        default:
            h = try activation.op(alpha: alpha).map { try g.unary($0, z) } ?? z
        }
        if dropout > 0 { h = try g.dropout(h, rate: dropout) }
        return h
    }

    /// Fills this layer's parameters in `store`.
    func initialize<T: Scalar>(_ store: ParameterStore<T>, graph: Graph, rng: inout RandomSource) throws {
        let kernel = initializer ?? .defaultFor(activation)
        func fill(_ suffix: String, _ initializer: Initializer) throws {
            guard let index = graph.parameterIndex(named: "\(name)/\(suffix)") else { return }
            let spec = graph.parameters[index]
            let fanIn = spec.shape.count == 2 ? spec.shape[0] : 1
            initializer.fill(store.values(of: spec), fanIn: fanIn, fanOut: spec.shape.last ?? 1, rng: &rng, threads: BLAS.threadCount)
        }
        if let rank {
            try fill("kernel_a", kernel)
            // Var(U V) per entry = rank · Var(U) · (1/rank) = Var(U): the product keeps the chosen scale.
            try fill("kernel_b", .normal(std: (1 / Double(rank)).squareRoot()))
        } else {
            try fill("kernel", kernel)
        }
        try fill("bias", biasInitializer)
        try fill("gamma", .constant(1))
        try fill("beta", .zeros)
        try fill("moving_mean", .zeros)
        try fill("moving_variance", .constant(1))
        try fill("alpha", .constant(alpha ?? 0.25))
    }

    /// Scalars this layer learns or keeps.
    func parameterCount(fanIn: Int) -> Int {
        let out = affineUnits
        var n = (rank.map { fanIn * $0 + $0 * out } ?? fanIn * out) + out
        if batchNorm != nil { n += 4 * out }
        if activation == .prelu { n += units }
        return n
    }
}
