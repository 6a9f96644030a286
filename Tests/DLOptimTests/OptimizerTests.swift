import Foundation
import DLCore
import DLOptim
import Testing

/// A store holding `values` with `gradients`.
func store(_ values: [Float], gradients: [Float]) -> ParameterStore<Float> {
    let s = ParameterStore<Float>(count: values.count)
    for i in values.indices { s.values[i] = values[i]; s.gradients[i] = gradients[i] }
    return s
}

/// Each update rule against numbers worked by hand from its formula.
@Suite struct OptimizerTests {

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

/// The rest of the family, each against its update rule worked by hand.
@Suite struct MoreOptimizerTests {

    /// G = 4, θ = 1 − 0.5·2/(2 + ε) = 0.5; then G = 4 + 1 = 5, θ = 0.5 − 0.5·1/√5.
    @Test func adagrad() {
        let s = store([1], gradients: [2])
        let opt = AdaGrad(parameterCount: 1)
        opt.step(s, learningRate: 0.5)
        #expect(Swift.abs(s.values[0] - 0.5) < 1e-6)
        s.gradients[0] = 1
        opt.step(s, learningRate: 0.5)
        #expect(Swift.abs(Double(s.values[0]) - (0.5 - 0.5 / 5.0.squareRoot())) < 1e-6)
    }

    /// E = 0.1·4 = 0.4, θ = 1 − 0.01·2/√0.4; then E = 0.9·0.4 + 0.1·1 = 0.46, θ −= 0.01·1/√0.46.
    @Test func rmsprop() {
        let s = store([1], gradients: [2])
        let opt = RMSProp(parameterCount: 1, decay: 0.9)
        opt.step(s, learningRate: 0.01)
        let first = 1 - 0.01 * 2 / 0.4.squareRoot()
        #expect(Swift.abs(Double(s.values[0]) - first) < 1e-6)
        s.gradients[0] = 1
        opt.step(s, learningRate: 0.01)
        #expect(Swift.abs(Double(s.values[0]) - (first - 0.01 / 0.46.squareRoot())) < 1e-6)
    }

    /// AdamW decays θ by lr·λ outside the moments; Adam with weight decay adds λθ to g.
    @Test func weightDecayCoupledAndDecoupled() {
        // Zero gradient: AdamW still shrinks θ by (1 − lr λ); Adam moves it by −lr·sign(λθ).
        let w = store([2], gradients: [0])
        Adam(parameterCount: 1, weightDecay: 0.1, decoupled: true).step(w, learningRate: 0.01)
        #expect(Swift.abs(Double(w.values[0]) - 2 * (1 - 0.001)) < 1e-6)
        let a = store([2], gradients: [0])
        Adam(parameterCount: 1, weightDecay: 0.1).step(a, learningRate: 0.01)
        #expect(Swift.abs(a.values[0] - 1.99) < 1e-6)
        let sgd = store([2], gradients: [1])
        SGD(parameterCount: 1, weightDecay: 0.5).step(sgd, learningRate: 0.1)
        let expected: Float = 2 - 0.1 * (1 + 0.5 * 2)  // g + λθ = 1 + 0.5·2
        #expect(Swift.abs(sgd.values[0] - expected) < 1e-6)
    }

    /// Frozen spans never move, not even by weight decay.
    @Test func onlyTrainableSpansMove() {
        let s = store([1, 1, 1, 1], gradients: [1, 1, 1, 1])
        Adam(parameterCount: 4, spans: [1..<3], weightDecay: 0.1, decoupled: true).step(s, learningRate: 0.1)
        #expect(s.values[0] == 1 && s.values[3] == 1 && s.values[1] < 1 && s.values[2] < 1)
    }

    /// L-BFGS on a quadratic f(θ) = ½ θᵀAθ − bᵀθ with A = diag(1, 10, 100): converges to A⁻¹b
    /// in a handful of iterations (gradient descent would need hundreds at this conditioning).
    @Test func lbfgsMinimisesAnIllConditionedQuadratic() {
        let a: [Double] = [1, 10, 100], b: [Double] = [1, 2, 3]
        let s = ParameterStore<Float>(count: 3)
        let opt = LBFGS(parameterCount: 3, history: 5)
        var f = 0.0
        for _ in 0..<20 {
            f = opt.iterate(s, learningRate: 0.01) {
                var value = 0.0
                for i in 0..<3 {
                    let x = Double(s.values[i])
                    value += 0.5 * a[i] * x * x - b[i] * x
                    s.gradients[i] = Float(a[i] * x - b[i])
                }
                return value
            }
        }
        for i in 0..<3 { #expect(Swift.abs(Double(s.values[i]) - b[i] / a[i]) < 1e-4) }
        #expect(Swift.abs(f - (-0.5 * (1 + 0.4 + 0.09))) < 1e-6)
    }
}

@Suite struct ScheduleTests {
    func rates(_ s: Schedule, base: Double = 1, epochs: Int) -> [Double] { (0..<epochs).map { s.rate(epoch: $0, base: base) } }
    func close(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { Swift.abs($0 - $1) < 1e-12 } }

    @Test func stepMultistepExponentialInverseTime() {
        var s = Schedule()
        #expect(rates(s, base: 0.3, epochs: 3) == [0.3, 0.3, 0.3])
        s.kind = .step
        s.stepSize = 2
        #expect(close(rates(s, epochs: 5), [1, 1, 0.5, 0.5, 0.25]))
        s.kind = .multistep
        s.milestones = [1, 3]
        s.gamma = 0.1
        #expect(close(rates(s, epochs: 4), [1, 0.1, 0.1, 0.01]))
        s.kind = .exponential
        s.decay = 0.5
        #expect(close(rates(s, epochs: 3), [1, Foundation.exp(-0.5), Foundation.exp(-1)]))
        s.kind = .inverseTime
        #expect(close(rates(s, epochs: 3), [1, 1 / 1.5, 1 / 2.0]))
    }

