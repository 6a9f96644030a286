import DLCore
import DLNN
import Testing

/// Float64 finite-difference checks through a whole network (features → layers → loss →
/// penalties) for every activation, initialiser, loss and layer feature.
@Suite struct NetworkGradientTests {
    static let rows = 6, inputs = 5

    /// Builds `spec` on random features and targets, checks every trainable parameter.
    func expectNetworkGradients(_ spec: ModelSpec, seed: UInt64 = 11, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let model = try Model(inputs: Self.inputs, spec: spec)
        var rng = RandomSource(seed: seed)
        let store: ParameterStore<Double> = try model.initialParameters(rng: &rng)
        let executor = try Executor(graph: model.graph, parameters: store, batchCapacity: Self.rows)
        executor.rng = RandomSource(seed: seed)
        try executor.setInput(model.features, Tensor(shape: [Self.rows, Self.inputs], scalars: (0..<(Self.rows * Self.inputs)).map { _ in rng.normal() }))
        let targetShape = model.graph.shape(model.target).dims.map { $0 == Shape.batch ? Self.rows : $0 }
        let count = targetShape.reduce(1, *)
        let targets: [Double]
        switch spec.loss.kind {
        case .hinge: targets = (0..<count).map { _ in Double(rng.next() % UInt64(model.outputUnits)) }
        case .crossEntropy:
            // Soft rows (as mixup makes them): positive, each summing to 1.
            let raw = (0..<count).map { _ in 0.1 + rng.uniform() }
            let c = model.outputUnits
            targets = raw.enumerated().map { i, v in v / raw[(i / c * c)..<(i / c * c + c)].reduce(0, +) }
        case .binaryCrossEntropy: targets = (0..<count).map { _ in Double(rng.next() % 2) }
        default: targets = (0..<count).map { _ in rng.normal() }
        }
        try executor.setInput(model.target, Tensor(shape: targetShape, scalars: targets))
        let reports = GradientCheck.check(executor, loss: model.objective)
        #expect(reports.count == model.graph.parameters.filter(\.trainable).count, sourceLocation: sourceLocation)
        for report in reports { #expect(report.passed, "\(report)", sourceLocation: sourceLocation) }
    }

    func mlp(_ hidden: LayerSpec, loss: Loss = .crossEntropy, outputs: Int = 3) -> ModelSpec {
        ModelSpec(layers: [hidden, LayerSpec(name: "out", units: outputs)], loss: LossSpec(loss))
    }

    @Test(arguments: Activation.allCases)
    func activation(_ activation: Activation) throws {
        var hidden = LayerSpec(name: "h", units: 4, activation: activation)
        if activation == .leakyRelu || activation == .elu { hidden.alpha = 0.3 }
        if activation == .maxout { hidden.pieces = 3 }
        try expectNetworkGradients(mlp(hidden))
    }

    static let initializers: [Initializer] = [.normal(std: 0.5), .uniform(limit: 0.7), .xavierUniform, .xavierNormal,
                                               .heUniform, .heNormal, .lecunNormal, .orthogonal, .zeros]

    @Test(arguments: initializers)
    func initializer(_ initializer: Initializer) throws {
        var hidden = LayerSpec(name: "h", units: 4, activation: .tanh)
        hidden.initializer = initializer
        hidden.biasInitializer = .constant(0.1)
        try expectNetworkGradients(mlp(hidden))
    }

    @Test(arguments: Loss.allCases)
    func loss(_ loss: Loss) throws {
        let outputs = switch loss {
        case .crossEntropy, .hinge: 3
        case .gaussianNLL: 2
        default: 1
        }
        try expectNetworkGradients(mlp(LayerSpec(name: "h", units: 4, activation: .tanh), loss: loss, outputs: outputs))
    }

    @Test func lossOptions() throws {
        var spec = mlp(LayerSpec(name: "h", units: 4, activation: .tanh))
        spec.loss.labelSmoothing = 0.1
        spec.loss.classWeights = [1, 2.5, 0.5]
        try expectNetworkGradients(spec)
        var weightedBinary = mlp(LayerSpec(name: "h", units: 4, activation: .tanh), loss: .binaryCrossEntropy, outputs: 1)
        weightedBinary.loss.classWeights = [0.6, 3]
        try expectNetworkGradients(weightedBinary)
        var huber = mlp(LayerSpec(name: "h", units: 4, activation: .tanh), loss: .huber, outputs: 1)
        huber.loss.huberDelta = 0.3  // some residuals on each side of δ
        try expectNetworkGradients(huber)
    }

    @Test func batchNormDropoutLowRank() throws {
        var bn = LayerSpec(name: "h", units: 4, activation: .relu)
        bn.batchNorm = .init(momentum: 0.8, epsilon: 1e-3)
        try expectNetworkGradients(mlp(bn))

        var drop = LayerSpec(name: "h", units: 6, activation: .tanh)
        drop.dropout = 0.4
        try expectNetworkGradients(mlp(drop))

        var lowRank = LayerSpec(name: "h", units: 6, activation: .tanh)
        lowRank.rank = 2
        try expectNetworkGradients(mlp(lowRank))
    }

    /// A residual DAG: `block` reads `stem`; `merge` reads both (added); the output reads
    /// `merge` and the raw input (concatenated).
    @Test(arguments: LayerSpec.Combine.allCases)
    func skipConnections(_ combine: LayerSpec.Combine) throws {
        var merge = LayerSpec(name: "merge", units: 4, activation: .tanh)
        merge.inputs = ["stem", "block"]
        merge.combine = combine
        var out = LayerSpec(name: "out", units: 3)
        out.inputs = ["merge", "input"]
        out.combine = .concat
        let spec = ModelSpec(layers: [LayerSpec(name: "stem", units: 4, activation: .relu),
                                      LayerSpec(name: "block", units: 4, activation: .tanh), merge, out],
                             loss: LossSpec(.crossEntropy))
        try expectNetworkGradients(spec)
    }

    @Test func penaltiesAndFrozenLayers() throws {
        var spec = mlp(LayerSpec(name: "h", units: 4, activation: .tanh))
        spec.l1 = 0.01
        spec.l2 = 0.05
        spec.layers[1].l2 = 0.2
        try expectNetworkGradients(spec)

        spec.layers[0].trainable = false
        let model = try Model(inputs: Self.inputs, spec: spec)
        #expect(model.graph.parameters.filter(\.trainable).map(\.name) == ["out/kernel", "out/bias"])
        try expectNetworkGradients(spec)
    }
}

/// Hand-worked values of the losses and of the penalty, on one or two rows.
@Suite struct LossValueTests {
    func lossValue(_ spec: LossSpec, outputs: [Double], columns: Int, targets: [Double], penalty: (Double, Double)? = nil) throws -> Double {
        let g = Graph()
        let z = try g.input("z", shape: [Shape.batch, columns])
        let y = try g.input("y", shape: spec.kind.targetShape(outputs: columns))
        let loss = try spec.build(on: g, outputs: z, target: y)
        let e = try Executor<Double>(graph: g, parameters: ParameterStore(for: g), batchCapacity: 2)
        let rows = outputs.count / columns
        try e.setInput(z, Tensor(shape: [rows, columns], scalars: outputs))
        try e.setInput(y, Tensor(shape: spec.kind.takesClassIndices ? [rows] : [rows, targets.count / rows], scalars: targets))
        e.forward()
        return e.scalar(loss)
    }

