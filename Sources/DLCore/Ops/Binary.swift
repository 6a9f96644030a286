// Element-wise binary ops with broadcasting: add, sub, mul, div, max, min.
//
// The output is viewed as a matrix (R, C); each operand is addressed as
// `i * rowStride + j * columnStride`, which covers every broadcast supported:
//   same shape      (C, 1)      bias row (C) or (1, C)   (0, 1)
//   column (R, 1)   (1, 0)      scalar ()                 (0, 0)
// The backward kernel uses the same addressing with `+=`, which sums the gradient over
// the broadcast dimensions: a bias receives the column sums of G.
//
// max and min are the lectures' gradient routers: the whole gradient goes to the larger
// (smaller) operand, the left one on a tie.

public enum BinaryOp: String, Sendable, CaseIterable {
    case add, sub, mul, div, max, min
}

/// How each operand of a binary op is addressed in the output's (R, C) view.
public struct Broadcast: Sendable, Equatable {
    public struct Strides: Sendable, Equatable {
        public let row: Int, column: Int
    }
    /// C, the output's columns in the (R, C) view; R follows from the element count.
    public let columns: Int
    public let lhs: Strides
    public let rhs: Strides

    var isElementwise: Bool { lhs == rhs && lhs.column == 1 && lhs.row == columns }
}

extension Graph {
    public func add(_ a: NodeID, _ b: NodeID) throws -> NodeID { try binary(.add, a, b) }
    public func sub(_ a: NodeID, _ b: NodeID) throws -> NodeID { try binary(.sub, a, b) }
    public func mul(_ a: NodeID, _ b: NodeID) throws -> NodeID { try binary(.mul, a, b) }
    public func div(_ a: NodeID, _ b: NodeID) throws -> NodeID { try binary(.div, a, b) }
    public func maximum(_ a: NodeID, _ b: NodeID) throws -> NodeID { try binary(.max, a, b) }
    public func minimum(_ a: NodeID, _ b: NodeID) throws -> NodeID { try binary(.min, a, b) }

    public func binary(_ op: BinaryOp, _ a: NodeID, _ b: NodeID) throws -> NodeID {
        try checkNode(op.rawValue, a, b)
        let sa = shape(a), sb = shape(b)
        if sa == sb {
            let c = Swift.max(1, sa.dims.last.map { $0 == Shape.batch ? 1 : $0 } ?? 1)
            let full = Broadcast.Strides(row: c, column: 1)
            return append(.binary(op, a, b, Broadcast(columns: c, lhs: full, rhs: full)), sa)
        }
        // The larger operand fixes the result; the smaller one is broadcast over it.
        let full: (Int) -> Broadcast.Strides = { Broadcast.Strides(row: $0, column: 1) }
        if let (columns, strides) = Graph.broadcastStrides(large: sa, small: sb) {
            return append(.binary(op, a, b, Broadcast(columns: columns, lhs: full(columns), rhs: strides)), sa)
        }
        if let (columns, strides) = Graph.broadcastStrides(large: sb, small: sa) {
            return append(.binary(op, a, b, Broadcast(columns: columns, lhs: strides, rhs: full(columns))), sb)
        }
        throw ShapeError(op.rawValue, "cannot broadcast a \(sa) with b \(sb): shapes must be equal, or one must be a scalar, a row matching the other's trailing dimensions, or an (R, 1) column of an (R, C) matrix")
    }

    /// Columns C of the large operand's (R, C) view and the small operand's strides, or nil.
    static func broadcastStrides(large: Shape, small: Shape) -> (Int, Broadcast.Strides)? {
        if !small.isBatched && small.elementsPerBatchRow == 1 && small.rank <= large.rank {
            return (1, Broadcast.Strides(row: 0, column: 0))
        }
        let trimmed = Array(small.dims.drop { $0 == 1 })
        if !trimmed.contains(Shape.batch) && trimmed.count <= large.rank
            && Array(large.dims.suffix(trimmed.count)) == trimmed {
            return (trimmed.reduce(1, *), Broadcast.Strides(row: 0, column: 1))
        }
        if large.rank == 2 && small.rank == 2 && small.dims[0] == large.dims[0] && small.dims[1] == 1
            && large.dims[1] != Shape.batch {
            return (large.dims[1], Broadcast.Strides(row: 1, column: 0))
        }
        return nil
    }
}

extension Executor {
    // a, b broadcast to y (R, C)
    func binaryForward(_ op: BinaryOp, _ a: NodeID, _ b: NodeID, _ bc: Broadcast, _ out: NodeID) {
        switch op {
        case .add: binaryMap(a, b, bc, out) { $0 + $1 }
        case .sub: binaryMap(a, b, bc, out) { $0 - $1 }
        case .mul: binaryMap(a, b, bc, out) { $0 * $1 }
        case .div: binaryMap(a, b, bc, out) { $0 / $1 }
        case .max: binaryMap(a, b, bc, out) { $0 >= $1 ? $0 : $1 }
        case .min: binaryMap(a, b, bc, out) { $0 <= $1 ? $0 : $1 }
        }
    }

