import DLData
import DLNN
import Foundation

/// A validated config: the resolved JSON (defaults filled, written to the run directory)
/// and its typed reading.
public struct Config: Sendable {
    public enum Task: String, Sendable { case classification, binary, regression }

    public struct OptimizerSettings: Sendable {
        public var name: String
        public var learningRate: Double
        public var momentum: Double
        public var nesterov: Bool
        public var betas: (Double, Double)
        public var epsilon: Double
    }

    public var resolved: JSON
    /// The config file, as given; relative data paths resolve against its directory.
    public var file: String
    public var seed: UInt64
    public var trainPath: String
    public var target: CSVReader.TargetColumn
    public var task: Task
    public var layers: [DenseLayer]
    public var loss: Loss
    public var optimizer: OptimizerSettings
    public var epochs: Int
    public var batchSize: Int
    public var outputDirectory: String

    /// Reads, overrides (`KEY=VALUE` by dotted path), validates and types `file`.
    public static func load(_ file: String, overrides: [String] = []) throws -> Config {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, path: "", FileManager.default.fileExists(atPath: file)
                ? "cannot read the config file (permissions?)" : "no such config file; check the path")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, path: "", "the config file is not UTF-8 text")
        }
        var json: JSON
        do { json = try JSON.parse(text) } catch let e as JSONSyntaxError {
            throw ConfigError(file: file, line: e.line, column: e.column, path: "", "invalid JSON: \(e.message)")
        }
        for override in overrides { json = try applyOverride(override, to: json, schema: ConfigSchema.root) }
        let resolved = try ConfigSchema.root.validate(json, file: file)
        return try Config(resolved: resolved, file: file, raw: json)
    }

    init(resolved: JSON, file: String, raw: JSON) throws {
        self.file = file
        let r = resolved
        seed = UInt64(r["seed"]!.number!)
        let data = r["data"]!, train = data["train"]!
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        let path = train["path"]!.string!
        trainPath = path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path
        target = train["target"]!.string.map { .name($0) } ?? .index(Int(train["target"]!.number!))
        task = Task(rawValue: data["task"]!.string!)!

        let model = r["model"]!
        layers = model["layers"]!.items!.enumerated().map { k, layer in
            DenseLayer(name: layer["name"]?.string ?? "dense_\(k)", units: Int(layer["units"]!.number!),
                       activation: Activation(rawValue: layer["activation"]!.string!)!, alpha: layer["alpha"]?.number)
        }
        loss = Loss(rawValue: model["loss"]!.string!)!

        let o = r["optimizer"]!, betas = o["betas"]!.items!.map { $0.number! }
        optimizer = OptimizerSettings(name: o["name"]!.string!, learningRate: o["lr"]!.number!, momentum: o["momentum"]!.number!,
                                      nesterov: o["nesterov"]!.bool!, betas: (betas[0], betas[1]), epsilon: o["eps"]!.number!)
        epochs = Int(r["training"]!["epochs"]!.number!)
        batchSize = Int(r["training"]!["batch_size"]!.number!)
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        outputDirectory = r["output"]!["dir"]?.string ?? "runs/\(stem)"
        self.resolved = r

        try checkContradictions(raw: raw)
    }

    /// Settings that are each valid but do not fit together, found before any data is read.
    private func checkContradictions(raw: JSON) throws {
        func fail(_ path: String, _ message: String) -> ConfigError {
            var node: JSON? = raw
            for key in path.split(separator: ".") { node = node?[String(key)] }
            return ConfigError(file: file, line: node?.line ?? 0, column: node?.column ?? 0, path: path, message)
        }
        let expected: [Task: [Loss]] = [.classification: [.crossEntropy], .binary: [.binaryCrossEntropy], .regression: [.mse]]
        if !expected[task]!.contains(loss) {
            throw fail("model.loss", "\"\(loss.rawValue)\" does not fit data.task \"\(task.rawValue)\"; use \(expected[task]!.map { "\"\($0.rawValue)\"" }.joined(separator: " or "))")
        }
        let outputs = layers.last!.units
        if task == .binary && outputs != 1 {
            throw fail("model.layers", "binary_cross_entropy needs 1 output unit (one logit per row), but the last layer has \(outputs)")
        }
        if task == .regression && outputs != 1 {
            throw fail("model.layers", "a regression on one target column needs 1 output unit, but the last layer has \(outputs)")
        }
        if optimizer.name != "sgd" && (raw["optimizer"]?["momentum"] != nil || raw["optimizer"]?["nesterov"] != nil) {
            throw fail("optimizer.momentum", "momentum and nesterov belong to \"sgd\", but optimizer.name is \"\(optimizer.name)\"")
        }
        if optimizer.nesterov && optimizer.momentum == 0 {
            throw fail("optimizer.nesterov", "Nesterov momentum needs optimizer.momentum > 0")
        }
        let names = layers.map(\.name)
        if let duplicate = names.first(where: { n in names.filter { $0 == n }.count > 1 }) {
            throw fail("model.layers", "two layers are named \"\(duplicate)\"; layer names must be unique")
        }
    }
}

/// Applies `KEY=VALUE` to `json`, typing VALUE by the schema at KEY (`model.layers.0.units=64`).
func applyOverride(_ assignment: String, to json: JSON, schema: Schema) throws -> JSON {
    guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
        throw ConfigError(file: "--set", path: "", "\"\(assignment)\" is not KEY=VALUE (for example optimizer.lr=0.01)")
    }
    let key = String(assignment[..<eq]), text = String(assignment[assignment.index(after: eq)...])
    let components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard let target = schema.child(at: components[...]) else {
        // Name the first component that does not exist, and its nearest sibling.
        var known = 0
        while known < components.count, schema.child(at: components[...known]) != nil { known += 1 }
        let siblings = schema.keys(at: components[..<known])
        let hint = nearest(components[known], in: siblings).map { "; did you mean \"\(components[..<known].joined(separator: "."))\(known > 0 ? "." : "")\($0)\"?" } ?? ""
        throw ConfigError(file: "--set", path: key, "no such config key\(hint)")
    }
    let value: JSON
    switch target {
    case .string: value = .string(text)
    case .anyOf(let options) where options.contains(where: { if case .string = $0 { true } else { false } }):
        value = (try? JSON.parse(text)).flatMap { $0.number != nil ? $0 : nil } ?? .string(text)
    default:
        guard let parsed = try? JSON.parse(text) else {
            throw ConfigError(file: "--set", path: key, "\"\(text)\" is not a valid value; expected \(target.expectation)")
        }
        value = parsed
    }
    return try setting(value, at: components[...], in: json, key: key)
}

private func setting(_ value: JSON, at path: ArraySlice<String>, in node: JSON, key: String) throws -> JSON {
    guard let first = path.first else { return value }
    if var items = node.items {
        guard let k = Int(first), k >= 0 && k < items.count else {
            throw ConfigError(file: "--set", path: key, "index \(first) is outside the \(items.count) items of the array")
        }
        items[k] = try setting(value, at: path.dropFirst(), in: items[k], key: key)
        return JSON(.array(items), line: node.line, column: node.column)
    }
    var members = node.members ?? []
    if let k = members.firstIndex(where: { $0.key == first }) {
        members[k].value = try setting(value, at: path.dropFirst(), in: members[k].value, key: key)
    } else {
        members.append(JSON.Member(key: first, value: try setting(value, at: path.dropFirst(), in: JSON(.object([])), key: key)))
    }
    return JSON(.object(members), line: node.line, column: node.column)
}
