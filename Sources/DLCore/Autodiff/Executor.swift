import Foundation
/// Runs a ``Graph`` on element type `T` with every buffer planned once.
///
/// At construction, each node gets a value window (and a gradient window when gradients
/// flow into it) in two contiguous slabs sized for `batchCapacity` rows; parameters point
/// into the ``ParameterStore``; a reshape aliases its input. After that, ``forward()`` and
/// ``backward(from:seed:zeroingParameterGradients:)`` touch only those buffers: a training
/// step allocates nothing.
public final class Executor<T: Scalar>: @unchecked Sendable {
    public let graph: Graph
    public let parameters: ParameterStore<T>
    public let batchCapacity: Int
    /// The batch size `N` of the current step, at most ``batchCapacity``.
    public var rows: Int {
        didSet { precondition(rows >= 1 && rows <= batchCapacity, "rows \(rows) outside 1...\(batchCapacity)") }
    }

    /// Training mode: batch normalisation uses batch statistics (and updates its running
    /// averages), dropout draws masks. Evaluation mode: running statistics, no dropout.
    public var training = true
    /// Keeps the dropout masks of the last forward pass instead of drawing new ones, so that
    /// repeated forward passes (finite differences, line searches) see the same network.
    public var holdMasks = false
    /// Draws dropout masks; part of the state a checkpoint saves.
    public var rng = RandomSource(seed: 0)
    /// This process's share of a data-parallel batch; nil when it trains alone.
    public var share: BatchShare? = nil
    /// Called after each node's vector-Jacobian product in ``backward(from:seed:zeroingParameterGradients:)``,
    /// for instrumentation and fault injection (a test breaks a derivative here to show that
    /// gradient checking catches it); nil in training, and no kernel knows of it.
    public var afterNodeBackward: ((NodeID) -> Void)? = nil
    /// Batch norm's per-channel sums on their way across replicas (2 × the widest layer), made once.
    lazy var replicaSums: UnsafeMutablePointer<Double> = {
        let widest = graph.nodes.map { node -> Int in if case .batchNorm = node.op { node.shape.dims.last ?? 0 } else { 0 } }.max() ?? 0
        return .allocate(capacity: max(2 * widest, 1))
    }()
    /// How each product of the step is computed (``ProductPlan``); empty: the rule's route for
    /// every shape.
    public var productPlan = ProductPlan()
    /// The mode of the last forward pass, which its backward pass must follow.
    var forwardWasTraining = true

    private let activationSlab: UnsafeMutableBufferPointer<T>
    private let gradientSlab: UnsafeMutableBufferPointer<T>
    private let scratchSlab: UnsafeMutableBufferPointer<T>
    var value: [UnsafeMutablePointer<T>]
    var grad: [UnsafeMutablePointer<T>?]
    /// Per-node scratch that survives from forward to backward (normalised inputs, masks).
    var scratch: [UnsafeMutablePointer<T>?]
    private var ancestorsOfOutput: (output: Int, mask: [Bool]) = (-1, [])
    /// Where each node's windows are, and which nodes share them (``WindowPlan``): a product
    /// fused with its bias add reads as the sum, an in-place ReLU's input as the ReLU's output.
    let windows: WindowPlan

    /// Whether this executor has gradient windows; one made for evaluation or prediction
    /// (`gradients: false`) plans no gradient slab, only forward passes.
    public let computesGradients: Bool

