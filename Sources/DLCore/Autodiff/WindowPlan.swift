import Foundation

/// Where each node of a ``Graph`` keeps its value, gradient and scratch in an ``Executor``'s
/// three slabs, planned for a batch capacity before anything is allocated.
///
/// Windows start on 16-scalar boundaries (64 bytes for Float). Parameters have no window (they
/// point into the ``ParameterStore``); a reshape shares its input's; a product fused with its
/// bias add (``Graph/biasFusions()``) shares the add's; a ReLU in place
/// (``Graph/inPlaceActivations()``) shares its input's.
public struct WindowPlan: Sendable {
    public let batchCapacity: Int
    /// Offsets into the value, gradient and scratch slabs; -1 where a node has none there.
    let valueOffsets: [Int], gradientOffsets: [Int], scratchOffsets: [Int]
    /// Scalars in each slab.
    let valueCount: Int, gradientCount: Int, scratchCount: Int
    /// For a product fused with its bias add: that bias.
    let productBias: [NodeID?]
    /// Whether the add at this node is done by its product.
    let addIsFused: [Bool]
    /// Whether this ReLU runs in its input's windows.
    let activationInPlace: [Bool]

    public init(graph: Graph, batchCapacity: Int, gradients: Bool) throws {
        guard batchCapacity >= 1 else { throw ShapeError("executor", "batch capacity must be at least 1, got \(batchCapacity)") }
        self.batchCapacity = batchCapacity
        let nodes = graph.nodes
        var biases = [NodeID?](repeating: nil, count: nodes.count)
        var fusedAdds = [Bool](repeating: false, count: nodes.count)
        for fusion in graph.biasFusions() {
            biases[fusion.product.index] = fusion.bias
            fusedAdds[fusion.add.index] = true
        }
        var inPlace = [Bool](repeating: false, count: nodes.count)
        for activation in graph.inPlaceActivations() { inPlace[activation.index] = true }

        func aligned(_ n: Int) -> Int { (n + 15) & ~15 }
        var values = [Int](repeating: -1, count: nodes.count)
        var grads = [Int](repeating: -1, count: nodes.count)
        var scratches = [Int](repeating: -1, count: nodes.count)
        var valueTotal = 0, gradTotal = 0, scratchTotal = 0
        for (i, node) in nodes.enumerated() {
            let need = WindowPlan.scratch(node.op, graph: graph, rows: batchCapacity)
            if need > 0 {
                scratches[i] = scratchTotal
                scratchTotal += aligned(need)
            }
            switch node.op {
            case .parameter: continue
            case .reshape(let source):
                values[i] = values[source.index]
                grads[i] = grads[source.index]
                continue
            case .unary(_, let source) where inPlace[i]:
                values[i] = values[source.index]
                grads[i] = grads[source.index]
                continue
            case .matmul where biases[i] != nil: continue  // planned with its add, below
            default: break
            }
            let count = node.shape.count(rows: batchCapacity)
            values[i] = valueTotal
            valueTotal += aligned(count)
            if gradients && node.requiresGrad {
                grads[i] = gradTotal
                gradTotal += aligned(count)
            }
            if fusedAdds[i], let product = node.op.inputs.first {
                values[product.index] = values[i]
                grads[product.index] = nodes[product.index].requiresGrad ? grads[i] : -1
            }
        }
        valueOffsets = values
        gradientOffsets = grads
        scratchOffsets = scratches
        valueCount = valueTotal
        gradientCount = gradTotal
        scratchCount = scratchTotal
        productBias = biases
        addIsFused = fusedAdds
        activationInPlace = inPlace
    }

    /// Throws when the three slabs of `scalarSize`-byte scalars would not fit in this
    /// machine's memory, so that a batch too large is refused before anything is allocated.
    public func checkFitsInMemory(scalarSize: Int) throws {
        let (elements, overflow) = (valueCount + gradientCount).addingReportingOverflow(scratchCount)
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        if overflow || (memory > 0 && elements > memory / scalarSize) {
            throw ShapeError("executor", String(format: "a batch of %d rows needs %.1f GB of activations and gradients, more than this machine's %.1f GB of memory; use fewer units or a smaller batch_size",
                                                batchCapacity, overflow ? .infinity : Double(elements) * Double(scalarSize) / 1e9, Double(memory) / 1e9))
        }
    }

    /// Scratch scalars an op keeps between its forward and backward passes.
    static func scratch(_ op: Op, graph: Graph, rows: Int) -> Int {
        switch op {
        case .batchNorm(let x, _):
            let s = graph.shape(x)
            return s.count(rows: rows) + 3 * s.dims[1]  // x̂, 1/σ, and two column sums
        case .dropout(let x, _): return graph.shape(x).count(rows: rows)
        default: return 0
        }
    }
}
