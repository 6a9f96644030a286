import DLCore
import Foundation

/// A model description: layers (a DAG by name), loss, global penalties.
public struct ModelSpec: Sendable {
    public var layers: [LayerSpec]
    public var loss: LossSpec
    /// Penalties on every kernel whose layer does not set its own.
    public var l1: Double = 0
    public var l2: Double = 0
    /// Learned embeddings of category columns: the last `embeddings.count` features are
    /// indices, each looked up in its own table; the first layer reads the other features
    /// and the looked-up vectors side by side.
    public var embeddings: [EmbeddingSpec] = []

    public init(layers: [LayerSpec], loss: LossSpec) {
        self.layers = layers
        self.loss = loss
    }

    /// The name that refers to the features.
    public static let inputName = "input"

    /// Checks the layer graph without building it: unique names, inputs that name earlier
    /// layers (so there can be no cycle), and no layer whose output goes nowhere.
    public static func checkTopology(_ spec: ModelSpec) throws {
        guard !spec.layers.isEmpty else { throw ModelError(path: "layers", message: "a model needs at least one layer") }
        var defined: [String] = [inputName], used: Set<String> = []
        for (k, layer) in spec.layers.enumerated() {
            guard !defined.contains(layer.name) else {
                throw ModelError(path: "layers[\(k)].name", message: "\"\(layer.name)\" is already taken (by an earlier layer, or \"input\" for the features); names must be unique")
            }
            for (j, name) in (layer.inputs ?? [defined.last!]).enumerated() {
                guard defined.contains(name) else {
                    let later = layer.name == name || spec.layers[(k + 1)...].contains { $0.name == name }
                    throw ModelError(path: "layers[\(k)].inputs[\(j)]", message: later
                        ? "\"\(name)\" is this layer or a later one; a layer reads only earlier layers (the graph may not have cycles)"
                        : "no layer named \"\(name)\"; the names before this layer are \(defined.joined(separator: ", "))")
                }
                used.insert(name)
            }
            defined.append(layer.name)
        }
        if let unused = spec.layers.dropLast().enumerated().first(where: { !used.contains($0.element.name) }) {
            throw ModelError(path: "layers[\(unused.offset)]", message: "layer \"\(unused.element.name)\" feeds no later layer and is not the output; connect it with \"inputs\" or remove it")
        }
    }
}

/// A table of `levels` learned vectors of width `dim` (parameter `embedding_K/table`, (levels,
/// dim), initialised N(0, 1) as PyTorch's `nn.Embedding`): the rows of a category's levels.
public struct EmbeddingSpec: Sendable, Equatable {
    public var column: String
    public var levels: Int
    public var dim: Int
    public init(column: String, levels: Int, dim: Int) {
        self.column = column
        self.levels = levels
        self.dim = dim
    }
    static func parameterName(_ k: Int) -> String { "embedding_\(k)/table" }
}

/// A mistake in a model description, found while building it; `path` is relative to
/// the model (`layers[2].inputs`), so the config layer can point at the key.
public struct ModelError: Error, CustomStringConvertible {
    public let path: String
    public let message: String
    public var description: String { "model.\(path): \(message)" }
}

/// A network as a graph: features → layers → outputs, and the training objective
/// `data loss + penalties`. The same graph serves training and inference; executors for
/// either share one ``ParameterStore``.
public struct Model: @unchecked Sendable {
    public let spec: ModelSpec
    public let graph: Graph
    /// Features (N, inputs).
    public let features: NodeID
    /// Targets: class indices (N) or values (N, targets).
    public let target: NodeID
    /// The last layer's raw outputs (N, outputs): logits for classification.
    public let outputs: NodeID
    /// Mean data loss over the batch.
    public let dataLoss: NodeID
    /// The L1/L2 penalty (a scalar node), or nil when there is none.
    public let penalty: NodeID?
    /// What training minimises: data loss plus penalty.
    public let objective: NodeID
    /// Each layer's output node and width, in order.
    public let layerOutputs: [(node: NodeID, width: Int)]
    public let inputs: Int

