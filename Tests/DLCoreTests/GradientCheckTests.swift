import Foundation
import DLCore
import Testing

/// One float64 finite-difference check per op family, on random (never zero) inputs,
/// relative error under 1e-6.
@Suite struct GradientCheckTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmul(transposeA: Bool, transposeB: Bool) throws {
        let h = Harness()
        let a = try h.parameter("a", transposeA ? [4, 3] : [3, 4])
        let b = try h.parameter("b", transposeB ? [5, 4] : [4, 5])
        try h.expectGradientsMatch(try h.graph.matmul(a, b, transposeA: transposeA, transposeB: transposeB))
    }

    @Test func matmulOfBatchedFeatures() throws {
        let h = Harness(rows: 6)
        let x = try h.input("x", [Shape.batch, 4], requiresGrad: true)
        let w = try h.parameter("w", [4, 3])
        try h.expectGradientsMatch(try h.graph.matmul(x, w))
    }

    /// Contraction over the batch: X^T G, the shape of a weight gradient.
    @Test func matmulContractingTheBatch() throws {
        let h = Harness(rows: 5)
        let x = try h.input("x", [Shape.batch, 3], requiresGrad: true)
        let y = try h.input("y", [Shape.batch, 2], requiresGrad: true)
        try h.expectGradientsMatch(try h.graph.matmul(x, y, transposeA: true))
    }

    static let broadcasts: [(String, [Int], [Int])] = [
        ("same shape", [Shape.batch, 4], [Shape.batch, 4]),
        ("bias row", [Shape.batch, 4], [4]),
        ("(1, C) row", [Shape.batch, 4], [1, 4]),
        ("column", [Shape.batch, 4], [Shape.batch, 1]),
        ("scalar", [Shape.batch, 4], []),
        ("broadcast on the left", [4], [Shape.batch, 4]),
        ("trailing dims of rank 3", [Shape.batch, 2, 3], [2, 3]),
    ]

    @Test(arguments: BinaryOp.allCases)
    func binary(op: BinaryOp) throws {
        for (label, left, right) in Self.broadcasts {
            let h = Harness(rows: 3)
            // Positive right operands keep div away from poles; max/min see distinct values.
            let a = left.contains(Shape.batch) ? try h.input("a", left, requiresGrad: true) : try h.parameter("a", left)
            let b = right.contains(Shape.batch) ? try h.input("b", right, positive: true, requiresGrad: true) : try h.parameter("b", right, positive: true)
            try h.expectGradientsMatch(try h.graph.binary(op, a, b), "\(op) \(label)")
        }
    }

    static let unaryOps: [UnaryOp] = [.neg, .exp, .log, .sqrt, .abs, .sin, .cos, .sigmoid, .tanh, .relu,
                                      .softplus, .selu, .gelu, .swish, .leakyRelu(alpha: 0.1), .elu(alpha: 1.3)]

    @Test(arguments: unaryOps)
    func unary(op: UnaryOp) throws {
        let h = Harness(rows: 4)
        let needsPositive = op == .log || op == .sqrt
        let x = try h.input("x", [Shape.batch, 5], positive: needsPositive, requiresGrad: true)
        try h.expectGradientsMatch(try h.graph.unary(op, x))
    }

    /// Large arguments: the stable forms must neither overflow nor lose the gradient.
    @Test(arguments: [UnaryOp.sigmoid, .softplus, .swish, .tanh])
    func unaryAtLargeArguments(op: UnaryOp) throws {
        let graph = Graph()
        let x = try graph.parameter("x", shape: [4])
        let loss = try graph.sum(try graph.unary(op, x))
        let store = ParameterStore<Double>(for: graph)
        try store.set(graph.parameters[0], to: Tensor(shape: [4], scalars: [-800, -30, 30, 800]))
        let executor = try Executor(graph: graph, parameters: store)
        executor.forward()
        executor.backward(from: loss)
        #expect(executor.scalar(loss).isFinite)
        #expect(store.gradients.allSatisfy { $0.isFinite })
    }

    @Test(arguments: [2.0, 3.0, 0.5, -1.0, 1.7])
    func power(exponent: Double) throws {
        let h = Harness()
        let x = try h.input("x", [Shape.batch, 4], positive: true, requiresGrad: true)
        try h.expectGradientsMatch(try h.graph.pow(x, exponent))
    }

    @Test(arguments: ReduceOp.allCases)
    func reduce(op: ReduceOp) throws {
        for axis in [nil, 0, 1, 2, -1] as [Int?] {
            for keepDims in [false, true] {
                let h = Harness(rows: 3)
                let x = try h.input("x", [Shape.batch, 4, 5], requiresGrad: true)
                try h.expectGradientsMatch(try h.graph.reduce(op, x, axis: axis, keepDims: keepDims), "\(op) axis \(String(describing: axis)) keepDims \(keepDims)")
            }
        }
    }

    @Test func reshapeAndTranspose() throws {
        let h = Harness(rows: 3)
        let x = try h.input("x", [Shape.batch, 6], requiresGrad: true)
        let w = try h.parameter("w", [3, 2])
        let r = try h.graph.reshape(x, [Shape.batch, 2, 3])
        let m = try h.graph.reshape(r, [Shape.batch, 6])
        let t = try h.graph.transpose(try h.graph.matmul(try h.graph.reshape(x, [Shape.batch, 6]), try h.graph.reshape(w, [6, 1])))
        // Both reshapes alias x; the gradient from both paths must add up.
        try h.expectGradientsMatch(try h.graph.add(try h.graph.sum(m, axis: 1, keepDims: true), try h.graph.transpose(t)))
    }

    @Test func concatAndSlice() throws {
        for axis in [0, 1] {
            let h = Harness()
            let a = try h.parameter("a", [3, 2]), b = try h.parameter("b", [3, 4])
            let c = try h.parameter("c", axis == 0 ? [2, 2] : [3, 1])
            let joined = axis == 0 ? try h.graph.concat([a, c], axis: 0) : try h.graph.concat([a, b, c], axis: 1)
            let part = try h.graph.slice(joined, axis: axis, start: 1, count: 2)
            try h.expectGradientsMatch(try h.graph.concat([part, try h.graph.slice(joined, axis: axis, start: 0, count: 1)], axis: axis), "axis \(axis)")
        }
        let h = Harness(rows: 4)
        let x = try h.input("x", [Shape.batch, 3], requiresGrad: true), y = try h.input("y", [Shape.batch, 2], requiresGrad: true)
        try h.expectGradientsMatch(try h.graph.slice(try h.graph.concat([x, y], axis: 1), axis: 1, start: 2, count: 3), "batched")
    }

    @Test func pickAndGatherRows() throws {
        let h = Harness(rows: 6)
        let x = try h.input("x", [Shape.batch, 5], requiresGrad: true)
        let labels = try h.indices("labels", [Shape.batch], below: 5)
        try h.expectGradientsMatch(try h.graph.pick(x, labels), "pick")

        let g = Harness(rows: 8)
        let table = try g.parameter("table", [4, 3])
        let ids = try g.indices("ids", [Shape.batch], below: 4)  // 8 draws from 4 rows: repeats accumulate
        try g.expectGradientsMatch(try g.graph.gatherRows(table, ids), "gatherRows")
    }

    @Test func softmaxFamily() throws {
        let h = Harness(rows: 4)
        let x = try h.input("x", [Shape.batch, 6], requiresGrad: true)
        try h.expectGradientsMatch(try h.graph.softmax(x), "softmax")
        let k = Harness(rows: 4)
        let z = try k.input("z", [Shape.batch, 6], requiresGrad: true)
        try k.expectGradientsMatch(try k.graph.logSoftmax(z), "logSoftmax")
    }

    /// A value read by several consumers gets the sum of their gradients.
    @Test func diamondGraph() throws {
        let h = Harness()
        let x = try h.parameter("x", [3, 3])
        let y = try h.graph.mul(x, x)
        let z = try h.graph.add(try h.graph.exp(x), try h.graph.matmul(y, x))
        try h.expectGradientsMatch(try h.graph.sub(z, x))
    }

    /// A two-layer MLP with softmax cross-entropy: the composite the trainer runs.
    @Test func mlpWithCrossEntropy() throws {
        let h = Harness(rows: 5)
        let x = try h.input("x", [Shape.batch, 4])
        let labels = try h.indices("labels", [Shape.batch], below: 3)
        let w1 = try h.parameter("w1", [4, 6]), b1 = try h.parameter("b1", [6])
        let w2 = try h.parameter("w2", [6, 3]), b2 = try h.parameter("b2", [3])
        let g = h.graph
        let hidden = try g.unary(.tanh, try g.add(try g.matmul(x, w1), b1))
        let logits = try g.add(try g.matmul(hidden, w2), b2)
        let loss = try g.neg(try g.mean(try g.pick(try g.logSoftmax(logits), labels)))
        for report in GradientCheck.check(try h.executor(), loss: loss) { #expect(report.passed, "\(report)") }
    }

    /// A dense layer's bias add is done by its product (one window, the bias as the product's
    /// starting value); its gradients pass the check whichever of input, kernel and bias
    /// takes gradients, and whether or not the product could be fused.
    @Test(arguments: [(true, true, true), (false, true, true), (false, false, true), (true, false, false)])
    func biasAddFusedIntoItsProduct(inputGrad: Bool, kernelTrainable: Bool, biasTrainable: Bool) throws {
        for fused in [true, false] {
            let h = Harness(rows: 4)
            let g = h.graph
            let x = try h.input("x", [Shape.batch, 5], requiresGrad: inputGrad)
            let w = try h.parameter("w", [5, 3], trainable: kernelTrainable)
            let product = try g.matmul(x, w)
            var bias = try h.parameter("b", [3], trainable: biasTrainable)
            // A bias computed after the product cannot be its starting value: no fusion.
            if !fused { bias = try g.mul(bias, g.constant(1)) }
            let z = try g.add(product, bias)
            try h.expectGradientsMatch(try g.unary(.tanh, z), "fused \(fused)")
            let e = try h.executor()
            e.forward()
            let sum = e.value(of: z).scalars, productValue = e.value(of: product).scalars
            #expect((sum == productValue) == fused, "the product's window holds the sum exactly when fused")
        }
    }

    /// A ReLU whose input nothing else reads runs in that input's windows; it does not when
    /// the input has a second consumer (a skip connection) or an op whose backward reads its
    /// own output (tanh). Gradients pass the check either way, over two layers.
    @Test func reluInPlaceWhereItsInputIsItsAlone() throws {
        for shared in [false, true] {
            let h = Harness(rows: 6)
            let g = h.graph
            let x = try h.input("x", [Shape.batch, 4], requiresGrad: true)
            let w1 = try h.parameter("w1", [4, 5]), b1 = try h.parameter("b1", [5])
            let z1 = try g.add(try g.matmul(x, w1), b1)
            let h1 = try g.unary(.relu, z1)
            let w2 = try h.parameter("w2", [5, 5])
            let z2 = try g.unary(.tanh, try g.matmul(shared ? try g.add(h1, z1) : h1, w2))
            let h2 = try g.unary(.relu, z2)
            try h.expectGradientsMatch(h2, "shared \(shared)")
            let e = try h.executor()
            e.forward()
            let pre1 = e.value(of: z1).scalars, pre2 = e.value(of: z2).scalars
            #expect((pre1 == e.value(of: h1).scalars) == !shared, "z1 holds relu(z1) exactly when in place")
            #expect(pre1.contains { $0 < 0 } == shared)
            #expect(pre2.contains { $0 < 0 }, "tanh's output is kept for its backward")
        }
    }

    /// The checker can fail: when the numeric slope differs from the autodiff derivative
    /// (here because a huge step makes the central difference of e^x read e^x sinh(h)/h),
    /// the report says so.
    @Test func checkerReportsDisagreement() throws {
        let graph = Graph()
        let x = try graph.parameter("x", shape: [2])
        let loss = try graph.sum(try graph.exp(x))
        let store = ParameterStore<Double>(for: graph)
        try store.set(graph.parameters[0], to: Tensor(shape: [2], scalars: [1.5, -0.5]))
        let executor = try Executor(graph: graph, parameters: store)
        #expect(GradientCheck.check(executor, loss: loss).allSatisfy { $0.passed })
        let coarse = GradientCheck.check(executor, loss: loss, step: 0.75)
        #expect(coarse.allSatisfy { !$0.passed })
        #expect(Swift.abs(coarse[0].maxRelativeError - (1 - 0.75 / sinh(0.75))) < 1e-9)
    }
}
