import DLCore
import Testing

/// Forward mode (dual numbers through the same kernels) against reverse mode.
@Suite struct ForwardModeTests {
    /// For random directions v (parameters) and u (outputs): u · (J v) = (Jᵀ u) · v.
    /// Covers every op family in one graph.
    @Test func jvpMatchesVjpOnEveryOpFamily() throws {
        let h = Harness(rows: 4)
        let g = h.graph
        let x = try h.input("x", [Shape.batch, 5])
        let labels = try h.indices("labels", [Shape.batch], below: 3)
        let w = try h.parameter("w", [5, 6]), b = try h.parameter("b", [6])
        let table = try h.parameter("table", [3, 6])
        var y = try g.add(try g.matmul(x, w), b)
        for op in [UnaryOp.tanh, .sigmoid, .softplus, .gelu, .swish, .elu(alpha: 1), .selu, .leakyRelu(alpha: 0.2), .sin] {
            y = try g.add(y, try g.mul(try g.unary(op, y), g.constant(0.3)))
        }
        y = try g.add(y, try g.gatherRows(table, labels))
        let positive = try g.add(try g.pow(y, 2), g.constant(0.5))
        let mixed = try g.concat([try g.sqrt(positive), try g.log(positive), try g.exp(try g.neg(positive))], axis: 1)
        let s = try g.softmax(try g.slice(mixed, axis: 1, start: 2, count: 9))
        let reduced = try g.add(try g.max(s, axis: 1, keepDims: true), try g.transpose(try g.mean(try g.transpose(mixed), axis: 0, keepDims: true)))
        let output = try g.concat([reduced, try g.reshape(try g.pick(try g.logSoftmax(s), labels), [Shape.batch, 1]),
                                   try g.div(try g.minimum(s, g.constant(0.12)), try g.abs(try g.slice(s, axis: 1, start: 0, count: 1)))], axis: 1)

        let executor = try h.executor()
        executor.forward()
        let outputCount = executor.value(of: output).count
        let u = h.randoms(outputCount), v = h.randoms(g.parameterCount)
        executor.backward(from: output, seed: u)
        let vjpDotV = zip(executor.parameters.gradients, v).reduce(0) { $0 + $1.0 * $1.1 }

        let (values, tangent) = try ForwardMode.jvp(graph: g, parameters: executor.parameters, direction: v,
                                                    inputs: h.inputs, output: output, batchCapacity: h.rows)
        // Same values as the Double run, up to summation order (Dual's gemm is a plain loop).
        for (a, b) in zip(values, executor.value(of: output).scalars) { #expect(Swift.abs(a - b) <= 1e-12 * Swift.max(1, Swift.abs(b))) }
        let uDotJv = zip(u, tangent).reduce(0) { $0 + $1.0 * $1.1 }
        #expect(Swift.abs(uDotJv - vjpDotV) <= 1e-10 * Swift.max(1, Swift.abs(vjpDotV)), "u·Jv \(uDotJv) vs Jᵀu·v \(vjpDotV)")
    }

    /// Linear regression with mean squared error has Hessian 2 XᵀX / n exactly;
    /// forward-over-reverse gives H v without forming H.
    @Test func hessianVectorProductOfLinearRegression() throws {
        let h = Harness(rows: 7)
        let g = h.graph
        let x = try h.input("x", [Shape.batch, 3])
        let target = try h.input("y", [Shape.batch, 1])
        let w = try h.parameter("w", [3, 1])
        let residual = try g.sub(try g.matmul(x, w), target)
        let loss = try g.mean(try g.mul(residual, residual))
        let v = h.randoms(3)
        let hv = try ForwardMode.hvp(graph: g, parameters: try h.store(), direction: v, inputs: h.inputs, loss: loss, batchCapacity: h.rows)

        let features = h.inputs[x]!
        for i in 0..<3 {
            var expected = 0.0
            for j in 0..<3 {
                var xtx = 0.0
                for r in 0..<h.rows { xtx += features[r, i] * features[r, j] }
                expected += 2 * xtx / Double(h.rows) * v[j]
            }
            #expect(Swift.abs(hv[i] - expected) < 1e-12 * Swift.max(1, Swift.abs(expected)))
        }
    }
}
