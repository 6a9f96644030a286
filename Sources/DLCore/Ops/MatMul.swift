// Matrix product through BLAS. Transposes are BLAS flags, never copies.
//
//   y = op(A) op(B)                      op(A) (m, k), op(B) (k, n) -> y (m, n)
//   d op(A) = G op(B)^T                  G (m, n)
//   d op(B) = op(A)^T G
//
// A product whose only consumer adds a bias row (a dense layer's z = xW + b) is fused with
// that add: both share one value window and one gradient window. The product starts from
// the bias copied into every row (beta 1), so the add computes nothing forward, and since
// the add's gradient with respect to the product is G itself, backward leaves it in place
// and only sums G's columns into the bias. That saves BLAS's zeroing pass, the add's pass
// and the gradient copy: three passes over each layer's activations per step.

extension Graph {
    /// `op(a) · op(b)` for rank-2 nodes, where `op` transposes when asked.
    public func matmul(_ a: NodeID, _ b: NodeID, transposeA: Bool = false, transposeB: Bool = false) throws -> NodeID {
        try checkNode("matmul", a, b)
        let sa = shape(a), sb = shape(b)
        guard sa.rank == 2, sb.rank == 2 else {
            throw ShapeError("matmul", "both operands must be matrices (rank 2), got a \(sa) and b \(sb)")
        }
        let (m, k) = transposeA ? (sa.dims[1], sa.dims[0]) : (sa.dims[0], sa.dims[1])
        let (k2, n) = transposeB ? (sb.dims[1], sb.dims[0]) : (sb.dims[0], sb.dims[1])
        guard k == k2 else {
            let da = transposeA ? "a^T" : "a", db = transposeB ? "b^T" : "b"
            throw ShapeError("matmul", "inner dimensions differ: \(da) of shape \(sa) times \(db) of shape \(sb); the columns of \(da) (\(Shape.name(k))) must equal the rows of \(db) (\(Shape.name(k2)))")
        }
        guard !(m == Shape.batch && n == Shape.batch) else {
            throw ShapeError("matmul", "the result of \(sa) times \(sb) would have the batch dimension twice")
        }
        return append(.matmul(a, b, transposeA: transposeA, transposeB: transposeB), Shape([m, n]))
    }
}

/// A matmul node, the add of a bias row that is its only consumer, and that bias.
struct BiasFusion {
    let product: NodeID, add: NodeID, bias: NodeID
}

extension Graph {
    /// Every product that can take its consumer's bias add over: the product has no other
    /// consumer, the add broadcasts a row of the product's width over it, and the bias is a
    /// parameter or computed before the product (the product reads it first).
    func biasFusions() -> [BiasFusion] {
        let consumers = consumerCounts()
        return nodes.indices.compactMap { i in
            guard case .binary(.add, let z, let bias, let bc) = nodes[i].op,
                  case .matmul = nodes[z.index].op, consumers[z.index] == 1,
                  nodes[z.index].shape == nodes[i].shape, let width = nodes[i].shape.dims.last, bc.columns == width,
                  bc.lhs == Broadcast.Strides(row: width, column: 1), bc.rhs == Broadcast.Strides(row: 0, column: 1)
            else { return nil }
            if case .parameter = nodes[bias.index].op {} else if bias.index > z.index { return nil }
            return BiasFusion(product: z, add: NodeID(i), bias: bias)
        }
    }
}

extension Executor {
    /// Sizes (m, k, n) of `op(A) op(B)` and the leading dimensions of A and B as stored.
    @inline(__always)
    private func matmulGeometry(_ a: NodeID, _ b: NodeID, _ ta: Bool, _ tb: Bool) -> (m: Int, k: Int, n: Int, lda: Int, ldb: Int) {
        let sa = shape(a), sb = shape(b)
        let a0 = sa.size(0, rows: rows), a1 = sa.size(1, rows: rows)
        let b0 = sb.size(0, rows: rows), b1 = sb.size(1, rows: rows)
        return (ta ? a1 : a0, ta ? a0 : a1, tb ? b0 : b1, a1, b1)
    }

