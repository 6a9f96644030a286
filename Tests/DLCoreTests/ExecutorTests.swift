import DLCore
import Testing

@Suite struct ExecutorTests {
    /// A graph planned for 8 rows runs a 3-row partial batch: same numbers as a graph
    /// planned for exactly 3 rows, no replanning.
    @Test func partialBatchReusesThePlan() throws {
        let h = Harness(rows: 3)
        let g = h.graph
        let x = try h.input("x", [Shape.batch, 4])
        let w = try h.parameter("w", [4, 2])
        let loss = try g.mean(try g.unary(.tanh, try g.matmul(x, w)))
        let exact = try h.executor()
        exact.forward()
        exact.backward(from: loss)

        let planned = try Executor(graph: g, parameters: try h.store(), batchCapacity: 8)
        try planned.setInput(x, h.inputs[x]!)
        #expect(planned.rows == 3)
        planned.forward()
        planned.backward(from: loss)
        #expect(planned.scalar(loss) == exact.scalar(loss))
        #expect(Array(planned.parameters.gradients) == Array(exact.parameters.gradients))
    }

    /// An input bound to memory outside the executor reads it, through a reshape too, with
    /// the numbers of the same batch copied in; unbound, it reads its own window again.
    @Test func boundInputReadsTheCallersMemory() throws {
        let h = Harness(rows: 3)
        let g = h.graph
        let x = try h.input("x", [Shape.batch, 4])
        let w = try h.parameter("w", [4, 2])
        let flat = try g.reshape(try g.reshape(x, [Shape.batch, 2, 2]), [Shape.batch, 4])
        let loss = try g.mean(try g.unary(.tanh, try g.matmul(flat, w)))
        let copied = try h.executor()
        copied.forward()
        copied.backward(from: loss)

        let bound = try Executor(graph: g, parameters: try h.store(), batchCapacity: 3)
        var outside = h.inputs[x]!.scalars
        outside.withUnsafeMutableBufferPointer { window in
            bound.bind(x, to: window.baseAddress!)
            bound.forward()
            bound.backward(from: loss)
            #expect(bound.buffer(x).baseAddress == window.baseAddress)
        }
        #expect(bound.scalar(loss) == copied.scalar(loss))
        #expect(Array(bound.parameters.gradients) == Array(copied.parameters.gradients))
        bound.bind(x, to: nil)
        bound.forward()
        #expect(bound.scalar(loss) != copied.scalar(loss), "its own window holds zeros, not the batch")
    }

    /// An executor made for evaluation (`gradients: false`) computes the same forward pass
    /// as a training one and has no gradient windows, not even the parameters'.
    @Test func evaluationExecutorHasNoGradients() throws {
        let h = Harness(rows: 5)
        let g = h.graph
        let x = try h.input("x", [Shape.batch, 4])
        let w = try h.parameter("w", [4, 3]), b = try h.parameter("b", [3])
        let z = try g.unary(.relu, try g.add(try g.matmul(x, w), b))
        let training = try h.executor()
        training.forward()
        let evaluation = try Executor(graph: g, parameters: training.parameters, batchCapacity: 5, gradients: false)
        try evaluation.setInput(x, h.inputs[x]!)
        evaluation.forward()
        #expect(evaluation.value(of: z).scalars == training.value(of: z).scalars)
        #expect(!evaluation.computesGradients && training.computesGradients)
        #expect(evaluation.gradient(of: z) == nil && evaluation.gradient(of: w) == nil)
        #expect(training.gradient(of: w) != nil)
    }

    /// Float and Double executors of one graph agree to float precision.
    @Test func floatMatchesDouble() throws {
        let h = Harness(rows: 16)
        let g = h.graph
        let x = try h.input("x", [Shape.batch, 10])
        let w = try h.parameter("w", [10, 7]), b = try h.parameter("b", [7])
        let loss = try g.mean(try g.unary(.relu, try g.add(try g.matmul(x, w), b)))
        let double = try h.executor()
        double.forward()
        double.backward(from: loss)

        let store = ParameterStore<Float>(for: g)
        for k in 0..<g.parameterCount { store.values[k] = Float(double.parameters.values[k]) }
        let single = try Executor<Float>(graph: g, parameters: store, batchCapacity: 16)
        try single.setInput(x, h.inputs[x]!.converted())
        single.forward()
        single.backward(from: loss)
        #expect(Swift.abs(Double(single.scalar(loss)) - double.scalar(loss)) < 1e-5)
        for k in 0..<g.parameterCount {
            #expect(Swift.abs(Double(store.gradients[k]) - double.parameters.gradients[k]) < 1e-5)
        }
    }

    /// Without zeroing, parameter gradients accumulate across backward passes.
    @Test func gradientAccumulation() throws {
        let g = Graph()
        let w = try g.parameter("w", shape: [2])
        let loss = try g.sum(try g.mul(w, w))
        let store = ParameterStore<Double>(for: g)
        try store.set(g.parameters[0], to: Tensor(shape: [2], scalars: [1, -3]))
        let executor = try Executor(graph: g, parameters: store)
        executor.forward()
        executor.backward(from: loss)
        executor.backward(from: loss, zeroingParameterGradients: false)
        #expect(Array(store.gradients) == [4, -12])
        executor.backward(from: loss)
        #expect(Array(store.gradients) == [2, -6])
    }

    /// The features of the first layer never receive a gradient: nothing needs it.
    @Test func noGradientForPlainInputs() throws {
        let g = Graph()
        let x = try g.input("x", shape: [Shape.batch, 3])
        let w = try g.parameter("w", shape: [3, 1])
        _ = try g.sum(try g.matmul(x, w))
        #expect(!g[x].requiresGrad)
        let executor = try Executor<Float>(graph: g, parameters: ParameterStore(for: g), batchCapacity: 4)
        #expect(executor.gradient(of: x) == nil)
    }

    @Test func randomSourceIsReproducibleAndRestorable() {
        var a = RandomSource(seed: 7), b = RandomSource(seed: 7)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in b.next() })
        let saved = a.state
        let next = a.next()
        var restored = RandomSource(state: saved)
        #expect(restored.next() == next)
        var c = RandomSource(seed: 8)
        #expect(c.next() != RandomSource(seed: 7).state.0)
        var n = RandomSource(seed: 1)
        let draws = (0..<20000).map { _ in n.normal() }
        let mean = draws.reduce(0, +) / 20000, variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 20000
        #expect(Swift.abs(mean) < 0.03 && Swift.abs(variance - 1) < 0.05)
    }

    /// The bulk normal fill (chunked, transformed on several threads) gives bit for bit the
    /// numbers of `normal()` drawn one by one, rounded to the element type, and leaves the
    /// generator where they would: across a chunk boundary, in a partial last chunk, and
    /// below the size that goes parallel.
    @Test(arguments: [1, 100, 40_000, 70_001])
    func bulkNormalsMatchOneByOne(count: Int) {
        for threads in [1, 2, 3] {
            var one = RandomSource(seed: 11), bulk = RandomSource(seed: 11)
            let expected = (0..<count).map { _ in 0.05 * one.normal() }
            var doubles = [Double](repeating: .nan, count: count)
            doubles.withUnsafeMutableBufferPointer { bulk.fillNormal($0, scale: 0.05, threads: threads) }
            #expect(doubles == expected)
            #expect(bulk == one)
            var floats = [Float](repeating: .nan, count: count)
            var again = RandomSource(seed: 11)
            floats.withUnsafeMutableBufferPointer { again.fillNormal($0, scale: 0.05, threads: threads) }
            #expect(floats == expected.map { Float($0) })
        }
    }
}
