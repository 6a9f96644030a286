// Ops that move data without arithmetic: reshape, transpose, concat, slice.
//
//   reshape   x (...) -> y (...'), same elements; y aliases x's buffers, so it costs nothing
//             and its backward is already done by the time it would run.
//   transpose x (a, b) -> y (b, a);   dx[i, j] += G[j, i]
//   concat    x_k (outer, d_k, inner) -> y (outer, Σ d_k, inner);   dx_k += G's k-th block
//   slice     x (outer, d, inner) -> y (outer, count, inner) from `start`;   dx's block += G

extension Graph {
    /// The same elements under `newShape`. A batched node keeps the batch dimension first.
    public func reshape(_ x: NodeID, _ newShape: [Int]) throws -> NodeID {
        try checkNode("reshape", x)
        let s = shape(x), target = Shape(newShape)
        let batchOK = s.isBatched == target.isBatched
            && (!s.isBatched || (s.dims.first == Shape.batch && target.dims.first == Shape.batch))
        guard batchOK, !newShape.contains(where: { $0 < 0 && $0 != Shape.batch }),
              newShape.filter({ $0 == Shape.batch }).count <= 1,
              s.elementsPerBatchRow == target.elementsPerBatchRow else {
            throw ShapeError("reshape", "cannot reshape \(s) (\(s.elementsPerBatchRow) elements\(s.isBatched ? " per row" : "")) to \(target) (\(target.elementsPerBatchRow) elements\(target.isBatched ? " per row" : ""))")
        }
        return append(.reshape(x), target)
    }

    public func transpose(_ x: NodeID) throws -> NodeID {
        try checkNode("transpose", x)
        let s = shape(x)
        guard s.rank == 2 else { throw ShapeError("transpose", "expected a matrix (rank 2), got \(s)") }
        return append(.transpose(x), Shape([s.dims[1], s.dims[0]]))
    }

    /// Joins `parts` along `axis`; every other dimension must agree.
    public func concat(_ parts: [NodeID], axis: Int) throws -> NodeID {
        guard let first = parts.first else { throw ShapeError("concat", "needs at least one input") }
        for p in parts { try checkNode("concat", p) }
        let s0 = shape(first)
        let resolved = axis < 0 ? axis + s0.rank : axis
        guard resolved >= 0 && resolved < s0.rank else {
            throw ShapeError("concat", "axis \(axis) is out of range for shape \(s0)")
        }
        var total = 0
        for p in parts {
            let s = shape(p)
            var sameElsewhere = s.rank == s0.rank
            if sameElsewhere { for k in 0..<s.rank where k != resolved && s.dims[k] != s0.dims[k] { sameElsewhere = false } }
            guard sameElsewhere, s.dims[resolved] != Shape.batch else {
                throw ShapeError("concat", "cannot join \(s0) and \(s) along axis \(resolved): all other dimensions must match and the joined one must not be the batch")
            }
            total += s.dims[resolved]
        }
        var dims = s0.dims
        dims[resolved] = total
        return append(.concat(parts, axis: resolved), Shape(dims))
    }

    /// `count` entries of `axis` starting at `start`.
    public func slice(_ x: NodeID, axis: Int, start: Int, count: Int) throws -> NodeID {
        try checkNode("slice", x)
        let s = shape(x)
        let resolved = axis < 0 ? axis + s.rank : axis
        guard resolved >= 0 && resolved < s.rank, s.dims[resolved] != Shape.batch else {
            throw ShapeError("slice", "axis \(axis) of \(s) is out of range or the batch dimension")
        }
        guard start >= 0, count >= 1, start + count <= s.dims[resolved] else {
            throw ShapeError("slice", "range \(start)..<\(start + count) is outside 0..<\(s.dims[resolved]) on axis \(resolved) of \(s)")
        }
        var dims = s.dims
        dims[resolved] = count
        return append(.slice(x, axis: resolved, start: start), Shape(dims))
    }
}

extension Executor {
    // x (a, b) -> y (b, a)
    func transposeForward(_ x: NodeID, _ out: NodeID) {
        let s = shape(x), a = s.size(0, rows: rows), b = s.size(1, rows: rows)
        let xs = value[x.index], ys = value[out.index]
        for i in 0..<a { for j in 0..<b { ys[j * a + i] = xs[i * b + j] } }
    }

    func transposeBackward(_ x: NodeID, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let s = shape(x), a = s.size(0, rows: rows), b = s.size(1, rows: rows)
        let g = grad[out.index]!
        for i in 0..<a { for j in 0..<b { dx[i * b + j] += g[j * a + i] } }
    }

    /// (outer, inner) of a node around `axis`, for concat and slice.
    @inline(__always)
    private func blockGeometry(_ id: NodeID, _ axis: Int) -> (outer: Int, inner: Int) {
        let s = shape(id)
        return (s.product(0..<axis, rows: rows), s.product((axis + 1)..<s.rank, rows: rows))
    }

    // x_k (outer, d_k, inner) -> y (outer, Σ d_k, inner)
    func concatForward(_ parts: [NodeID], _ axis: Int, _ out: NodeID) {
        let (outer, inner) = blockGeometry(out, axis)
        let width = shape(out).dims[axis] * inner, ys = value[out.index]
        var offset = 0
        for p in parts {
            let block = shape(p).dims[axis] * inner, xs = value[p.index]
            for o in 0..<outer { (ys + o * width + offset).update(from: xs + o * block, count: block) }
            offset += block
        }
    }

    func concatBackward(_ parts: [NodeID], _ axis: Int, _ out: NodeID) {
        let (outer, inner) = blockGeometry(out, axis)
        let width = shape(out).dims[axis] * inner, g = grad[out.index]!
        var offset = 0
        for p in parts {
            let block = shape(p).dims[axis] * inner
            if let dx = grad[p.index] {
                for o in 0..<outer { for t in 0..<block { dx[o * block + t] += g[o * width + offset + t] } }
            }
            offset += block
        }
    }

    // x (outer, d, inner) -> y (outer, count, inner)
    func sliceForward(_ x: NodeID, _ axis: Int, _ start: Int, _ out: NodeID) {
        let (outer, inner) = blockGeometry(x, axis)
        let width = shape(x).dims[axis] * inner, block = shape(out).dims[axis] * inner
        let xs = value[x.index], ys = value[out.index]
        for o in 0..<outer { (ys + o * block).update(from: xs + o * width + start * inner, count: block) }
    }

    func sliceBackward(_ x: NodeID, _ axis: Int, _ start: Int, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let (outer, inner) = blockGeometry(x, axis)
        let width = shape(x).dims[axis] * inner, block = shape(out).dims[axis] * inner
        let g = grad[out.index]!
        for o in 0..<outer { for t in 0..<block { dx[o * width + start * inner + t] += g[o * block + t] } }
    }
}