    public init(inputs: Int, spec: ModelSpec) throws {
        try ModelSpec.checkTopology(spec)
        let g = Graph()
        features = try g.input("features", shape: [Shape.batch, inputs])
        var input = (node: features, width: inputs)
        if !spec.embeddings.isEmpty {
            // features (N, D) = dense (N, D − E) | indices (N, E);  input = dense | t_1[i_1] | ... | t_E[i_E]
            let dense = inputs - spec.embeddings.count
            guard dense >= 0 else { throw ModelError(path: "layers", message: "\(spec.embeddings.count) embeddings but only \(inputs) inputs") }
            var parts: [NodeID] = dense > 0 ? [try g.slice(features, axis: 1, start: 0, count: dense)] : []
            for (k, e) in spec.embeddings.enumerated() {
                let column = try g.reshape(try g.slice(features, axis: 1, start: dense + k, count: 1), [Shape.batch])
                let table = try g.parameter(EmbeddingSpec.parameterName(k), shape: [e.levels, e.dim])
                parts.append(try g.gatherRows(table, column))
            }
            input = (try g.concat(parts, axis: 1), dense + spec.embeddings.reduce(0) { $0 + $1.dim })
        }
        var produced: [String: (node: NodeID, width: Int)] = [ModelSpec.inputName: input]
        var outputsSoFar: [(node: NodeID, width: Int)] = []
        var previous = input
        for (k, layer) in spec.layers.enumerated() {
            var source = previous
            if let names = layer.inputs {
                var parts: [(node: NodeID, width: Int)] = []
                for name in names { parts.append(produced[name]!) }  // checkTopology vouched for each
                if layer.combine == .add, let mismatch = parts.first(where: { $0.width != parts[0].width }) {
                    throw ModelError(path: "layers[\(k)].inputs", message: "\"add\" needs inputs of equal width, got \(parts[0].width) and \(mismatch.width); make the widths agree or use \"combine\": \"concat\"")
                }
                if parts.count == 1 {
                    source = parts[0]
                } else if layer.combine == .add {
                    var sum = parts[0].node
                    for part in parts.dropFirst() { sum = try g.add(sum, part.node) }
                    source = (sum, parts[0].width)
                } else {
                    source = (try g.concat(parts.map(\.node), axis: 1), parts.reduce(0) { $0 + $1.width })
                }
            }
            let h = try layer.build(on: g, input: source.node)
            previous = (h, layer.units)
            produced[layer.name] = previous
            outputsSoFar.append(previous)
        }
        outputs = previous.node
        let outputWidth = spec.layers.last!.units
        guard outputWidth % spec.loss.kind.outputsPerTarget == 0 else {
            throw ModelError(path: "layers[\(spec.layers.count - 1)].units", message: "\(spec.loss.kind.rawValue) needs \(spec.loss.kind.outputsPerTarget) output units per target (a mean and a scale), got \(outputWidth)")
        }
        target = try g.input("target", shape: spec.loss.kind.targetShape(outputs: outputWidth))
        dataLoss = try spec.loss.build(on: g, outputs: outputs, target: target)

        var penaltyTerms: [NodeID] = []
        for layer in spec.layers {
            let l1 = layer.l1 ?? spec.l1, l2 = layer.l2 ?? spec.l2
            for name in layer.kernelNames {
                guard let index = g.parameterIndex(named: name), let w = g.node(ofParameter: index) else { continue }
                if l1 > 0 { penaltyTerms.append(try g.mul(try g.sum(try g.abs(w)), g.constant(l1))) }
                if l2 > 0 { penaltyTerms.append(try g.mul(try g.sum(try g.mul(w, w)), g.constant(l2))) }
            }
        }
        if var total = penaltyTerms.first {
            for term in penaltyTerms.dropFirst() { total = try g.add(total, term) }
            penalty = total
            objective = try g.add(dataLoss, total)
        } else {
            penalty = nil
            objective = dataLoss
        }
        // Values, gradients and up to two optimizer moments per parameter, in float32.
        let bytes = g.parameterCount.multipliedReportingOverflow(by: 16)
        let memory = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        if bytes.overflow || (memory > 0 && bytes.partialValue > memory) {
            throw ModelError(path: "layers", message: "the model has \(g.parameterCount) parameters, \(bytes.overflow ? "far more" : String(format: "%.1f GB with gradients and optimizer state, more", Double(bytes.partialValue) / 1e9)) than this machine's \(String(format: "%.1f", Double(memory) / 1e9)) GB of memory; use fewer units, or \"rank\" for low-rank layers")
        }
        graph = g
        self.spec = spec
        self.inputs = inputs
        layerOutputs = outputsSoFar
    }

