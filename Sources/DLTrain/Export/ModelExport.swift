import DLCore
import DLData
import DLNN
import Foundation

/// `dltrain export`: a checkpoint's inference path as an ONNX model, or its weights as safetensors.
public enum ModelExport {
    public enum Format: String, CaseIterable, Sendable { case onnx, safetensors }

    /// Writes `checkpoint` in `format` to `output` (atomically: a temporary file renamed into
    /// place) and returns a one-paragraph account of what was written.
    public static func export(checkpoint path: String, format: Format, to output: String) throws -> String {
        let checkpoint = try Checkpoint.read(path)
        let (config, model, _) = try checkpoint.restoredModel(path: path)
        let bytes: [UInt8], account: String
        switch format {
        case .onnx:
            (bytes, account) = onnx(checkpoint, config: config, model: model)
        case .safetensors:
            (bytes, account) = safetensors(checkpoint, config: config)
        }
        let temporary = output + ".partial"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw DataError(file: output, "cannot write the exported model (does its directory exist, is the disk full?)")
        }
        guard rename(temporary, output) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw DataError(file: output, "cannot move the exported model into place: \(reason)")
        }
        return "wrote \(output) (\(bytes.count) bytes): " + account
    }

    // MARK: ONNX

    /// The whole inference path in one graph, mirroring ``Predictor`` for one checkpoint:
    ///
    ///     features (N, D) → fill missing (IsNaN, Where) → (x − shift) · scale → (x − μ) P
    ///       → each layer: combine inputs (Add / Concat), MatMul + Add with batch norm folded
    ///         into the kernel and bias, the activation (a composition where ONNX has no op)
    ///       → probabilities (Softmax; Sigmoid and its complement for binary tasks; the logits
    ///         divided by the fitted temperature first) and the decided class's name (`label`:
    ///         ArgMax, or p₁ ≥ the threshold), or predictions in the target's units (and std
    ///         for gaussian_nll)
    ///
    /// Dropout is the identity at inference. Batch norm with running mean m, variance v,
    /// scale γ and shift β is, per unit j, an affine map folded into the preceding layer:
    /// `W'[:, j] = W[:, j] · s_j`, `b'_j = (b_j − m_j) · s_j + β_j`, `s_j = γ_j / √(v_j + ε)`
    /// (computed in double).
    static func onnx(_ checkpoint: Checkpoint, config: Config, model: Model) -> ([UInt8], String) {
        var g = ONNXGraph()
        let p = checkpoint.preprocessor
        var x: String
        if let table = checkpoint.table {
            let inputs = tableInputs(table, checkpoint.parameters, &g)
            var parts = inputs.oneHot + inputs.vectors
            if !inputs.numeric.isEmpty { parts.insert(preprocessed(concatenated(inputs.numeric, name: "table/numeric", &g), p, &g), at: 0) }
            x = concatenated(parts, name: "table/inputs", &g)
        } else {
            x = preprocessed(g.input("features", width: p.inputColumns), p, &g)
        }

        var produced: [String: String] = [ModelSpec.inputName: x]
        var previous = x
        for layer in config.model.layers {
            var source = previous
            if let names = layer.inputs {
                let parts = names.map { produced[$0]! }  // the model was built from this spec, so every name exists
                source = parts[0]
                for part in parts.dropFirst() where layer.combine == .add { source = g.node("Add", [source, part], name: "\(layer.name)/sum") }
                if layer.combine == .concat && parts.count > 1 { source = g.node("Concat", parts, name: "\(layer.name)/concat", attributes: [("axis", .int(1))]) }
            }
            let z = affine(layer, source, checkpoint.parameters, &g)
            let h = activation(layer, z, checkpoint.parameters, &g)
            produced[layer.name] = h
            previous = h
        }

        let units = model.outputUnits
        var outputs: [String]
        switch config.model.loss.kind {
        case .crossEntropy, .hinge, .binaryCrossEntropy:
            let d = checkpoint.decisions
            let logits = d.temperature == 1 ? previous : g.node("Div", [previous, g.scalar("temperature", Float(d.temperature))], name: "tempered")
            var probabilities: String
            if config.model.loss.kind == .binaryCrossEntropy {
                let positive = g.node("Sigmoid", [logits], name: "sigmoid")
                let negative = g.node("Sub", [g.scalar("one", 1), positive], name: "complement")
                probabilities = g.node("Concat", [negative, positive], name: "both", attributes: [("axis", .int(1))])
            } else {
                probabilities = g.node("Softmax", [logits], name: "softmax", attributes: [("axis", .int(1))])
            }
            let classes = checkpoint.classNames.count
            g.output(probabilities, as: "probabilities", width: classes)
            g.output(label(probabilities, classes: checkpoint.classNames, threshold: d.threshold, &g), as: "label", width: 1, type: .string)
            outputs = ["probabilities (N, \(classes))", "label (N, 1)" + (d.threshold.map { String(format: ", threshold %.4g", $0) } ?? "")
                + (d.temperature == 1 ? "" : String(format: "; temperature %.4g", d.temperature))]
        case .gaussianNLL:
            let t = units / 2
            let pairs = g.node("Reshape", [previous, g.integers("pairs_shape", [-1, t, 2])], name: "pairs")
            func half(_ k: Int, _ name: String) -> String {
                let slice = g.node("Slice", [pairs, g.integers("\(name)_start", [k]), g.integers("\(name)_end", [k + 1]), g.integers("\(name)_axis", [2])], name: "\(name)_slice")
                return g.node("Reshape", [slice, g.integers("\(name)_shape", [-1, t])], name: name)
            }
            var mean = half(0, "mean"), variance = g.node("Add", [g.node("Softplus", [half(1, "raw_scale")], name: "softplus"), g.scalar("variance_floor", 1e-6)], name: "variance")
            if let shift = p.targetShift, let scale = p.targetScale {
                mean = g.node("Add", [g.node("Div", [mean, g.constant("target_scale", shape: [t], values: scale)], name: "mean_unscaled"),
                                      g.constant("target_shift", shape: [t], values: shift)], name: "mean_in_units")
                variance = g.node("Div", [variance, g.constant("target_scale_squared", shape: [t], values: scale.map { $0 * $0 })], name: "variance_in_units")
            }
            g.output(mean, as: "predictions", width: t)
            g.output(g.node("Sqrt", [variance], name: "sqrt"), as: "std", width: t)
            outputs = ["predictions (N, \(t))", "std (N, \(t))"]
        case .mse, .mae, .huber:
            var value = previous
            if let shift = p.targetShift, let scale = p.targetScale {
                value = g.node("Add", [g.node("Div", [value, g.constant("target_scale", shape: [units], values: scale)], name: "unscaled"),
                                       g.constant("target_shift", shape: [units], values: shift)], name: "in_units")
            }
            g.output(value, as: "predictions", width: units)
            outputs = ["predictions (N, \(units))"]
        }

        var metadata: [(String, String)] = [("task", config.task.rawValue)]
        if !checkpoint.classNames.isEmpty { metadata.append(("classes", JSON.array(checkpoint.classNames.map(JSON.string)).rendered(indent: nil))) }
        metadata.append(("features", JSON.array(checkpoint.featureNames.map(JSON.string)).rendered(indent: nil)))
        if let table = checkpoint.table {
            metadata.append(("columns", JSON.object(table.columns.map { ($0.name, JSON.string($0.kind == .numeric ? "float32" : "string")) }).rendered(indent: nil)))
        }
        if !checkpoint.targetNames.isEmpty { metadata.append(("targets", JSON.array(checkpoint.targetNames.map(JSON.string)).rendered(indent: nil))) }
        let bytes = g.encoded(graphName: "dltrain", producerVersion: DLTrain.dltrainVersion, metadata: metadata)
        let ops = g.opCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let inputs = checkpoint.table.map { "one input per column (\($0.columns.count): float32 (N, 1) numbers, NaN where missing; string (N, 1) categories and dates)" }
            ?? "input features (N, \(p.inputColumns))"
        return (bytes, "ONNX opset \(ONNXGraph.opset), \(inputs), output \(outputs.joined(separator: " and ")); nodes: \(ops)")
    }

    /// The decided class's name (N, 1): ArgMax, or for a binary threshold p₁ ≥ t, as
    /// ``decidedClass(_:width:threshold:)``; the index named by ONNX-ML's LabelEncoder.
    private static func label(_ probabilities: String, classes: [String], threshold: Double?, _ g: inout ONNXGraph) -> String {
        var index: String
        if let threshold {
            let positive = g.node("Slice", [probabilities, g.integers("positive_start", [1]), g.integers("positive_end", [2]), g.integers("positive_axis", [1])], name: "positive")
            let decided = g.node("GreaterOrEqual", [positive, g.scalar("threshold", Float(threshold))], name: "decided_positive")
            index = g.node("Cast", [decided], name: "decided", attributes: [("to", .int(ONNXGraph.ElementType.int64.rawValue))])
        } else {
            index = g.node("ArgMax", [probabilities], name: "decided", attributes: [("axis", .int(1)), ("keepdims", .int(1))])
        }
        return g.node("LabelEncoder", [index], name: "class_name", attributes: [
            ("keys_int64s", .ints(Array(classes.indices))), ("values_strings", .strings(classes)), ("default_string", .string("")),
        ], domain: ONNXGraph.mlDomain)
    }

    /// `data.preprocess` on the inputs it transforms (a table's numeric block, or every feature).
    private static func preprocessed(_ input: String, _ p: Preprocessor, _ g: inout ONNXGraph) -> String {
        var x = input
        let d = p.transformedColumns
        if let fill = p.fill {
            let missing = g.node("IsNaN", [x], name: "preprocess/missing")
            x = g.node("Where", [missing, g.constant("preprocess/fill", shape: [d], values: fill), x], name: "preprocess/filled")
        }
        if p.shift.contains(where: { $0 != 0 }) {
            x = g.node("Sub", [x, g.constant("preprocess/shift", shape: [d], values: p.shift)], name: "preprocess/shifted")
        }
        if p.scale.contains(where: { $0 != 1 }) {
            x = g.node("Mul", [x, g.constant("preprocess/scale", shape: [d], values: p.scale)], name: "preprocess/scaled")
        }
        if let projection = p.projection, let mean = p.pcaMean, let k = p.components {
            x = g.node("Sub", [x, g.constant("preprocess/pca_mean", shape: [d], values: mean)], name: "preprocess/centred")
            x = g.node("MatMul", [x, g.constant("preprocess/projection", shape: [d, k], values: projection)], name: "preprocess/projected")
        }
        return x
    }

    private static func concatenated(_ parts: [String], name: String, _ g: inout ONNXGraph) -> String {
        parts.count == 1 ? parts[0] : g.node("Concat", parts, name: name, attributes: [("axis", .int(1))])
    }

    /// A table's raw columns as graph inputs, encoded as ``TableEncoder`` does: numbers filled
    /// where NaN (IsNaN, Where), log1p'd, shifted and scaled, with their indicator; categories
    /// looked up (ONNX-ML LabelEncoder: kept levels to their index, pooled levels and any
    /// other string to "other", the missing-value tokens to "(missing)" or the most frequent
    /// level), then one-hot (Gather from an identity) or embedded (Gather from the learned
    /// table); dates parsed and expanded in the graph (``ONNXGraph/dateInputs(_:missingValues:prefix:)``).
    /// Returns the three blocks of the model's input, each in column order.
    private static func tableInputs(_ table: TableEncoder, _ parameters: [String: (shape: [Int], values: [Float])], _ g: inout ONNXGraph)
        -> (numeric: [String], oneHot: [String], vectors: [String]) {
        var numeric: [String] = [], oneHot: [String] = [], vectors: [String] = []
        for column in table.columns {
            let safe = column.name.map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            switch column.kind {
            case .numeric:
                let x = g.input(column.name, width: 1)
                let missing = g.node("IsNaN", [x], name: "\(safe)/missing")
                var v = g.node("Where", [missing, g.scalar("\(safe)/fill", column.fill[0]), x], name: "\(safe)/filled")
                if column.log { v = g.node("Log", [g.node("Add", [v, g.scalar("\(safe)/one", 1)], name: "\(safe)/plus_one")], name: "\(safe)/log1p") }
                v = g.node("Mul", [g.node("Sub", [v, g.scalar("\(safe)/shift", column.shift[0])], name: "\(safe)/shifted"),
                                   g.scalar("\(safe)/scale", column.scale[0])], name: "\(safe)/scaled")
                numeric.append(v)
                if column.indicator { numeric.append(g.node("Cast", [missing], name: "\(safe)/indicator", attributes: [("to", .int(ONNXGraph.ElementType.float.rawValue))])) }
            case .category:
                let s = g.input(column.name, width: 1, type: .string)
                let mostFrequent = column.missing == CategoryHandling.Missing.mostFrequent.rawValue
                let tokens = table.missingValues.filter { !column.levels.contains($0) && !column.pooledLevels.contains($0) }
                let keys = column.levels + column.pooledLevels + tokens
                let values = Array(0..<column.levels.count) + Array(repeating: column.otherIndex, count: column.pooledLevels.count)
                    + Array(repeating: mostFrequent ? 0 : column.missingIndex, count: tokens.count)
                let index = g.node("LabelEncoder", [s], name: "\(safe)/level", attributes: [
                    ("keys_strings", .strings(keys)), ("values_int64s", .ints(values)), ("default_int64", .int(column.otherIndex)),
                ], domain: ONNXGraph.mlDomain)
                let flat = g.node("Reshape", [index, g.integers("\(safe)/flat_shape", [-1])], name: "\(safe)/index")
                if column.isEmbedded {
                    let k = table.columns.filter(\.isEmbedded).firstIndex { $0.name == column.name }!
                    let t = parameters["embedding_\(k)/table"]!
                    vectors.append(g.node("Gather", [g.constant("embedding_\(k)/table", shape: t.shape, values: t.values), flat], name: "\(safe)/embedded"))
                } else {
                    let n = column.levelCount
                    var identity = [Float](repeating: 0, count: n * n)
                    for i in 0..<n { identity[i * n + i] = 1 }
                    oneHot.append(g.node("Gather", [g.constant("\(safe)/one_hot_rows", shape: [n, n], values: identity), flat], name: "\(safe)/one_hot"))
                }
            case .date:
                numeric.append(g.dateInputs(column, missingValues: table.missingValues, prefix: safe))
            }
        }
        return (numeric, oneHot, vectors)
    }

    /// z = x W + b (or x U V + b), batch norm folded in. Returns z's name.
    private static func affine(_ layer: LayerSpec, _ x: String, _ parameters: [String: (shape: [Int], values: [Float])], _ g: inout ONNXGraph) -> String {
        let name = layer.name
        // The last factor carries the output columns: the kernel, or V of a low-rank pair.
        var last = parameters[layer.rank == nil ? "\(name)/kernel" : "\(name)/kernel_b"]!
        var bias = parameters["\(name)/bias"]!.values
        if layer.batchNorm != nil, let gamma = parameters["\(name)/gamma"]?.values, let beta = parameters["\(name)/beta"]?.values,
           let mean = parameters["\(name)/moving_mean"]?.values, let variance = parameters["\(name)/moving_variance"]?.values {
            let epsilon = layer.batchNorm!.epsilon, columns = last.shape[1]
            let factor = (0..<columns).map { Double(gamma[$0]) / (Double(variance[$0]) + epsilon).squareRoot() }
            for i in last.values.indices { last.values[i] = Float(Double(last.values[i]) * factor[i % columns]) }
            for j in 0..<columns { bias[j] = Float((Double(bias[j]) - Double(mean[j])) * factor[j] + Double(beta[j])) }
        }
        var z = x
        if layer.rank != nil {
            let a = parameters["\(name)/kernel_a"]!
            z = g.node("MatMul", [z, g.constant("\(name)/kernel_a", shape: a.shape, values: a.values)], name: "\(name)/low_rank")
        }
        z = g.node("MatMul", [z, g.constant("\(name)/kernel", shape: last.shape, values: last.values)], name: "\(name)/matmul")
        return g.node("Add", [z, g.constant("\(name)/bias", shape: [bias.count], values: bias)], name: "\(name)/affine")
    }

    /// h = f(z). Every ``Activation`` has a case here (the switch is exhaustive, so a new
    /// activation cannot be added without its export); the ones without an ONNX op are
    /// compositions: gelu = ½ z (1 + erf(z / √2)), swish = z σ(z), maxout = ReduceMax over
    /// the k pieces of each unit.
    private static func activation(_ layer: LayerSpec, _ z: String, _ parameters: [String: (shape: [Int], values: [Float])], _ g: inout ONNXGraph) -> String {
        let name = layer.name
        switch layer.activation {
        case .linear: return z
        case .sigmoid: return g.node("Sigmoid", [z], name: "\(name)/sigmoid")
        case .tanh: return g.node("Tanh", [z], name: "\(name)/tanh")
        case .relu: return g.node("Relu", [z], name: "\(name)/relu")
        case .abs: return g.node("Abs", [z], name: "\(name)/abs")
        case .softplus: return g.node("Softplus", [z], name: "\(name)/softplus")
        case .leakyRelu:
            return g.node("LeakyRelu", [z], name: "\(name)/leaky_relu", attributes: [("alpha", .float(Float(layer.alpha ?? 0.01)))])
        case .elu:
            return g.node("Elu", [z], name: "\(name)/elu", attributes: [("alpha", .float(Float(layer.alpha ?? 1)))])
        case .selu:
            return g.node("Selu", [z], name: "\(name)/selu", attributes: [("alpha", .float(Float(UnaryOp.seluAlpha))), ("gamma", .float(Float(UnaryOp.seluLambda)))])
        case .gelu:
            let erf = g.node("Erf", [g.node("Mul", [z, g.scalar("\(name)/inv_sqrt2", Float(1 / 2.0.squareRoot()))], name: "\(name)/scaled")], name: "\(name)/erf")
            let half = g.node("Mul", [z, g.scalar("\(name)/half", 0.5)], name: "\(name)/half_z")
            return g.node("Mul", [half, g.node("Add", [erf, g.scalar("\(name)/one", 1)], name: "\(name)/one_plus_erf")], name: "\(name)/gelu")
        case .swish, .silu:
            return g.node("Mul", [z, g.node("Sigmoid", [z], name: "\(name)/gate")], name: "\(name)/swish")
        case .prelu:
            let slope = parameters["\(name)/alpha"]!
            return g.node("PRelu", [z, g.constant("\(name)/alpha", shape: slope.shape, values: slope.values)], name: "\(name)/prelu")
        case .maxout:
            let pieces = g.node("Reshape", [z, g.integers("\(name)/pieces_shape", [-1, layer.units, layer.pieces])], name: "\(name)/pieces")
            return g.node("ReduceMax", [pieces, g.integers("\(name)/piece_axis", [2])], name: "\(name)/maxout", attributes: [("keepdims", .int(0))])
        }
    }

    // MARK: safetensors

    /// The weights (and the preprocessing statistics) in the safetensors format: an 8-byte
    /// little-endian header length, a JSON header naming each tensor's dtype, shape and byte
    /// range, then the raw little-endian float32 data. Names are the checkpoint's
    /// (`dense_0/kernel` (in, out), `preprocess/shift`...); `__metadata__` holds the task,
    /// classes, features and the resolved config as strings.
    static func safetensors(_ checkpoint: Checkpoint, config: Config) -> ([UInt8], String) {
        var tensors: [(String, [Int], [Float])] = checkpoint.parameters.keys.sorted().map { ($0, checkpoint.parameters[$0]!.shape, checkpoint.parameters[$0]!.values) }
        let p = checkpoint.preprocessor
        let statistics: [(String, [Float]?, [Int]?)] = [
            ("fill", p.fill, nil), ("shift", p.shift, nil), ("scale", p.scale, nil), ("pca_mean", p.pcaMean, nil),
            ("projection", p.projection, [p.transformedColumns, p.components ?? 0]), ("target_shift", p.targetShift, nil), ("target_scale", p.targetScale, nil),
        ]
        for (name, values, shape) in statistics {
            if let values { tensors.append(("preprocess/\(name)", shape ?? [values.count], values)) }
        }
        var entries: [(String, JSON)] = [("__metadata__", .object([
            ("format", .string("dltrain")), ("task", .string(config.task.rawValue)),
            ("classes", .string(JSON.array(checkpoint.classNames.map(JSON.string)).rendered(indent: nil))),
            ("features", .string(JSON.array(checkpoint.featureNames.map(JSON.string)).rendered(indent: nil))),
            ("config", .string(checkpoint.config.rendered(indent: nil))),
        ]))]
        var data: [UInt8] = [], offset = 0
        for (name, shape, values) in tensors {
            entries.append((name, .object([
                ("dtype", .string("F32")), ("shape", .array(shape.map { .number(Double($0)) })),
                ("data_offsets", .array([.number(Double(offset)), .number(Double(offset + values.count * 4))])),
            ])))
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
            offset += values.count * 4
        }
        var header = Array(JSON.object(entries).rendered(indent: nil).utf8)
        while header.count % 8 != 0 { header.append(0x20) }  // the data starts 8-byte aligned
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += header + data
        return (bytes, "safetensors, \(tensors.count) float32 tensors (\(offset) bytes of data)")
    }
}
