import DLCore
import Testing

@Suite struct BatchNormAndDropoutTests {
    func batchNormGraph(_ h: Harness, columns: Int = 4) throws -> NodeID {
        let x = try h.input("x", [Shape.batch, columns], requiresGrad: true)
        let gamma = try h.parameter("gamma", [columns]), beta = try h.parameter("beta", [columns])
        let mean = try h.parameter("mean", [columns], trainable: false)
        let variance = try h.parameter("variance", [columns], positive: true, trainable: false)
        return try h.graph.batchNorm(x, scale: gamma, shift: beta, runningMean: mean, runningVariance: variance)
    }

    @Test func batchNormGradientsInTrainingMode() throws {
        let h = Harness(rows: 6)
        try h.expectGradientsMatch(try batchNormGraph(h), "training")
    }

    @Test func batchNormGradientsInEvaluationMode() throws {
        let h = Harness(rows: 5)
        try h.expectGradientsMatch(try batchNormGraph(h), "evaluation", training: false)
    }

    /// Hand-worked: the column (1, 2, 3, 6) has mean 3 and variance 3.5, so x̂ = (x − 3)/√3.5;
    /// with γ = 2, β = 1 the output is 2 x̂ + 1. The running mean after one step with
    /// momentum 0.9 from 0 is 0.3; the running variance from 1 is 0.9 + 0.1 · 3.5 · 4/3.
    @Test func batchNormHandWorked() throws {
        let g = Graph()
        let x = try g.input("x", shape: [Shape.batch, 1])
        let gamma = try g.parameter("gamma", shape: [1]), beta = try g.parameter("beta", shape: [1])
        let mean = try g.parameter("mean", shape: [1], trainable: false), variance = try g.parameter("variance", shape: [1], trainable: false)
        let y = try g.batchNorm(x, scale: gamma, shift: beta, runningMean: mean, runningVariance: variance, momentum: 0.9, epsilon: 0)
        let store = ParameterStore<Double>(for: g)
        store.values[0] = 2; store.values[1] = 1; store.values[2] = 0; store.values[3] = 1
        let e = try Executor(graph: g, parameters: store, batchCapacity: 4)
        try e.setInput(x, Tensor(shape: [4, 1], scalars: [1, 2, 3, 6]))
        e.forward()
        let expected = [1.0, 2, 3, 6].map { 2 * ($0 - 3) / 3.5.squareRoot() + 1 }
        for (a, b) in zip(e.value(of: y).scalars, expected) { #expect(Swift.abs(a - b) < 1e-12) }
        let runningVariance: Double = 0.9 + 0.1 * 3.5 * 4.0 / 3.0
        #expect(Swift.abs(store.values[2] - 0.3) < 1e-12)
        #expect(Swift.abs(store.values[3] - runningVariance) < 1e-12)

        e.training = false
        e.forward()
        let inEvaluation = e.value(of: y).scalars[0]
        let expectedInEvaluation: Double = 2 * 0.7 / runningVariance.squareRoot() + 1
        #expect(Swift.abs(inEvaluation - expectedInEvaluation) < 1e-12)
        #expect(Swift.abs(store.values[2] - 0.3) < 1e-12, "evaluation must not move the running statistics")
    }

    @Test func dropoutGradientsWithHeldMasks() throws {
        let h = Harness(rows: 6)
        let x = try h.input("x", [Shape.batch, 8], requiresGrad: true)
        let w = try h.parameter("w", [8, 3])
        try h.expectGradientsMatch(try h.graph.matmul(try h.graph.dropout(x, rate: 0.3), w))
    }

    /// Inverted dropout keeps about 1 − p of the elements, scaled by 1/(1 − p), so the mean
    /// is preserved; evaluation mode is the identity; new masks are drawn each pass.
    @Test func dropoutStatisticsAndEvaluationIdentity() throws {
        let g = Graph()
        let x = try g.input("x", shape: [Shape.batch, 1000])
        let y = try g.dropout(x, rate: 0.25)
        let e = try Executor<Float>(graph: g, parameters: ParameterStore(for: g), batchCapacity: 20)
        try e.setInput(x, Tensor(shape: [20, 1000], repeating: 1))
        e.forward()
        let first = e.value(of: y).scalars
        let kept = first.filter { $0 != 0 }
        #expect(Set(kept) == [Float(1 / 0.75)])
        #expect(Swift.abs(Double(kept.count) / 20000 - 0.75) < 0.01)
        e.forward()
        #expect(e.value(of: y).scalars != first)
        e.holdMasks = true
        let held = e.value(of: y).scalars
        e.forward()
        #expect(e.value(of: y).scalars == held)
        e.training = false
        e.forward()
        #expect(e.value(of: y).scalars.allSatisfy { $0 == 1 })
    }
}