    public init(graph: Graph, parameters: ParameterStore<T>, batchCapacity: Int = 1, gradients: Bool = true) throws {
        guard parameters.count == graph.parameterCount else {
            throw ShapeError("executor", "the parameter store holds \(parameters.count) scalars but the graph needs \(graph.parameterCount)")
        }
        let plan = try WindowPlan(graph: graph, batchCapacity: batchCapacity, gradients: gradients)
        try plan.checkFitsInMemory(scalarSize: MemoryLayout<T>.size)
        self.graph = graph
        self.parameters = parameters
        self.batchCapacity = batchCapacity
        self.rows = batchCapacity
        self.computesGradients = gradients
        windows = plan

        activationSlab = .zeroed(max(plan.valueCount, 1))
        gradientSlab = .zeroed(max(plan.gradientCount, 1))
        let scratchBase = UnsafeMutableBufferPointer<T>.zeroed(max(plan.scratchCount, 1))
        scratchSlab = scratchBase
        scratch = plan.scratchOffsets.map { $0 >= 0 ? scratchBase.baseAddress! + $0 : nil }

        let activations = activationSlab.baseAddress!, gradientWindows = gradientSlab.baseAddress!
        value = []
        grad = []
        for (i, node) in graph.nodes.enumerated() {
            if case .parameter(let p) = node.op {
                let spec = graph.parameters[p]
                value.append(parameters.values.baseAddress! + spec.offset)
                grad.append(computesGradients && spec.trainable ? parameters.gradients.baseAddress! + spec.offset : nil)
            } else if case .reshape(let source) = node.op {
                value.append(value[source.index])
                grad.append(grad[source.index])
            } else {
                value.append(activations + plan.valueOffsets[i])
                grad.append(plan.gradientOffsets[i] >= 0 ? gradientWindows + plan.gradientOffsets[i] : nil)
            }
            if case .constant(let c) = node.op {
                for (j, x) in graph.constants[c].enumerated() { value[i][j] = T(x) }
            }
        }
    }

    deinit {
        activationSlab.deallocate()
        gradientSlab.deallocate()
        scratchSlab.deallocate()
    }

    // MARK: Feeding and reading

    /// The window an input node reads, for `rows` rows: loaders gather batches straight into it.
    public func buffer(_ id: NodeID) -> UnsafeMutableBufferPointer<T> {
        UnsafeMutableBufferPointer(start: value[id.index], count: graph.shape(id).count(rows: rows))
    }

    /// Makes input `id` read `window` (capacity rows, left unchanged by the caller until this
    /// step's forward and backward are done) instead of its own window, so a batch the loader
    /// prepared is read where it lies; nil gives the input its own window back. ``buffer(_:)``
    /// then returns the bound window, and every reshape of the input follows it.
    public func bind(_ id: NodeID, to window: UnsafeMutablePointer<T>?) {
        guard case .input = graph[id].op else { preconditionFailure("bind: node \(id) is not an input") }
        value[id.index] = window ?? activationSlab.baseAddress! + windows.valueOffsets[id.index]
        for (i, node) in graph.nodes.enumerated() { if case .reshape(let source) = node.op { value[i] = value[source.index] } }
    }

    /// Copies `tensor` into input `id`, checking its shape; a batched input sets ``rows``.
    public func setInput(_ id: NodeID, _ tensor: Tensor<T>) throws {
        let node = graph[id]
        guard case .input = node.op else {
            throw ShapeError("setInput", "node \(id) (\(node.name ?? "unnamed")) is not an input")
        }
        let expected = node.shape
        var batchSize: Int? = nil
        var fits = tensor.shape.count == expected.rank
        if fits {
            for (axis, d) in expected.dims.enumerated() {
                if d == Shape.batch { batchSize = tensor.shape[axis] } else if d != tensor.shape[axis] { fits = false }
            }
        }
        guard fits else {
            throw ShapeError("input \(node.name ?? "\(id)")", "expected shape \(expected), got \(Shape(tensor.shape))")
        }
        if let n = batchSize {
            guard n >= 1 && n <= batchCapacity else {
                throw ShapeError("input \(node.name ?? "\(id)")", "batch of \(n) rows does not fit the planned capacity 1...\(batchCapacity)")
            }
            rows = n
        }
        let window = value[id.index]
        for (j, x) in tensor.scalars.enumerated() { window[j] = x }
    }