    // G (R, C) -> da += G * ∂y/∂a, db += G * ∂y/∂b, each reduced over its broadcast dimensions.
    // A fused bias add shares its gradient window with its product, which thus already holds G.
    func binaryBackward(_ op: BinaryOp, _ a: NodeID, _ b: NodeID, _ bc: Broadcast, _ out: NodeID) {
        if let da = grad[a.index], !windows.addIsFused[out.index] {
            switch op {
            case .add, .sub: binaryAccumulate(into: da, bc.lhs, a, b, bc, out) { g, _, _ in g }
            case .mul: binaryAccumulate(into: da, bc.lhs, a, b, bc, out) { g, _, y in g * y }
            case .div: binaryAccumulate(into: da, bc.lhs, a, b, bc, out) { g, _, y in g / y }
            case .max: binaryAccumulate(into: da, bc.lhs, a, b, bc, out) { g, x, y in x >= y ? g : 0 }
            case .min: binaryAccumulate(into: da, bc.lhs, a, b, bc, out) { g, x, y in x <= y ? g : 0 }
            }
        }
        if let db = grad[b.index] {
            switch op {
            case .add: binaryAccumulate(into: db, bc.rhs, a, b, bc, out) { g, _, _ in g }
            case .sub: binaryAccumulate(into: db, bc.rhs, a, b, bc, out) { g, _, _ in -g }
            case .mul: binaryAccumulate(into: db, bc.rhs, a, b, bc, out) { g, x, _ in g * x }
            case .div: binaryAccumulate(into: db, bc.rhs, a, b, bc, out) { g, x, y in -g * x / (y * y) }
            case .max: binaryAccumulate(into: db, bc.rhs, a, b, bc, out) { g, x, y in x >= y ? 0 : g }
            case .min: binaryAccumulate(into: db, bc.rhs, a, b, bc, out) { g, x, y in x <= y ? 0 : g }
            }
        }
    }

    @inline(__always)
    private func binaryMap(_ a: NodeID, _ b: NodeID, _ bc: Broadcast, _ out: NodeID, _ f: (T, T) -> T) {
        let x = value[a.index], y = value[b.index], z = value[out.index]
        let total = count(out)
        if bc.isElementwise {
            for t in 0..<total { z[t] = f(x[t], y[t]) }
            return
        }
        let cols = bc.columns, rowsOfView = total / cols
        if bc.lhs.row == cols && bc.lhs.column == 1 && bc.rhs.row == 0 && bc.rhs.column == 1 {
            // A row broadcast over a full matrix (the bias add): contiguous rows, vectorised.
            for i in 0..<rowsOfView {
                let zi = z + i * cols, xi = x + i * cols
                for j in 0..<cols { zi[j] = f(xi[j], y[j]) }
            }
            return
        }
        for i in 0..<rowsOfView {
            for j in 0..<cols {
                z[i * cols + j] = f(x[i * bc.lhs.row + j * bc.lhs.column], y[i * bc.rhs.row + j * bc.rhs.column])
            }
        }
    }

    /// `target[operand address] += f(G, a, b)` over the output's (R, C) view.
    @inline(__always)
    private func binaryAccumulate(
        into target: UnsafeMutablePointer<T>, _ strides: Broadcast.Strides, _ a: NodeID, _ b: NodeID,
        _ bc: Broadcast, _ out: NodeID, _ f: (T, T, T) -> T
    ) {
        let x = value[a.index], y = value[b.index], g = grad[out.index]!
        let total = count(out)
        if bc.isElementwise {
            for t in 0..<total { target[t] += f(g[t], x[t], y[t]) }
            return
        }
        let cols = bc.columns, rowsOfView = total / cols
        if bc.lhs.row == cols && bc.lhs.column == 1 && bc.rhs.row == 0 && bc.rhs.column == 1 {
            // The bias add's two gradients: rows into the full operand, column sums into the row.
            if strides.row == cols {
                for i in 0..<rowsOfView {
                    let ti = target + i * cols, gi = g + i * cols, xi = x + i * cols
                    for j in 0..<cols { ti[j] += f(gi[j], xi[j], y[j]) }
                }
            } else {
                for i in 0..<rowsOfView {
                    let gi = g + i * cols, xi = x + i * cols
                    for j in 0..<cols { target[j] += f(gi[j], xi[j], y[j]) }
                }
            }
            return
        }
        for i in 0..<rowsOfView {
            for j in 0..<cols {
                target[i * strides.row + j * strides.column] +=
                    f(g[i * cols + j], x[i * bc.lhs.row + j * bc.lhs.column], y[i * bc.rhs.row + j * bc.rhs.column])
            }
        }
    }
}
