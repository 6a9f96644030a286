import DLCore

/// A multilayer perceptron as a graph: features → dense layers → loss.
///
/// The same graph serves training (loss) and inference (outputs); executors for either
/// share one ``ParameterStore``.
public struct Model: @unchecked Sendable {
    public let graph: Graph
    public let layers: [DenseLayer]
    public let loss: Loss
    /// Features (N, inputs).
    public let features: NodeID
    /// Targets: class indices (N) or values (N, outputs).
    public let target: NodeID
    /// The last layer's raw outputs (N, outputs): logits for classification.
    public let outputs: NodeID
    /// The mean loss over the batch, a scalar.
    public let objective: NodeID

    public init(inputs: Int, layers: [DenseLayer], loss: Loss) throws {
        guard let last = layers.last else { throw ShapeError("model", "a model needs at least one layer") }
        let g = Graph()
        features = try g.input("features", shape: [Shape.batch, inputs])
        var h = features
        for layer in layers { h = try layer.build(on: g, input: h) }
        outputs = h
        target = try g.input("target", shape: loss.targetShape(outputs: last.units))
        objective = try loss.build(on: g, logits: outputs, target: target)
        graph = g
        self.layers = layers
        self.loss = loss
    }

    public var outputUnits: Int { layers.last!.units }

    /// A store with every layer initialised from `seed`'s stream, in layer order.
    public func initialParameters<T: Scalar>(rng: inout RandomSource) throws -> ParameterStore<T> {
        let store = ParameterStore<T>(for: graph)
        for layer in layers { try layer.initialize(store, graph: graph, rng: &rng) }
        return store
    }
}
