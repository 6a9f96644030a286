import DLCore
import Foundation
import Testing

/// The seed lectures' worked examples, with their numbers.
@Suite struct LectureExamplesTests {
    /// Builds `f` over scalar parameters named after `values`, runs reverse mode, and
    /// returns the value, the gradient, and the gradient again from forward mode (one JVP
    /// per basis direction).
    func differentiate(_ values: [Double], _ f: (Graph, [NodeID]) throws -> NodeID) throws
        -> (value: Double, reverse: [Double], forward: [Double])
    {
        let graph = Graph()
        let xs = try values.indices.map { try graph.parameter("x\($0)", shape: []) }
        let output = try f(graph, xs)
        let store = ParameterStore<Double>(for: graph)
        for (k, v) in values.enumerated() { store.values[k] = v }
        let executor = try Executor(graph: graph, parameters: store)
        executor.forward()
        executor.backward(from: output)
        let forward = try values.indices.map { k -> Double in
            var basis = [Double](repeating: 0, count: values.count)
            basis[k] = 1
            return try ForwardMode.jvp(graph: graph, parameters: store, direction: basis, inputs: [:], output: output).tangent[0]
        }
        return (executor.scalar(output), Array(store.gradients), forward)
    }

    /// f(x1, x2) = ln(x1) + x1 x2 − sin(x2) at (2, 5): ∂f/∂x1 = 1/x1 + x2 = 5.5 and
    /// ∂f/∂x2 = x1 − cos(x2) = 1.716, in reverse mode and in forward mode.
    @Test func logProductSine() throws {
        let r = try differentiate([2, 5]) { g, x in
            try g.sub(try g.add(try g.log(x[0]), try g.mul(x[0], x[1])), try g.sin(x[1]))
        }
        #expect(Swift.abs(r.value - (log(2) + 10 - sin(5))) < 1e-12)
        #expect(Swift.abs(r.reverse[0] - 5.5) < 1e-12)
        #expect(Swift.abs(r.reverse[1] - (2 - cos(5))) < 1e-12)
        #expect(String(format: "%.3f", r.reverse[1]) == "1.716")
        #expect(r.forward == r.reverse)
    }

    /// f(x, y, z) = (x + y) z at (−2, 5, −4): the gradient is (−4, −4, 3).
    @Test func sumTimes() throws {
        let r = try differentiate([-2, 5, -4]) { g, x in try g.mul(try g.add(x[0], x[1]), x[2]) }
        #expect(r.value == -12)
        #expect(r.reverse == [-4, -4, 3])
        #expect(r.forward == r.reverse)
    }

    /// The sigmoid neuron 1 / (1 + exp(−(w0 x0 + w1 x1 + w2))) with w = (2, −3, −3) and
    /// x = (−1, −2): dw = (−0.2, −0.4, 0.2) and dx = (0.39, −0.59) to the lecture's digits,
    /// built from primitives (mul, add, neg, exp, add 1, reciprocal) as the lecture draws it.
    @Test func sigmoidNeuron() throws {
        let r = try differentiate([2, -3, -3, -1, -2]) { g, p in
            let (w0, w1, w2, x0, x1) = (p[0], p[1], p[2], p[3], p[4])
            let dot = try g.add(try g.add(try g.mul(w0, x0), try g.mul(w1, x1)), w2)
            let denominator = try g.add(try g.exp(try g.neg(dot)), g.constant(1))
            return try g.pow(denominator, -1)
        }
        // The lecture's figures: dw to one decimal, dx to two.
        #expect(r.reverse[0..<3].map { ($0 * 10).rounded() / 10 } == [-0.2, -0.4, 0.2])
        #expect(r.reverse[3..<5].map { ($0 * 100).rounded() / 100 } == [0.39, -0.59])
        // The exact values: σ'(1) = σ(1)(1 − σ(1)) times the other factor of each product.
        let s = 1 / (1 + exp(-1.0)), ds = s * (1 - s)
        let exact = [-1 * ds, -2 * ds, ds, 2 * ds, -3 * ds]
        for (a, b) in zip(r.reverse, exact) { #expect(Swift.abs(a - b) < 1e-12) }
        #expect(Swift.abs(r.value - s) < 1e-12)
        for (a, b) in zip(r.forward, r.reverse) { #expect(Swift.abs(a - b) < 1e-12) }
    }

    /// The same neuron through the fused sigmoid op: identical gradient.
    @Test func sigmoidNeuronFused() throws {
        let r = try differentiate([2, -3, -3, -1, -2]) { g, p in
            try g.unary(.sigmoid, try g.add(try g.add(try g.mul(p[0], p[3]), try g.mul(p[1], p[4])), p[2]))
        }
        let s = 1 / (1 + exp(-1.0)), ds = s * (1 - s)
        for (a, b) in zip(r.reverse, [-ds, -2 * ds, ds, 2 * ds, -3 * ds]) { #expect(Swift.abs(a - b) < 1e-12) }
    }
}
