/// An ONNX model under construction (the messages of `onnx.proto`, IR version 9, opset 20:
/// the first with string splitting and regular expressions, which dates need), encoded by
/// hand with ``ProtobufMessage``. Field numbers are those of `onnx.proto`.
struct ONNXGraph {
    static let irVersion = 9
    static let opset = 20
    /// The ONNX-ML operators' domain and version (LabelEncoder with string keys: version 2).
    static let mlDomain = "ai.onnx.ml", mlOpset = 2

    enum Attribute {
        case int(Int), float(Float), string(String), ints([Int]), strings([String])
    }

    /// `TensorProto.DataType`.
    enum ElementType: Int { case float = 1, int64 = 7, string = 8, bool = 9, double = 11 }
    /// Whether a node of the ONNX-ML domain was added (its opset is then imported).
    private var usesML = false

    private var nodes: [ProtobufMessage] = []
    private var initializers: [ProtobufMessage] = []
    private var inputs: [ProtobufMessage] = []
    private var outputs: [ProtobufMessage] = []
    private var names: Set<String> = []
    /// The ops used, with how often: for the export summary.
    private(set) var opCounts: [String: Int] = [:]

    /// `name`, or `name_2`, `name_3`... when taken: every value in a graph has one name.
    private mutating func unique(_ name: String) -> String {
        var candidate = name, k = 1
        while names.contains(candidate) {
            k += 1
            candidate = "\(name)_\(k)"
        }
        names.insert(candidate)
        return candidate
    }

    /// A float32 initializer (weights, preprocessing statistics, scalars).
    mutating func constant(_ name: String, shape: [Int], values: [Float]) -> String {
        precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
        var raw: [UInt8] = []
        raw.reserveCapacity(values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        return initializer(name, shape: shape, type: .float, raw: raw)
    }

    mutating func scalar(_ name: String, _ value: Float) -> String { constant(name, shape: [], values: [value]) }

    /// A float64 initializer (dates are computed in double, as ``TableEncoder`` does).
    mutating func doubles(_ name: String, shape: [Int], values: [Double]) -> String {
        precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
        var raw: [UInt8] = []
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
        return initializer(name, shape: shape, type: .double, raw: raw)
    }

    /// A scalar string initializer (string tensors hold their values in `string_data`, not raw bytes).
    mutating func text(_ name: String, _ value: String) -> String {
        let name = unique(name)
        var tensor = ProtobufMessage()
        tensor.int(2, ElementType.string.rawValue)   // data_type
        tensor.string(6, value)                       // string_data
        tensor.string(8, name)                        // name
        initializers.append(tensor)
        return name
    }

    /// A scalar int64 initializer (a Gather index that drops its axis).
    mutating func integer(_ name: String, _ value: Int) -> String {
        var raw: [UInt8] = []
        withUnsafeBytes(of: Int64(value).littleEndian) { raw.append(contentsOf: $0) }
        return initializer(name, shape: [], type: .int64, raw: raw)
    }

    /// An int64 initializer (shapes for Reshape, indices for Slice).
    mutating func integers(_ name: String, _ values: [Int]) -> String {
        var raw: [UInt8] = []
        for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { raw.append(contentsOf: $0) } }
        return initializer(name, shape: [values.count], type: .int64, raw: raw)
    }

    /// A `TensorProto` of little-endian `raw` data, added to the graph's initializers.
    private mutating func initializer(_ name: String, shape: [Int], type: ElementType, raw: [UInt8]) -> String {
        let name = unique(name)
        var tensor = ProtobufMessage()
        for d in shape { tensor.int(1, d) }           // dims
        tensor.int(2, type.rawValue)                  // data_type
        tensor.string(8, name)                        // name
        tensor.data(9, raw)                           // raw_data
        initializers.append(tensor)
        return name
    }