    public var outputUnits: Int { spec.layers.last!.units }

    /// A store with every layer initialised from `rng`, layer by layer in order.
    public func initialParameters<T: Scalar>(rng: inout RandomSource) throws -> ParameterStore<T> {
        let store = ParameterStore<T>(for: graph)
        for layer in spec.layers { try layer.initialize(store, graph: graph, rng: &rng) }
        for k in spec.embeddings.indices {
            guard let index = graph.parameterIndex(named: EmbeddingSpec.parameterName(k)) else { continue }
            let table = graph.parameters[index]
            Initializer.normal(std: 1).fill(store.values(of: table), fanIn: table.shape[0], fanOut: table.shape[1], rng: &rng, threads: BLAS.threadCount)
        }
        return store
    }

    /// A table like Keras' `summary()`: each layer, what it reads, its output shape and
    /// parameter count, then the totals.
    public var summary: String {
        var rows: [[String]] = [["layer", "reads", "does", "output", "params"]]
        var widths: [String: Int] = [ModelSpec.inputName: inputs - spec.embeddings.count + spec.embeddings.reduce(0) { $0 + $1.dim }]
        var previousName = ModelSpec.inputName
        for layer in spec.layers {
            let reads = layer.inputs ?? [previousName]
            let fanIn = reads.count > 1 && layer.combine == .concat ? reads.reduce(0) { $0 + (widths[$1] ?? 0) } : (widths[reads[0]] ?? 0)
            var does = layer.rank.map { "dense rank \($0)" } ?? "dense"
            if layer.batchNorm != nil { does += ", batchnorm" }
            if layer.activation != .linear { does += layer.activation == .maxout ? ", maxout×\(layer.pieces)" : ", \(layer.activation.rawValue)" }
            if layer.dropout > 0 { does += ", dropout \(layer.dropout)" }
            if !layer.trainable { does += ", frozen" }
            let combine = reads.count > 1 ? " (\(layer.combine.rawValue))" : ""
            rows.append([layer.name, reads.joined(separator: "+") + combine, does, "(N, \(layer.units))", String(layer.parameterCount(fanIn: fanIn))])
            widths[layer.name] = layer.units
            previousName = layer.name
        }
        let trainable = graph.parameters.filter(\.trainable).reduce(0) { $0 + $1.count }
        let columnWidths = (0..<5).map { c in rows.map { $0[c].count }.max()! }
        var lines = rows.map { row in
            row.enumerated().map { c, text in
                c == 4 ? String(repeating: " ", count: columnWidths[c] - text.count) + text : text + String(repeating: " ", count: columnWidths[c] - text.count)
            }.joined(separator: "  ")
        }
        lines.insert(String(repeating: "-", count: lines[0].count), at: 1)
        for e in spec.embeddings { lines.append("embedding of \"\(e.column)\": \(e.levels) levels × \(e.dim)") }
        lines.append("input (N, \(inputs)); loss \(spec.loss.kind.rawValue); parameters \(graph.parameterCount) (\(trainable) trainable)")
        return lines.joined(separator: "\n")
    }
}
