import DLCore
import DLOptim
import Testing

/// Each update rule against numbers worked by hand from its formula.
@Suite struct OptimizerTests {
    func store(_ values: [Float], gradients: [Float]) -> ParameterStore<Float> {
        let s = ParameterStore<Float>(count: values.count)
        for i in values.indices { s.values[i] = values[i]; s.gradients[i] = gradients[i] }
        return s
    }

    @Test func plainSGD() {
        let s = store([1, -2], gradients: [0.5, -1])
        SGD(parameterCount: 2).step(s, learningRate: 0.1)
        #expect(Array(s.values) == [0.95, -1.9])
    }

    /// v1 = g = 1, θ1 = 1 − 0.1·1 = 0.9; v2 = 0.9·1 + 1 = 1.9, θ2 = 0.9 − 0.19 = 0.71.
    @Test func momentum() {
        let s = store([1], gradients: [1])
        let sgd = SGD(parameterCount: 1, momentum: 0.9)
        sgd.step(s, learningRate: 0.1)
        #expect(Swift.abs(s.values[0] - 0.9) < 1e-6)
        sgd.step(s, learningRate: 0.1)
        #expect(Swift.abs(s.values[0] - 0.71) < 1e-6)
    }

    /// Nesterov: v1 = 1, θ1 = 1 − 0.1(1 + 0.9) = 0.81; v2 = 1.9, θ2 = 0.81 − 0.1(1 + 1.71) = 0.539.
    @Test func nesterov() {
        let s = store([1], gradients: [1])
        let sgd = SGD(parameterCount: 1, momentum: 0.9, nesterov: true)
        sgd.step(s, learningRate: 0.1)
        #expect(Swift.abs(s.values[0] - 0.81) < 1e-6)
        sgd.step(s, learningRate: 0.1)
        #expect(Swift.abs(s.values[0] - 0.539) < 1e-6)
    }

    /// With bias correction the first Adam step moves each parameter by lr·sign(g)
    /// (up to ε): m̂ = g, v̂ = g². The second step, with g2 = −g1 = −2, is worked in doubles.
    @Test func adamWithBiasCorrection() {
        let s = store([1, 1], gradients: [2, -0.001])
        let adam = Adam(parameterCount: 2)
        adam.step(s, learningRate: 0.01)
        #expect(Swift.abs(s.values[0] - 0.99) < 1e-6)
        #expect(Swift.abs(s.values[1] - 1.01) < 1e-5)
        s.gradients[0] = -2
        adam.step(s, learningRate: 0.01)
        let m = 0.9 * 0.2 + 0.1 * -2.0, v = 0.999 * 0.004 + 0.001 * 4.0
        let mHat = m / (1 - 0.81), vHat = v / (1 - 0.999 * 0.999)
        let expected = 0.99 - 0.01 * mHat / (vHat.squareRoot() + 1e-8)
        #expect(Swift.abs(Double(s.values[0]) - expected) < 1e-6)
        #expect(adam.steps == 2)
        #expect(adam.state.map(\.name) == ["m", "v"])
    }
}
