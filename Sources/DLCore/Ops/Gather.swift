// Gathering by integer index (indices are stored as scalars holding whole numbers).
//
//   pick        x (R, C), idx (R) -> y (R):     y[r] = x[r, idx[r]];   dx[r, idx[r]] += G[r]
//               (the log-probability of each row's target class)
//   gatherRows  t (V, D), idx (R) -> y (R, D):  y[r] = t[idx[r]];      dt[idx[r]] += G[r]
//               (an embedding lookup; repeated indices accumulate)
//
// Index values are data: the data layer validates them against the declared classes before
// they reach a kernel; the preconditions here only keep a bad index from touching memory.

extension Graph {
    public func pick(_ x: NodeID, _ indices: NodeID) throws -> NodeID {
        try checkNode("pick", x, indices)
        let sx = shape(x), si = shape(indices)
        guard sx.rank == 2, si.rank == 1, si.dims[0] == sx.dims[0], sx.dims[1] != Shape.batch else {
            throw ShapeError("pick", "expected x (R, C) and indices (R), got x \(sx) and indices \(si)")
        }
        return append(.pick(x, indices: indices), Shape([sx.dims[0]]), requiresGrad: self[x].requiresGrad)
    }

    public func gatherRows(_ table: NodeID, _ indices: NodeID) throws -> NodeID {
        try checkNode("gatherRows", table, indices)
        let st = shape(table), si = shape(indices)
        guard st.rank == 2, si.rank == 1, st.dims[0] != Shape.batch, st.dims[1] != Shape.batch else {
            throw ShapeError("gatherRows", "expected a table (V, D) and indices (R), got table \(st) and indices \(si)")
        }
        return append(.gatherRows(table, indices: indices), Shape([si.dims[0], st.dims[1]]), requiresGrad: self[table].requiresGrad)
    }
}

extension Executor {
    @inline(__always)
    private func index(_ v: T, below limit: Int) -> Int {
        let k = Int(v.primal)
        precondition(k >= 0 && k < limit && Double(k) == v.primal, "index \(v) outside 0..<\(limit)")
        return k
    }

    // x (R, C), idx (R) -> y (R)
    func pickForward(_ x: NodeID, _ indices: NodeID, _ out: NodeID) {
        let r = shape(x).size(0, rows: rows), c = shape(x).dims[1]
        let xs = value[x.index], idx = value[indices.index], ys = value[out.index]
        for i in 0..<r { ys[i] = xs[i * c + index(idx[i], below: c)] }
    }

    func pickBackward(_ x: NodeID, _ indices: NodeID, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let r = shape(x).size(0, rows: rows), c = shape(x).dims[1]
        let idx = value[indices.index], g = grad[out.index]!
        for i in 0..<r { dx[i * c + index(idx[i], below: c)] += g[i] }
    }

    // t (V, D), idx (R) -> y (R, D)
    func gatherRowsForward(_ table: NodeID, _ indices: NodeID, _ out: NodeID) {
        let v = shape(table).dims[0], d = shape(table).dims[1], r = shape(indices).size(0, rows: rows)
        let ts = value[table.index], idx = value[indices.index], ys = value[out.index]
        for i in 0..<r { (ys + i * d).update(from: ts + index(idx[i], below: v) * d, count: d) }
    }

    func gatherRowsBackward(_ table: NodeID, _ indices: NodeID, _ out: NodeID) {
        guard let dt = grad[table.index] else { return }
        let v = shape(table).dims[0], d = shape(table).dims[1], r = shape(indices).size(0, rows: rows)
        let idx = value[indices.index], g = grad[out.index]!
        for i in 0..<r {
            let row = index(idx[i], below: v) * d
            for j in 0..<d { dt[row + j] += g[i * d + j] }
        }
    }
}
