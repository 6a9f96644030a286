import TestSupport
import DLCore
import Testing

/// Bad shapes are Swift errors naming both shapes, raised when the graph is built,
/// before any kernel could run off the end of a buffer.
@Suite struct ShapeErrorTests {
    func message(_ body: () throws -> Any) -> String { errorText(body) }

    @Test func matmulInnerDimensions() throws {
        let g = Graph()
        let x = try g.input("x", shape: [Shape.batch, 3])
        let w = try g.parameter("w", shape: [4, 2])
        let text = message { try g.matmul(x, w) }
        #expect(text.contains("matmul"))
        #expect(text.contains("(N, 3)"))
        #expect(text.contains("(4, 2)"))
        #expect(message { try g.matmul(x, try g.parameter("v", shape: [3, 2])) } == "no error")
        #expect(message { try g.matmul(w, try g.parameter("u", shape: [3])) }.contains("(3)"))
    }

    @Test func broadcasting() throws {
        let g = Graph()
        let x = try g.input("x", shape: [Shape.batch, 3])
        let b = try g.parameter("b", shape: [4])
        let text = message { try g.add(x, b) }
        #expect(text.contains("add"))
        #expect(text.contains("(N, 3)"))
        #expect(text.contains("(4)"))
        let rows = try g.input("r", shape: [5, 3])
        #expect(message { try g.mul(x, rows) }.contains("(5, 3)"))
    }

    @Test func reshape() throws {
        let g = Graph()
        let x = try g.input("x", shape: [Shape.batch, 6])
        let text = message { try g.reshape(x, [Shape.batch, 4]) }
        #expect(text.contains("reshape"))
        #expect(text.contains("(N, 6)"))
        #expect(text.contains("(N, 4)"))
        #expect(message { try g.reshape(x, [6, Shape.batch]) }.contains("(6, N)"))
        #expect(message { try Tensor<Float>(shape: [2, 3], scalars: [1, 2]).reshaped([3, 2]) }.contains("(2, 3)"))
        #expect(message { try Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]).reshaped([4, 2]) }.contains("(4, 2)"))
    }

    @Test func otherRules() throws {
        let g = Graph()
        let x = try g.input("x", shape: [Shape.batch, 3])
        #expect(message { try g.sum(x, axis: 2) }.contains("axis 2"))
        #expect(message { try g.slice(x, axis: 1, start: 2, count: 2) }.contains("2..<4"))
        #expect(message { try g.concat([x, try g.input("y", shape: [2, 3])], axis: 1) }.contains("(2, 3)"))
        #expect(message { try g.parameter("p", shape: [Shape.batch, 2]) }.contains("batch"))
        #expect(message { try Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3]) }.contains("(2, 2)"))
        let executor = try Executor<Float>(graph: g, parameters: ParameterStore(for: g), batchCapacity: 4)
        #expect(message { try executor.setInput(x, Tensor(shape: [2, 5], repeating: 0)) }.contains("(2, 5)"))
        #expect(message { try executor.setInput(x, Tensor(shape: [9, 3], repeating: 0)) }.contains("capacity"))
    }
}
