import DLCore

/// A fully connected layer: `y = f(x W + b)`.
public struct DenseLayer: Sendable {
    public var name: String
    public var units: Int
    public var activation: Activation
    public var alpha: Double?
    public var initializer: Initializer?
    public var biasInitializer: Initializer

    public init(name: String, units: Int, activation: Activation = .linear, alpha: Double? = nil,
                initializer: Initializer? = nil, biasInitializer: Initializer = .zeros) {
        self.name = name
        self.units = units
        self.activation = activation
        self.alpha = alpha
        self.initializer = initializer
        self.biasInitializer = biasInitializer
    }

    /// Adds the layer's nodes to `graph` on input `x` (N, fanIn); returns y (N, units).
    // x (N, in), W (in, units), b (units) -> y (N, units)
    public func build(on graph: Graph, input x: NodeID) throws -> NodeID {
        let fanIn = graph.shape(x).dims.last ?? 1
        let w = try graph.parameter("\(name)/kernel", shape: [fanIn, units])
        let b = try graph.parameter("\(name)/bias", shape: [units])
        let z = try graph.add(try graph.matmul(x, w), b)
        guard let op = activation.op(alpha: alpha) else { return z }
        return try graph.unary(op, z)
    }

    /// Fills this layer's kernel and bias in `store`.
    public func initialize<T: Scalar>(_ store: ParameterStore<T>, graph: Graph, rng: inout RandomSource) throws {
        for (suffix, initializer) in [("kernel", initializer ?? .defaultFor(activation)), ("bias", biasInitializer)] {
            guard let index = graph.parameterIndex(named: "\(name)/\(suffix)") else { continue }
            let spec = graph.parameters[index]
            let fanIn = spec.shape.count == 2 ? spec.shape[0] : 1
            let values = initializer.values(fanIn: fanIn, fanOut: spec.shape.last ?? 1, count: spec.count, rng: &rng)
            try store.set(spec, to: Tensor(shape: spec.shape, scalars: values.map { T($0) }))
        }
    }
}
