/// A handle to a node of a ``Graph``.
public struct NodeID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (l: NodeID, r: NodeID) -> Bool { l.index < r.index }
    public var description: String { "%\(index)" }
}

/// What a node computes. Each case's forward kernel, backward (vector-Jacobian) kernel and
/// shape rule live together in the file under `Ops/` named for its family.
public enum Op: Sendable {
    /// Data fed before each step (features, targets, masks).
    case input
    /// A learned array, stored in the ``ParameterStore`` at ``Graph/parameters``[index].
    case parameter(Int)
    /// A fixed array stored in ``Graph/constants``[index].
    case constant(Int)
    case matmul(NodeID, NodeID, transposeA: Bool, transposeB: Bool)
    case binary(BinaryOp, NodeID, NodeID, Broadcast)
    case unary(UnaryOp, NodeID)
    case power(NodeID, exponent: Double)
    case reduce(ReduceOp, NodeID, axis: Int?)
    case reshape(NodeID)
    case transpose(NodeID)
    case concat([NodeID], axis: Int)
    case slice(NodeID, axis: Int, start: Int)
    case pick(NodeID, indices: NodeID)
    case gatherRows(NodeID, indices: NodeID)
    case softmax(NodeID)
    case logSoftmax(NodeID)
    /// Batch normalisation of x (N, C) with scale, shift and running statistics (parameters).
    case batchNorm(NodeID, BatchNormParameters)
    /// Inverted dropout of `rate`; identity in evaluation mode.
    case dropout(NodeID, rate: Double)

    /// The nodes this op reads, in order.
    public var inputs: [NodeID] {
        switch self {
        case .input, .parameter, .constant: return []
        case .matmul(let a, let b, _, _), .binary(_, let a, let b, _): return [a, b]
        case .pick(let a, let b), .gatherRows(let a, let b): return [a, b]
        case .unary(_, let a), .power(let a, _), .reduce(_, let a, _), .reshape(let a),
             .transpose(let a), .slice(let a, _, _), .softmax(let a), .logSoftmax(let a):
            return [a]
        case .concat(let parts, _): return parts
        case .batchNorm(let x, let p): return [x, p.scale, p.shift, p.runningMean, p.runningVariance]
        case .dropout(let x, _): return [x]
        }
    }
}

public struct Node: Sendable {
    public let op: Op
    public let shape: Shape
    public let name: String?
    /// Whether any gradient flows into this node (it depends on a trainable parameter or an
    /// input marked as requiring gradients). Backward skips every other node.
    public let requiresGrad: Bool
}

/// A named learned array and its place in the flat parameter vector.
public struct ParameterSpec: Sendable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public let trainable: Bool
    public var count: Int { shape.reduce(1, *) }
}

/// A directed acyclic computation graph, recorded once and executed many times.
///
/// Nodes are appended in the order they are built, and every op may only read earlier
/// nodes, so index order is a topological order: forward runs it upwards, backward runs it
/// downwards from the loss. A node read by several consumers (a DAG, not only a chain)
/// receives the sum of their gradients because every backward kernel accumulates with `+=`.
public final class Graph: @unchecked Sendable {
    public private(set) var nodes: [Node] = []
    public private(set) var parameters: [ParameterSpec] = []
    public private(set) var constants: [[Double]] = []
    /// Total scalars of all parameters: the length of the flat parameter vector.
    public private(set) var parameterCount = 0

    public init() {}

    public subscript(id: NodeID) -> Node { nodes[id.index] }
    public func shape(_ id: NodeID) -> Shape { nodes[id.index].shape }

    public func parameterIndex(named name: String) -> Int? { parameters.firstIndex { $0.name == name } }

