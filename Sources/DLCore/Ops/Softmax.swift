// Softmax and log-softmax over the last axis, max-subtracted so exp never overflows.
//
//   softmax     x (R, C) -> y (R, C):  y = e^(x - m) / Σ e^(x - m),  m = max_j x
//               dx = y ⊙ (G - Σ_j G_j y_j)
//   logSoftmax  x (R, C) -> y (R, C):  y = x - m - log Σ e^(x - m)
//               dx = G - softmax(x) Σ_j G_j,  with softmax(x) = e^y

extension Graph {
    public func softmax(_ x: NodeID) throws -> NodeID {
        try checkNode("softmax", x)
        guard shape(x).rank >= 1, shape(x).dims.last != Shape.batch else {
            throw ShapeError("softmax", "needs a last axis of classes, got \(shape(x))")
        }
        return append(.softmax(x), shape(x))
    }

    public func logSoftmax(_ x: NodeID) throws -> NodeID {
        try checkNode("logSoftmax", x)
        guard shape(x).rank >= 1, shape(x).dims.last != Shape.batch else {
            throw ShapeError("logSoftmax", "needs a last axis of classes, got \(shape(x))")
        }
        return append(.logSoftmax(x), shape(x))
    }
}

extension Executor {
    @inline(__always)
    private func rowsAndClasses(_ x: NodeID) -> (Int, Int) {
        let c = shape(x).dims.last!
        return (count(x) / c, c)
    }

    /// The row maximum m and log Σ e^(x - m) of one row of `c` scalars.
    @inline(__always)
    private static func logSumExpOfRow(_ x: UnsafeMutablePointer<T>, _ c: Int) -> (max: T, logSum: T) {
        var m = x[0]
        for j in 1..<Swift.max(c, 1) where x[j] > m { m = x[j] }
        var s: T = 0
        for j in 0..<c { s += T.exp(x[j] - m) }
        return (m, T.log(s))
    }

    func softmaxForward(_ x: NodeID, _ out: NodeID) {
        let (r, c) = rowsAndClasses(x)
        let xs = value[x.index], ys = value[out.index]
        for i in 0..<r {
            let (m, logSum) = Self.logSumExpOfRow(xs + i * c, c)
            for j in 0..<c { ys[i * c + j] = T.exp(xs[i * c + j] - m - logSum) }
        }
    }

    func softmaxBackward(_ x: NodeID, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let (r, c) = rowsAndClasses(x)
        let ys = value[out.index], g = grad[out.index]!
        for i in 0..<r {
            var dot: T = 0
            for j in 0..<c { dot += g[i * c + j] * ys[i * c + j] }
            for j in 0..<c { dx[i * c + j] += ys[i * c + j] * (g[i * c + j] - dot) }
        }
    }

    func logSoftmaxForward(_ x: NodeID, _ out: NodeID) {
        let (r, c) = rowsAndClasses(x)
        let xs = value[x.index], ys = value[out.index]
        for i in 0..<r {
            let (m, logSum) = Self.logSumExpOfRow(xs + i * c, c)
            for j in 0..<c { ys[i * c + j] = xs[i * c + j] - m - logSum }
        }
    }

    func logSoftmaxBackward(_ x: NodeID, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let (r, c) = rowsAndClasses(x)
        let ys = value[out.index], g = grad[out.index]!
        for i in 0..<r {
            var total: T = 0
            for j in 0..<c { total += g[i * c + j] }
            for j in 0..<c { dx[i * c + j] += g[i * c + j] - T.exp(ys[i * c + j]) * total }
        }
    }
}