    func close(_ a: Double, _ b: Double) -> Bool { Swift.abs(a - b) < 1e-12 * Swift.max(1, Swift.abs(b)) }

    /// The lecture's SVM example: scores (3.2, 5.1, −1.7) for class 0 give
    /// max(0, 5.1 − 3.2 + 1) + max(0, −1.7 − 3.2 + 1) = 2.9.
    @Test func hingeLectureExample() throws {
        #expect(close(try lossValue(LossSpec(.hinge), outputs: [3.2, 5.1, -1.7], columns: 3, targets: [0]), 2.9))
    }

    /// Softmax cross-entropy of the same scores: −log(e^3.2 / Σ e^s).
    @Test func crossEntropyAndSmoothingAndWeights() throws {
        let s = [3.2, 5.1, -1.7], logSum = Double.log(s.map(Double.exp).reduce(0, +))
        let nll = logSum - 3.2
        #expect(close(try lossValue(LossSpec(.crossEntropy), outputs: s, columns: 3, targets: [1, 0, 0]), nll))
        // A soft target (mixup's) weighs each class's log-probability.
        #expect(close(try lossValue(LossSpec(.crossEntropy), outputs: s, columns: 3, targets: [0.25, 0.75, 0]), 0.25 * nll + 0.75 * (logSum - 5.1)))
        var smooth = LossSpec(.crossEntropy)
        smooth.labelSmoothing = 0.1
        let uniform = s.map { logSum - $0 }.reduce(0, +) / 3
        #expect(close(try lossValue(smooth, outputs: s, columns: 3, targets: [1, 0, 0]), 0.9 * nll + 0.1 * uniform))
        var weighted = LossSpec(.crossEntropy)
        weighted.classWeights = [2, 1, 1]
        let second = logSum - 5.1  // row 2: same scores, class 1
        #expect(close(try lossValue(weighted, outputs: s + s, columns: 3, targets: [1, 0, 0, 0, 1, 0]), (2 * nll + second) / 3))
    }

    @Test func regressionLosses() throws {
        // Residuals 0.5 and −2 against targets (1, 1).
        #expect(close(try lossValue(LossSpec(.mse), outputs: [1.5, -1], columns: 1, targets: [1, 1]), (0.25 + 4) / 2))
        #expect(close(try lossValue(LossSpec(.mae), outputs: [1.5, -1], columns: 1, targets: [1, 1]), 1.25))
        #expect(close(try lossValue(LossSpec(.huber), outputs: [1.5, -1], columns: 1, targets: [1, 1]), (0.125 + 1.5) / 2))
        // BCE from logit 0 is log 2 for either target.
        #expect(close(try lossValue(LossSpec(.binaryCrossEntropy), outputs: [0, 0], columns: 1, targets: [1, 0]), Double.log(2)))
        // Weighted (w₀ 1, w₁ 3): logit 2 for a positive row (log(1 + e⁻²)) and for a negative
        // one (log(1 + e²)) → (3 log(1 + e⁻²) + log(1 + e²)) / 4.
        var weighted = LossSpec(.binaryCrossEntropy)
        weighted.classWeights = [1, 3]
        #expect(close(try lossValue(weighted, outputs: [2, 2], columns: 1, targets: [1, 0]),
                      (3 * Double.log(1 + Double.exp(-2)) + Double.log(1 + Double.exp(2))) / 4))
        // Gaussian NLL with μ = 1, s such that softplus(s) + 1e-6 = 2: ½(log 2 + 1/2) against y = 2.
        let s = Double.log(Double.exp(2 - 1e-6) - 1)
        #expect(close(try lossValue(LossSpec(.gaussianNLL), outputs: [1, s], columns: 2, targets: [2]), 0.5 * (Double.log(2) + 0.5)))
    }
}