    /// How many times each node is read by a later node (a node read twice by one op counts twice).
    func consumerCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: nodes.count)
        for node in nodes { for input in node.op.inputs { counts[input.index] += 1 } }
        return counts
    }

    /// The node that holds parameter `index`.
    public func node(ofParameter index: Int) -> NodeID? {
        nodes.firstIndex { if case .parameter(index) = $0.op { return true } else { return false } }.map(NodeID.init)
    }

    /// Data supplied per step. Use ``Shape/batch`` for the batch dimension, e.g. `[Shape.batch, 784]`.
    public func input(_ name: String, shape: [Int], requiresGrad: Bool = false) throws -> NodeID {
        try checkDims("input", shape)
        return append(.input, Shape(shape), name: name, requiresGrad: requiresGrad)
    }

    /// A learned array. Its initial values come from whoever fills the ``ParameterStore``.
    public func parameter(_ name: String, shape: [Int], trainable: Bool = true) throws -> NodeID {
        try checkDims("parameter \(name)", shape)
        guard !shape.contains(Shape.batch) else {
            throw ShapeError("parameter \(name)", "a parameter cannot have the batch dimension: \(Shape(shape))")
        }
        guard !parameters.contains(where: { $0.name == name }) else {
            throw ShapeError("parameter \(name)", "a parameter with this name already exists")
        }
        let spec = ParameterSpec(name: name, shape: shape, offset: parameterCount, trainable: trainable)
        parameters.append(spec)
        parameterCount += spec.count
        return append(.parameter(parameters.count - 1), Shape(shape), name: name, requiresGrad: trainable)
    }

    public func constant<T: Scalar>(_ tensor: Tensor<T>, name: String? = nil) -> NodeID {
        constants.append(tensor.scalars.map(\.primal))
        return append(.constant(constants.count - 1), Shape(tensor.shape), name: name, requiresGrad: false)
    }

    public func constant(_ value: Double, name: String? = nil) -> NodeID {
        constant(Tensor<Double>(value), name: name)
    }

    /// Appends an op whose shape has been checked by its builder.
    func append(_ op: Op, _ shape: Shape, name: String? = nil, requiresGrad: Bool? = nil) -> NodeID {
        let grad = requiresGrad ?? op.inputs.contains { nodes[$0.index].requiresGrad }
        nodes.append(Node(op: op, shape: shape, name: name, requiresGrad: grad))
        return NodeID(nodes.count - 1)
    }

    func checkNode(_ operation: String, _ ids: NodeID...) throws {
        for id in ids where id.index < 0 || id.index >= nodes.count {
            throw ShapeError(operation, "node \(id) does not belong to this graph")
        }
    }

    private func checkDims(_ operation: String, _ dims: [Int]) throws {
        if dims.filter({ $0 == Shape.batch }).count > 1 || dims.contains(where: { $0 < 0 && $0 != Shape.batch }) {
            throw ShapeError(operation, "invalid shape \(Shape(dims)): dimensions must be non-negative, with at most one batch dimension")
        }
    }
}

/// The values and gradients of every parameter of a graph, each in one contiguous slab, so
/// that optimizers update (and data-parallel training reduces) a single flat vector.
public final class ParameterStore<T: Scalar>: @unchecked Sendable {
    public let count: Int
    public let values: UnsafeMutableBufferPointer<T>
    public let gradients: UnsafeMutableBufferPointer<T>

    /// Every parameter's piece of the slab, where passes over it are cut between the threads.
    public let pieces: [SlabPiece]

    /// A slab of `count` scalars; `pieces` defaults to one, cut at half.
    public init(count: Int, pieces: [SlabPiece]? = nil) {
        self.count = count
        self.pieces = pieces ?? [SlabPiece(halving: 0..<count)]
        values = .zeroed(max(count, 1))
        gradients = .zeroed(max(count, 1))
    }

    public convenience init(for graph: Graph) { self.init(count: graph.parameterCount, pieces: graph.slabPieces()) }

    deinit {
        values.deallocate()
        gradients.deallocate()
    }

    /// Zeroes every gradient, each parameter's piece cut between the threads as the piece says.
    public func zeroGradients() {
        for piece in pieces { SplitPasses.zero(gradients.baseAddress!, piece: piece) }
    }

    /// The values of parameter `spec` as a window into the slab.
    public func values(of spec: ParameterSpec) -> UnsafeMutableBufferPointer<T> {
        UnsafeMutableBufferPointer(rebasing: values[spec.offset..<(spec.offset + spec.count)])
    }

    public func gradients(of spec: ParameterSpec) -> UnsafeMutableBufferPointer<T> {
        UnsafeMutableBufferPointer(rebasing: gradients[spec.offset..<(spec.offset + spec.count)])
    }

    /// Copies `tensor` into parameter `spec`, checking its shape.
    public func set(_ spec: ParameterSpec, to tensor: Tensor<T>) throws {
        guard tensor.shape == spec.shape else {
            throw ShapeError("parameter \(spec.name)", "expected shape \(Shape(spec.shape)), got \(Shape(tensor.shape))")
        }
        let window = values(of: spec)
        for i in 0..<spec.count { window[i] = tensor.scalars[i] }
    }

    public func tensor(_ spec: ParameterSpec) -> Tensor<T> {
        try! Tensor(shape: spec.shape, scalars: Array(values(of: spec)))
    }
}