    /// The products a matmul node runs: its forward product, then (with `gradients`) each
    /// gradient product it needs, in the order ``matmulBackward(_:_:_:_:_:)`` runs them.
    func matmulProducts(_ a: NodeID, _ b: NodeID, _ ta: Bool, _ tb: Bool, gradients: Bool) -> [ProductShape] {
        let g = matmulGeometry(a, b, ta, tb)
        var shapes = [ProductShape(transposeA: ta, transposeB: tb, m: g.m, n: g.n, k: g.k)]
        guard gradients else { return shapes }
        if grad[a.index] != nil {
            shapes.append(!ta ? ProductShape(transposeA: false, transposeB: !tb, m: g.m, n: g.k, k: g.n)
                              : ProductShape(transposeA: tb, transposeB: true, m: g.k, n: g.m, k: g.n))
        }
        if grad[b.index] != nil {
            shapes.append(!tb ? ProductShape(transposeA: !ta, transposeB: false, m: g.k, n: g.n, k: g.m)
                              : ProductShape(transposeA: true, transposeB: ta, m: g.n, n: g.k, k: g.m))
        }
        return shapes
    }

    /// The planned route of one product (nil: the rule's).
    @inline(__always)
    private func route(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int) -> ProductRoute? {
        productPlan.isEmpty ? nil : productPlan[ProductShape(transposeA: ta, transposeB: tb, m: m, n: n, k: k)]
    }

    // A (m, k) or (k, m), B (k, n) or (n, k) -> Y (m, n)
    // op(A) (m, k), op(B) (k, n) -> y (m, n), or y = bias row + op(A) op(B) when fused.
    func matmulForward(_ a: NodeID, _ b: NodeID, _ ta: Bool, _ tb: Bool, _ out: NodeID) {
        let g = matmulGeometry(a, b, ta, tb)
        let y = value[out.index]
        var beta: T = 0
        if let bias = windows.productBias[out.index] {
            let row = UnsafePointer(value[bias.index])
            for i in 0..<g.m { (y + i * g.n).update(from: row, count: g.n) }
            beta = 1
        }
        T.gemm(transposeA: ta, transposeB: tb, m: g.m, n: g.n, k: g.k, alpha: 1,
               a: value[a.index], lda: g.lda, b: value[b.index], ldb: g.ldb,
               beta: beta, c: y, ldc: g.n, route: route(ta, tb, g.m, g.n, g.k))
    }

    // G (m, n) -> dA += G op(B)^T (or its transpose), dB += op(A)^T G (or its transpose).
    // A gradient nobody needs (the features of the first layer) is never computed.
    func matmulBackward(_ a: NodeID, _ b: NodeID, _ ta: Bool, _ tb: Bool, _ out: NodeID) {
        let g = matmulGeometry(a, b, ta, tb)
        let dy = UnsafePointer(grad[out.index]!)
        let av = UnsafePointer(value[a.index]), bv = UnsafePointer(value[b.index])
        if let da = grad[a.index] {
            if !ta {  // dA (m, k) = G (m, n) · op(B)^T
                T.gemm(transposeA: false, transposeB: !tb, m: g.m, n: g.k, k: g.n, alpha: 1,
                       a: dy, lda: g.n, b: bv, ldb: g.ldb, beta: 1, c: da, ldc: g.lda, route: route(false, !tb, g.m, g.k, g.n))
            } else {  // dA (k, m) = op(B) · G^T
                T.gemm(transposeA: tb, transposeB: true, m: g.k, n: g.m, k: g.n, alpha: 1,
                       a: bv, lda: g.ldb, b: dy, ldb: g.n, beta: 1, c: da, ldc: g.lda, route: route(tb, true, g.k, g.m, g.n))
            }
        }
        if let db = grad[b.index] {
            if !tb {  // dB (k, n) = op(A)^T · G
                T.gemm(transposeA: !ta, transposeB: false, m: g.k, n: g.n, k: g.m, alpha: 1,
                       a: av, lda: g.lda, b: dy, ldb: g.n, beta: 1, c: db, ldc: g.ldb, route: route(!ta, false, g.k, g.n, g.m))
            } else {  // dB (n, k) = G^T · op(A)
                T.gemm(transposeA: true, transposeB: ta, m: g.n, n: g.k, k: g.m, alpha: 1,
                       a: dy, lda: g.n, b: av, ldb: g.lda, beta: 1, c: db, ldc: g.ldb, route: route(true, ta, g.n, g.k, g.m))
            }
        }
    }
}