    @Test func cosineAndWarmup() {
        var s = Schedule()
        s.kind = .cosine
        s.epochs = 4
        s.minimumRate = 0.1
        #expect(close(rates(s, epochs: 5), [1, 0.1 + 0.45 * (1 + Foundation.cos(Double.pi / 4)), 0.55, 0.1 + 0.45 * (1 + Foundation.cos(3 * Double.pi / 4)), 0.1]))
        s.warmupEpochs = 2
        let warm = rates(s, epochs: 3)
        #expect(close(Array(warm.prefix(2)), [0.5, 1]) && warm[2] == 1)
    }

    /// SGDR: cycles of 2, 4 epochs (T₀ = 2, m = 2); each starts at lr₀ and the last epoch of a
    /// cycle is where a snapshot is kept.
    @Test func cosineRestarts() {
        var s = Schedule()
        s.kind = .cosineRestarts
        s.restartPeriod = 2
        s.restartMultiplier = 2
        let r = rates(s, epochs: 7)
        #expect(close(r, [1, 0.5, 1, 0.5 * (1 + Foundation.cos(Double.pi / 4)), 0.5, 0.5 * (1 + Foundation.cos(3 * Double.pi / 4)), 1]))
        #expect((0..<7).filter { s.endsCycle(epoch: $0) } == [1, 5])
    }

    @Test func oneCycle() {
        var s = Schedule()
        s.kind = .oneCycle
        s.epochs = 10
        s.maximumRate = 1
        s.warmupFraction = 0.3
        let r = rates(s, epochs: 10)
        #expect(Swift.abs(r[0] - 0.04) < 1e-12)
        #expect(Swift.abs(r[3] - 1) < 1e-12)
        #expect(r[9] < 0.1 && r[9] > 1e-4)
        #expect(zip(r[3...], r[4...]).allSatisfy { $0 >= $1 })
    }

    /// Plateau: two reductions by 0.5 after patience 1, never below the floor.
    @Test func plateau() {
        var s = Schedule()
        s.kind = .plateau
        s.factor = 0.5
        s.minimumRate = 0.3
        var state = PlateauState()
        for loss in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95] { state.observe(loss, minimize: true, patience: 1) }
        #expect(state.reductions == 2)
        #expect(s.rate(epoch: 6, base: 1, reductions: state.reductions) == 0.3)
        #expect(s.rate(epoch: 6, base: 1, reductions: 1) == 0.5)
    }
}

/// The vectorised, two-core Adam against a plain scalar loop of the paper's Algorithm 1, on a
/// vector long enough to be split between the threads (with a tail that is not a multiple of 16).
@Suite struct AdamKernelTests {
    @Test func matchesTheScalarAlgorithm() {
        let n = 200_003
        var rng = RandomSource(seed: 3)
        let s = ParameterStore<Float>(count: n)
        var theta = (0..<n).map { _ in Float(rng.normal()) }, m = [Double](repeating: 0, count: n), v = [Double](repeating: 0, count: n)
        for i in 0..<n { s.values[i] = theta[i] }
        let adam = Adam(parameterCount: n, weightDecay: 0.01, decoupled: true)
        for t in 1...3 {
            let g = (0..<n).map { _ in Float(rng.normal()) }
            for i in 0..<n { s.gradients[i] = g[i] }
            adam.step(s, learningRate: 0.01)
            for i in 0..<n {
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
                let mHat = m[i] / (1 - Foundation.pow(0.9, Double(t))), vHat = v[i] / (1 - Foundation.pow(0.999, Double(t)))
                theta[i] = Float(Double(theta[i]) * (1 - 0.01 * 0.01) - 0.01 * mHat / (vHat.squareRoot() + 1e-8))
            }
        }
        var worst: Float = 0
        for i in 0..<n { worst = Swift.max(worst, Swift.abs(s.values[i] - theta[i])) }
        #expect(worst < 2e-6, "largest difference \(worst)")
    }

    /// The slab cut into parameters' pieces at their own places (``SlabPiece``) or not cut at
    /// all: the same bits, and only the trainable spans move.
    @Test func piecesCutAnywhereGiveTheSameBits() {
        let n = 150_000
        let pieces = [SlabPiece(range: 0..<100_000, cut: 48_016), SlabPiece(range: 100_000..<110_000, cut: 110_000),
                      SlabPiece(range: 110_000..<150_000, cut: 131_072)]
        let cut = ParameterStore<Float>(count: n, pieces: pieces), whole = ParameterStore<Float>(count: n, pieces: [SlabPiece(range: 0..<n, cut: n)])
        var rng = RandomSource(seed: 5)
        for i in 0..<n { cut.values[i] = Float(rng.normal()); whole.values[i] = cut.values[i] }
        let spans = [0..<100_000, 110_000..<150_000]
        let a = Adam(parameterCount: n, spans: spans), b = Adam(parameterCount: n, spans: spans)
        for _ in 1...3 {
            for i in 0..<n { cut.gradients[i] = Float(rng.normal()); whole.gradients[i] = cut.gradients[i] }
            a.step(cut, learningRate: 0.01)
            b.step(whole, learningRate: 0.01)
        }
        #expect((0..<n).allSatisfy { cut.values[$0].bitPattern == whole.values[$0].bitPattern })
        var initial = RandomSource(seed: 5)
        let frozen = (0..<n).map { _ in Float(initial.normal()) }
        #expect((100_000..<110_000).allSatisfy { cut.values[$0] == frozen[$0] }, "a parameter outside the spans moved")
        #expect(cut.values[0] != frozen[0])
    }
}
