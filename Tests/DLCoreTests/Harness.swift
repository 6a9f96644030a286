import DLCore
import Testing

/// Builds a small graph with random parameters and inputs, and checks its gradients.
///
/// The scalar checked is `Σ y ⊙ W` with W random (fed as an input), so every element of
/// `y` carries a different weight: a wrong index in a backward kernel cannot hide behind
/// a gradient of all ones.
final class Harness {
    let graph = Graph()
    var rng = RandomSource(seed: 20261122)
    let rows: Int
    private var initial: [(Int, [Double])] = []
    private var feeds: [NodeID: Tensor<Double>] = [:]

    init(rows: Int = 3) { self.rows = rows }

    func randoms(_ count: Int, positive: Bool = false) -> [Double] {
        (0..<count).map { _ in positive ? 0.5 + 1.5 * rng.uniform() : rng.normal() }
    }

    /// A trainable parameter filled with N(0, 1) values, or U(0.5, 2) when `positive`.
    func parameter(_ name: String, _ shape: [Int], positive: Bool = false, trainable: Bool = true) throws -> NodeID {
        let id = try graph.parameter(name, shape: shape, trainable: trainable)
        initial.append((graph.parameters.count - 1, randoms(shape.reduce(1, *), positive: positive)))
        return id
    }

    /// An input fed with random values; `Shape.batch` in `shape` becomes `rows`.
    func input(_ name: String, _ shape: [Int], positive: Bool = false, requiresGrad: Bool = false) throws -> NodeID {
        let id = try graph.input(name, shape: shape, requiresGrad: requiresGrad)
        let concrete = shape.map { $0 == Shape.batch ? rows : $0 }
        feeds[id] = try Tensor(shape: concrete, scalars: randoms(concrete.reduce(1, *), positive: positive))
        return id
    }

    /// An input holding whole-number indices below `limit`.
    func indices(_ name: String, _ shape: [Int], below limit: Int) throws -> NodeID {
        let id = try graph.input(name, shape: shape)
        let concrete = shape.map { $0 == Shape.batch ? rows : $0 }
        feeds[id] = try Tensor(shape: concrete, scalars: (0..<concrete.reduce(1, *)).map { _ in Double(Int(rng.next() % UInt64(limit))) })
        return id
    }

    func store() throws -> ParameterStore<Double> {
        let store = ParameterStore<Double>(for: graph)
        for (index, values) in initial {
            try store.set(graph.parameters[index], to: Tensor(shape: graph.parameters[index].shape, scalars: values))
        }
        return store
    }

    func executor() throws -> Executor<Double> {
        let executor = try Executor(graph: graph, parameters: try store(), batchCapacity: rows)
        for (id, tensor) in feeds { try executor.setInput(id, tensor) }
        return executor
    }

    var inputs: [NodeID: Tensor<Double>] { feeds }

    /// `Σ y ⊙ W` with random W of y's shape.
    func weightedSum(_ y: NodeID) throws -> NodeID {
        let weights = try input("weights of \(y)", graph.shape(y).dims)
        return try graph.sum(try graph.mul(y, weights))
    }

    /// Gradient-checks `Σ y ⊙ W` and expects every parameter and input to pass; then checks
    /// forward mode against reverse mode on the same loss: for a random direction v over
    /// parameters and differentiable inputs, the JVP `∇L · v` equals the reverse gradient dotted with v.
    func expectGradientsMatch(_ y: NodeID, _ comment: Comment? = nil, training: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let loss = try weightedSum(y)
        let reverse = try executor()
        reverse.training = training
        let reports = GradientCheck.check(reverse, loss: loss)
        #expect(!reports.isEmpty, "nothing was checked", sourceLocation: sourceLocation)
        for report in reports {
            #expect(report.passed, "\(comment.map { "\($0): " } ?? "")\(report)", sourceLocation: sourceLocation)
        }

        reverse.holdMasks = true
        reverse.forward()
        reverse.backward(from: loss)
        var v = randoms(graph.parameterCount)
        for spec in graph.parameters where !spec.trainable {
            for k in spec.offset..<(spec.offset + spec.count) { v[k] = 0 }  // frozen: no gradient to compare
        }
        var expected = zip(reverse.parameters.gradients, v).reduce(0) { $0 + $1.0 * $1.1 }
        var inputTangents: [NodeID: Tensor<Double>] = [:]
        for (id, tensor) in feeds where graph[id].requiresGrad {
            let tangent = try Tensor(shape: tensor.shape, scalars: randoms(tensor.count))
            inputTangents[id] = tangent
            expected += zip(reverse.gradient(of: id)!.scalars, tangent.scalars).reduce(0) { $0 + $1.0 * $1.1 }
        }
        let dual = try ForwardMode.dualExecutor(graph: graph, parameters: reverse.parameters, direction: v, inputs: feeds,
                                                inputTangents: inputTangents, batchCapacity: rows)
        dual.training = training
        // Both executors start from the same default RandomSource, so the dual run's first
        // forward draws the dropout masks the reverse run drew and held.
        dual.forward()
        let forward = dual.scalar(loss).tangent
        #expect(Swift.abs(forward - expected) <= 1e-10 * Swift.max(1, Swift.abs(expected)),
                "\(comment.map { "\($0): " } ?? "")forward mode \(forward) vs reverse mode \(expected)", sourceLocation: sourceLocation)
    }
}