    /// The current value of node `id`, copied out (for inspection and tests, not the hot path).
    /// A product fused with its bias add reads as the sum, the add's value; the input of a
    /// ReLU computed in place reads as the ReLU's output.
    public func value(of id: NodeID) -> Tensor<T> {
        let shape = graph.shape(id)
        let dims = shape.dims.map { $0 == Shape.batch ? rows : $0 }
        return try! Tensor(shape: dims, scalars: Array(UnsafeBufferPointer(start: value[id.index], count: shape.count(rows: rows))))
    }

    /// The value of a scalar node such as a loss.
    public func scalar(_ id: NodeID) -> T { value[id.index][0] }

    /// The gradient accumulated in node `id` by the last backward pass, or nil when none flows into it.
    public func gradient(of id: NodeID) -> Tensor<T>? {
        guard let g = grad[id.index] else { return nil }
        let shape = graph.shape(id)
        let dims = shape.dims.map { $0 == Shape.batch ? rows : $0 }
        return try! Tensor(shape: dims, scalars: Array(UnsafeBufferPointer(start: g, count: shape.count(rows: rows))))
    }

    /// The gradient window of node `id` at the current batch size (nil when none flows into it).
    public func gradientBuffer(_ id: NodeID) -> UnsafeMutableBufferPointer<T>? {
        grad[id.index].map { UnsafeMutableBufferPointer(start: $0, count: count(id)) }
    }

    /// The matrix products of one training step at ``batchCapacity`` rows, forward then
    /// backward, each shape once: what ``ProductPlan/measure(_:)`` times.
    public func stepProducts() -> [ProductShape] {
        let saved = rows
        rows = batchCapacity
        defer { rows = saved }
        var forward: [ProductShape] = [], backward: [ProductShape] = []
        for node in graph.nodes {
            guard case .matmul(let a, let b, let ta, let tb) = node.op else { continue }
            let shapes = matmulProducts(a, b, ta, tb, gradients: computesGradients)
            forward.append(shapes[0])
            backward.insert(contentsOf: shapes.dropFirst(), at: 0)
        }
        var seen = Set<ProductShape>()
        return (forward + backward).filter { seen.insert($0).inserted }
    }

    // MARK: Running

