/// The dimensions of a node, row-major. One dimension may be the symbolic batch size `N`
/// (``Shape/batch``), fixed only when a step runs, so a graph planned once serves full
/// batches, the last partial batch and evaluation batches alike.
public struct Shape: Hashable, Sendable, CustomStringConvertible {
    /// The marker for the symbolic batch dimension.
    public static let batch = -1

    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }

    public var rank: Int { dims.count }
    public var isBatched: Bool { dims.contains(Shape.batch) }

    /// Elements per unit of batch size: the product of every concrete dimension.
    public var elementsPerBatchRow: Int { dims.reduce(1) { $1 == Shape.batch ? $0 : $0 * $1 } }

    /// The number of elements when the batch size is `rows`.
    @inlinable public func count(rows: Int) -> Int {
        var c = 1
        for d in dims { c *= d == Shape.batch ? rows : d }
        return c
    }

    /// The size of dimension `axis` when the batch size is `rows`.
    @inlinable public func size(_ axis: Int, rows: Int) -> Int {
        dims[axis] == Shape.batch ? rows : dims[axis]
    }

    /// Product of the sizes of dimensions in `range`, with the batch size `rows`.
    @inlinable public func product(_ range: Range<Int>, rows: Int) -> Int {
        var c = 1
        for axis in range { c *= size(axis, rows: rows) }
        return c
    }

    /// A dimension as the user thinks of it: `N` for the batch dimension.
    public static func name(_ dim: Int) -> String { dim == batch ? "N" : String(dim) }

    /// Written as the user thinks of it: `(N, 784)`, `()` for a scalar.
    public var description: String {
        "(" + dims.map(Shape.name).joined(separator: ", ") + ")"
    }
}

/// A shape mismatch found while building a graph or a tensor, before any kernel runs.
public struct ShapeError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let message: String

    public init(_ operation: String, _ message: String) {
        self.operation = operation
        self.message = message
    }

    public var description: String { "\(operation): \(message)" }
}
