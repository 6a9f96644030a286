/// A dense row-major array with a concrete shape: what goes into a graph (constants,
/// initial parameters, a batch of inputs) and what comes out of it.
///
/// Tensors are values for moving data across the core's boundary; the training step
/// itself works on the executor's planned buffers and never creates one.
public struct Tensor<T: Scalar>: Equatable, CustomStringConvertible {
    public let shape: [Int]
    public var scalars: [T]

    /// Fails when the number of scalars does not match the shape.
    public init(shape: [Int], scalars: [T]) throws {
        if let bad = shape.first(where: { $0 < 0 }) {
            throw ShapeError("tensor", "dimension \(bad) in shape \(Shape(shape)) is negative")
        }
        let count = shape.reduce(1, *)
        guard count == scalars.count else {
            throw ShapeError("tensor", "shape \(Shape(shape)) holds \(count) elements but \(scalars.count) were given")
        }
        self.shape = shape
        self.scalars = scalars
    }

    public init(shape: [Int], repeating value: T) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.scalars = Array(repeating: value, count: shape.reduce(1, *))
    }

    /// A scalar (rank 0) tensor.
    public init(_ value: T) {
        self.shape = []
        self.scalars = [value]
    }

    public var count: Int { scalars.count }

    /// The same data under another shape with the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        guard newShape.reduce(1, *) == count, newShape.allSatisfy({ $0 >= 0 }) else {
            throw ShapeError("reshape", "cannot reshape \(Shape(shape)) (\(count) elements) to \(Shape(newShape)) (\(newShape.reduce(1, *)) elements)")
        }
        return try Tensor(shape: newShape, scalars: scalars)
    }

    /// Element `[i, j]` of a rank-2 tensor.
    public subscript(i: Int, j: Int) -> T {
        precondition(shape.count == 2, "2-D subscript on shape \(Shape(shape))")
        return scalars[i * shape[1] + j]
    }

    public func converted<U: Scalar>(to: U.Type = U.self) -> Tensor<U> {
        try! Tensor<U>(shape: shape, scalars: scalars.map { U($0.primal) })
    }

    public var description: String { "Tensor\(Shape(shape)) \(scalars)" }
}