    /// Computes every node for the current ``rows``.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func forward() {
        forwardWasTraining = training
        for i in graph.nodes.indices { forwardNode(i) }
    }

    /// Reverse-mode sweep from `output`: seeds its gradient with ones (or `seed`, a cotangent
    /// of the output's shape), then runs each ancestor's vector-Jacobian product in reverse
    /// topological order. Activation gradients are zeroed here, once (all of them, also those of
    /// nodes this output does not depend on); parameter gradients
    /// are zeroed too unless `zeroingParameterGradients` is false, in which case they
    /// accumulate across calls (gradient accumulation over micro-batches).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func backward(from output: NodeID, seed: [T]? = nil, zeroingParameterGradients: Bool = true) {
        let outputCount = graph.shape(output).count(rows: rows)
        precondition(seed == nil || seed!.count == outputCount, "seed has \(seed!.count) scalars, output has \(outputCount)")
        precondition(seed != nil || outputCount == 1, "backward from a non-scalar output needs a seed")
        precondition(computesGradients, "backward on an executor made with gradients: false")
        guard let outputGrad = grad[output.index] else { return }
        let needed = ancestors(of: output)
        if zeroingParameterGradients { parameters.zeroGradients() }
        // Every activation gradient window at once, in one pass split like a product, rather
        // than window by window on this thread.
        SplitPasses.zero(gradientSlab.baseAddress!, count: gradientSlab.count)
        for j in 0..<outputCount { outputGrad[j] += seed?[j] ?? 1 }
        for i in stride(from: output.index, through: 0, by: -1) where needed[i] && grad[i] != nil {
            backwardNode(i)
            afterNodeBackward?(NodeID(i))
        }
    }

    /// Which nodes `output` depends on; cached for the most recent output.
    private func ancestors(of output: NodeID) -> [Bool] {
        if ancestorsOfOutput.output == output.index { return ancestorsOfOutput.mask }
        var mask = [Bool](repeating: false, count: graph.nodes.count)
        mask[output.index] = true
        for i in stride(from: output.index, through: 0, by: -1) where mask[i] {
            for input in graph.nodes[i].op.inputs { mask[input.index] = true }
        }
        ancestorsOfOutput = (output.index, mask)
        return mask
    }

    private func forwardNode(_ i: Int) {
        let out = NodeID(i)
        switch graph.nodes[i].op {
        case .input, .parameter, .constant, .reshape: return
        case .matmul(let a, let b, let ta, let tb): matmulForward(a, b, ta, tb, out)
        case .binary(let op, let a, let b, let bc): if !windows.addIsFused[i] { binaryForward(op, a, b, bc, out) }
        case .unary(let op, let x): unaryForward(op, x, out)
        case .power(let x, let p): powerForward(x, p, out)
        case .reduce(let op, let x, let axis): reduceForward(op, x, axis, out)
        case .transpose(let x): transposeForward(x, out)
        case .concat(let parts, let axis): concatForward(parts, axis, out)
        case .slice(let x, let axis, let start): sliceForward(x, axis, start, out)
        case .pick(let x, let idx): pickForward(x, idx, out)
        case .gatherRows(let table, let idx): gatherRowsForward(table, idx, out)
        case .softmax(let x): softmaxForward(x, out)
        case .logSoftmax(let x): logSoftmaxForward(x, out)
        case .batchNorm(let x, let p): batchNormForward(x, p, out)
        case .dropout(let x, let rate): dropoutForward(x, rate, out)
        }
    }

    private func backwardNode(_ i: Int) {
        let out = NodeID(i)
        switch graph.nodes[i].op {
        case .input, .parameter, .constant, .reshape: return
        case .matmul(let a, let b, let ta, let tb): matmulBackward(a, b, ta, tb, out)
        case .binary(let op, let a, let b, let bc): binaryBackward(op, a, b, bc, out)
        case .unary(let op, let x): unaryBackward(op, x, out)
        case .power(let x, let p): powerBackward(x, p, out)
        case .reduce(let op, let x, let axis): reduceBackward(op, x, axis, out)
        case .transpose(let x): transposeBackward(x, out)
        case .concat(let parts, let axis): concatBackward(parts, axis, out)
        case .slice(let x, let axis, let start): sliceBackward(x, axis, start, out)
        case .pick(let x, let idx): pickBackward(x, idx, out)
        case .gatherRows(let table, let idx): gatherRowsBackward(table, idx, out)
        case .softmax(let x): softmaxBackward(x, out)
        case .logSoftmax(let x): logSoftmaxBackward(x, out)
        case .batchNorm(let x, let p): batchNormBackward(x, p, out)
        case .dropout(let x, let rate): dropoutBackward(x, rate, out)
        }
    }

    /// Element count of node `id` at the current batch size.
    @inline(__always) func count(_ id: NodeID) -> Int { graph.nodes[id.index].shape.count(rows: rows) }
    @inline(__always) func shape(_ id: NodeID) -> Shape { graph.nodes[id.index].shape }
}

extension UnsafeMutableBufferPointer where Element: Scalar {
    /// A new buffer of zeros. Every ``Scalar`` is zero when all its bits are, so one memset
    /// does it (a generic element-by-element fill would be far slower unspecialized).
    static func zeroed(_ count: Int) -> UnsafeMutableBufferPointer<Element> {
        let buffer = UnsafeMutableBufferPointer<Element>.allocate(capacity: count)
        UnsafeMutableRawBufferPointer(buffer).initializeMemory(as: UInt8.self, repeating: 0)
        return buffer
    }
}