    /// Appends a node computing `op(inputs)` and returns its output's name.
    /// `domain`: "" for the ONNX operators, ``mlDomain`` for ONNX-ML's.
    mutating func node(_ op: String, _ inputs: [String], name: String, attributes: [(String, Attribute)] = [], domain: String = "") -> String {
        node(op, inputs, names: [name], attributes: attributes, domain: domain)[0]
    }

    /// A node with several outputs, named after `names`; returns their names.
    mutating func node(_ op: String, _ inputs: [String], names: [String], attributes: [(String, Attribute)] = [], domain: String = "") -> [String] {
        let outputs = names.map { unique($0) }
        var node = ProtobufMessage()
        for input in inputs { node.string(1, input) }
        for output in outputs { node.string(2, output) }
        node.string(3, outputs[0])
        node.string(4, op)
        if !domain.isEmpty {
            node.string(7, domain)
            usesML = true
        }
        for (key, value) in attributes {
            var attribute = ProtobufMessage()
            attribute.string(1, key)
            switch value {
            case .float(let f): attribute.float(2, f); attribute.int(20, 1)
            case .int(let i): attribute.int(3, i); attribute.int(20, 2)
            case .string(let text): attribute.string(4, text); attribute.int(20, 3)
            case .ints(let list): for i in list { attribute.int(8, i) }; attribute.int(20, 7)
            case .strings(let list): for text in list { attribute.string(9, text) }; attribute.int(20, 8)
            }
            node.message(5, attribute)
        }
        nodes.append(node)
        opCounts[op, default: 0] += 1
        return outputs
    }

    /// A (N, width) value of `type` (float32 unless said): N is the symbolic batch dimension.
    private func valueInfo(_ name: String, width: Int, type elementType: ElementType = .float) -> ProtobufMessage {
        var batch = ProtobufMessage(), columns = ProtobufMessage()
        batch.string(2, "N")          // dim_param
        columns.int(1, width)         // dim_value
        var shape = ProtobufMessage()
        shape.message(1, batch)
        shape.message(1, columns)
        var tensorType = ProtobufMessage()
        tensorType.int(1, elementType.rawValue)
        tensorType.message(2, shape)
        var type = ProtobufMessage()
        type.message(1, tensorType)
        var info = ProtobufMessage()
        info.string(1, name)
        info.message(2, type)
        return info
    }

    mutating func input(_ name: String, width: Int, type: ElementType = .float) -> String {
        let name = unique(name)
        inputs.append(valueInfo(name, width: width, type: type))
        return name
    }

    /// Names `value` as a graph output `name` (through an Identity node, so the output has
    /// the user-facing name whatever computed it).
    mutating func output(_ value: String, as name: String, width: Int, type: ElementType = .float) {
        let named = node("Identity", [value], name: name)
        outputs.append(valueInfo(named, width: width, type: type))
    }

    /// The serialized `ModelProto`; `metadata` becomes `metadata_props`.
    func encoded(graphName: String, producerVersion: String, metadata: [(String, String)]) -> [UInt8] {
        var graph = ProtobufMessage()
        for node in nodes { graph.message(1, node) }
        graph.string(2, graphName)
        for tensor in initializers { graph.message(5, tensor) }
        for input in inputs { graph.message(11, input) }
        for output in outputs { graph.message(12, output) }
        var opset = ProtobufMessage()
        opset.string(1, "")
        opset.int(2, Self.opset)
        var model = ProtobufMessage()
        model.int(1, Self.irVersion)
        model.string(2, "dltrain")
        model.string(3, producerVersion)
        model.message(7, graph)
        model.message(8, opset)
        if usesML {
            var ml = ProtobufMessage()
            ml.string(1, Self.mlDomain)
            ml.int(2, Self.mlOpset)
            model.message(8, ml)
        }
        for (key, value) in metadata {
            var entry = ProtobufMessage()
            entry.string(1, key)
            entry.string(2, value)
            model.message(14, entry)
        }
        return model.bytes
    }
}
