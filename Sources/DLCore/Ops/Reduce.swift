// Reductions: sum, mean, max, min over one axis or over everything.
//
// The input is viewed as (outer, d, inner) around the reduced axis:
//   y[o, i] = reduce_j x[o, j, i]          x (outer, d, inner) -> y (outer, inner)
//   sum:  dx[o, j, i] += G[o, i]           mean: the same divided by d
//   max/min: G goes to the first j that attains y[o, i] (the gradient router).

public enum ReduceOp: String, Sendable, CaseIterable {
    case sum, mean, max, min
}

extension Graph {
    public func sum(_ x: NodeID, axis: Int? = nil, keepDims: Bool = false) throws -> NodeID { try reduce(.sum, x, axis: axis, keepDims: keepDims) }
    public func mean(_ x: NodeID, axis: Int? = nil, keepDims: Bool = false) throws -> NodeID { try reduce(.mean, x, axis: axis, keepDims: keepDims) }
    public func max(_ x: NodeID, axis: Int? = nil, keepDims: Bool = false) throws -> NodeID { try reduce(.max, x, axis: axis, keepDims: keepDims) }
    public func min(_ x: NodeID, axis: Int? = nil, keepDims: Bool = false) throws -> NodeID { try reduce(.min, x, axis: axis, keepDims: keepDims) }

    /// Reduces over `axis` (negative counts from the end), or over all elements when nil.
    public func reduce(_ op: ReduceOp, _ x: NodeID, axis: Int?, keepDims: Bool = false) throws -> NodeID {
        try checkNode(op.rawValue, x)
        let s = shape(x)
        guard let axis else {
            return append(.reduce(op, x, axis: nil), Shape(keepDims ? Array(repeating: 1, count: s.rank) : []))
        }
        let resolved = axis < 0 ? axis + s.rank : axis
        guard resolved >= 0 && resolved < s.rank else {
            throw ShapeError(op.rawValue, "axis \(axis) is out of range for shape \(s) of rank \(s.rank)")
        }
        var dims = s.dims
        if keepDims { dims[resolved] = 1 } else { dims.remove(at: resolved) }
        return append(.reduce(op, x, axis: resolved), Shape(dims))
    }
}

extension Executor {
    /// (outer, d, inner) of `x` around `axis`; the whole tensor as (1, count, 1) when nil.
    @inline(__always)
    private func reduceGeometry(_ x: NodeID, _ axis: Int?) -> (outer: Int, d: Int, inner: Int) {
        let s = shape(x)
        guard let axis else { return (1, count(x), 1) }
        return (s.product(0..<axis, rows: rows), s.size(axis, rows: rows), s.product((axis + 1)..<s.rank, rows: rows))
    }

    // x (outer, d, inner) -> y (outer, inner)
    func reduceForward(_ op: ReduceOp, _ x: NodeID, _ axis: Int?, _ out: NodeID) {
        let (outer, d, inner) = reduceGeometry(x, axis)
        let xs = value[x.index], ys = value[out.index]
        for o in 0..<outer {
            let base = o * d * inner
            for i in 0..<inner {
                var acc = xs[base + i]
                switch op {
                case .sum, .mean: for j in 1..<Swift.max(d, 1) { acc += xs[base + j * inner + i] }
                case .max: for j in 1..<Swift.max(d, 1) where xs[base + j * inner + i] > acc { acc = xs[base + j * inner + i] }
                case .min: for j in 1..<Swift.max(d, 1) where xs[base + j * inner + i] < acc { acc = xs[base + j * inner + i] }
                }
                ys[o * inner + i] = op == .mean ? acc / T(Double(d)) : acc
            }
        }
    }

    // G (outer, inner) -> dx (outer, d, inner)
    func reduceBackward(_ op: ReduceOp, _ x: NodeID, _ axis: Int?, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let (outer, d, inner) = reduceGeometry(x, axis)
        let xs = value[x.index], ys = value[out.index], g = grad[out.index]!
        let scale: T = op == .mean ? 1 / T(Double(d)) : 1
        for o in 0..<outer {
            let base = o * d * inner
            for i in 0..<inner {
                let gi = g[o * inner + i]
                switch op {
                case .sum, .mean:
                    for j in 0..<d { dx[base + j * inner + i] += gi * scale }
                case .max, .min:
                    let target = ys[o * inner + i]
                    for j in 0..<d where xs[base + j * inner + i] == target {
                        dx[base + j * inner + i] += gi
                        break
                    }
                }
            }
        }
    }
}
