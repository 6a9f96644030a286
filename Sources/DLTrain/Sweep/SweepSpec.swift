import DLData
import DLCore
import Foundation

/// A sweep file: a base config, a search method and the parameters to search.
public struct SweepSpec {
    public enum Method: String { case grid, random, halving }

    public enum Domain: Equatable {
        case values([JSON])
        case uniform(Double, Double)
        case logUniform(Double, Double)
        case intUniform(Int, Int)
        case quantized(Double, Double, q: Double)

        /// Whether the values are numbers on a scale a chart can draw.
        var numeric: (low: Double, high: Double, log: Bool)? {
            switch self {
            case .uniform(let a, let b), .quantized(let a, let b, _): (a, b, false)
            case .logUniform(let a, let b): (a, b, true)
            case .intUniform(let a, let b): (Double(a), Double(b), false)
            case .values(let v):
                v.allSatisfy { $0.number != nil } ? (v.compactMap(\.number).min()!, v.compactMap(\.number).max()!, false) : nil
            }
        }
    }

    public var file: String
    public var base: String
    public var method: Method
    public var trials: Int
    public var metric: String
    public var maximize: Bool
    public var parameters: [(path: String, domain: Domain)]
    public var seed: UInt64
    public var parallel: Int
    public var out: String
    public var minEpochs: Int
    public var maxEpochs: Int
    public var eta: Int
    public var refineRounds: Int
    public var shrink: Double

    static let parameter: Schema = .object([
        .init("values", .array(.anyOf([.number(), .string(), .boolean]), minItems: 1), "the values to try (grid: every one; random: chosen uniformly)"),
        .init("distribution", .string(allowed: ["uniform", "log_uniform", "int_uniform", "q_uniform"]), "how random values are drawn"),
        .init("min", .number(), "the distribution's lower end"),
        .init("max", .number(), "the distribution's upper end"),
        .init("q", .number(.init(minimum: 0, exclusiveMinimum: true)), "q_uniform: values are multiples of q"),
    ])

    public static let schema: Schema = .object([
        .init("base", .string(), required: true, "the config every trial starts from, relative to the sweep file"),
        .init("method", .string(allowed: ["grid", "random", "halving"]), default: .string("random"), "grid: every combination; random: draws; halving: successive halving on epochs"),
        .init("trials", .integer(.init(minimum: 1)), default: .number(10), "random and halving: how many trials (per round)"),
        .init("metric", .object([
            .init("name", .string(), required: true, "a metrics.csv column of the trials, e.g. val_accuracy"),
            .init("goal", .string(allowed: ["max", "min"]), required: true, "whether larger or smaller is better"),
        ]), required: true, "what ranks the trials (its best value over a trial's epochs)"),
        .init("parameters", .object([]), required: true, "dotted config keys and what to try for each"),
        .init("seed", .integer(.init(minimum: 0, maximum: 9_007_199_254_740_991)), default: .number(0), "draws and trial seeds derive from it"),
        .init("parallel", .integer(.init(minimum: 1)), default: .number(1), "trials at a time; the cores are divided between them"),
        .init("out", .string(), "the sweep directory (default runs/SWEEP-NAME)"),
        .init("min_epochs", .integer(.init(minimum: 1)), default: .number(1), "halving: epochs of the first rung"),
        .init("max_epochs", .integer(.init(minimum: 1)), "halving: epochs of the last rung (default the base config's)"),
        .init("eta", .integer(.init(minimum: 2)), default: .number(3), "halving: keep the best 1/eta at each rung, eta times the epochs"),
        .init("refine", .object([
            .init("rounds", .integer(.init(minimum: 1)), default: .number(2), "rounds in all, the first on the given ranges"),
            .init("shrink", .number(.init(minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true)), default: .number(0.5), "each round's range as a fraction of the last"),
        ]), "coarse to fine: after a round, narrow each numeric range around the best trial and search again"),
    ])

    public static func load(_ file: String, parallel override: Int? = nil) throws -> SweepSpec {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, path: "", "no such sweep file (or not UTF-8 text); check the path")
        }
        let raw: JSON
        do { raw = try JSON.parse(text) } catch let e as JSONSyntaxError {
            throw ConfigError(file: file, line: e.line, column: e.column, path: "", "invalid JSON: \(e.message)")
        }
        // The parameters object's keys are config paths, checked below; validate the rest as declared.
        var shell = raw
        if let members = raw.members, let k = members.firstIndex(where: { $0.key == "parameters" }) {
            var m = members
            m[k].value = JSON(.object([]), line: members[k].value.line, column: members[k].value.column)
            shell = JSON(.object(m), line: raw.line, column: raw.column)
            guard members[k].value.members != nil else {
                throw ConfigError(file: file, line: members[k].value.line, column: members[k].value.column, path: "parameters", "found \(members[k].value.typeName); expected an object of config keys")
            }
        }
        let r = try schema.validate(shell, file: file)
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        let basePath = r["base"]!.string!
        let base = basePath.hasPrefix("/") ? basePath : directory.appendingPathComponent(basePath).standardizedFileURL.path
        let baseConfig = try Config.load(base)
        func fail(_ path: String, _ message: String) -> ConfigError {
            let node = raw.node(at: path)
            return ConfigError(file: file, line: node?.line ?? 0, column: node?.column ?? 0, path: path, message)
        }
        var parameters: [(String, Domain)] = []
        for member in raw["parameters"]?.members ?? [] {
            let key = member.key, at = "parameters.\(key)"
            let components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard let target = ConfigSchema.root.child(at: components[...]) else {
                var known = 0
                while known < components.count, ConfigSchema.root.child(at: components[...known]) != nil { known += 1 }
                let siblings = ConfigSchema.root.keys(at: components[..<known])
                let hint = nearest(components[known], in: siblings).map { "; did you mean \"\(components[..<known].joined(separator: "."))\(known > 0 ? "." : "")\($0)\"?" } ?? ""
                throw ConfigError(file: file, line: member.value.line, column: member.value.column, path: at, "\"\(key)\" is not a config key\(hint)")
            }
            // An array item must exist in the base config (model.layers.3 when there are 2 layers is no key).
            var node: JSON? = baseConfig.resolved
            for part in components {
                guard let current = node else { break }
                if let index = Int(part) { node = current.items.flatMap { index < $0.count ? $0[index] : nil } } else { node = current[part] ?? .null }
            }
            if node == nil { throw fail(at, "\"\(key)\" does not exist in the base config \(basePath) (an array index beyond its items)") }
            let p = try parameter.validate(member.value, file: file, path: at)
            let domain: Domain
            if let values = p["values"]?.items {
                if p["distribution"] != nil { throw fail(at, "give either \"values\" or a \"distribution\", not both") }
                for (k, v) in values.enumerated() {
                    do { _ = try target.validate(v, file: file, path: "\(at).values[\(k)]") } catch let e as ConfigError {
                        throw ConfigError(file: file, line: v.line, column: v.column, path: "\(at).values[\(k)]", e.message)
                    }
                }
                domain = .values(values)
            } else {
                guard let kind = p["distribution"]?.string else { throw fail(at, "give \"values\" or a \"distribution\" with \"min\" and \"max\"") }
                guard let low = p["min"]?.number, let high = p["max"]?.number else { throw fail(at, "the \(kind) distribution needs \"min\" and \"max\"") }
                guard low < high else { throw fail("\(at).max", "max (\(high)) must exceed min (\(low))") }
                switch kind {
                case "log_uniform":
                    guard low > 0 else { throw fail("\(at).min", "log_uniform needs min > 0, found \(low)") }
                    domain = .logUniform(low, high)
                case "int_uniform": domain = .intUniform(Int(low.rounded(.up)), Int(high.rounded(.down)))
                case "q_uniform":
                    guard let q = p["q"]?.number else { throw fail(at, "q_uniform needs \"q\"") }
                    domain = .quantized(low, high, q: q)
                default: domain = .uniform(low, high)
                }
                for probe in [low, high] {
                    let value: JSON = kind == "int_uniform" ? .number(probe.rounded()) : .number(probe)
                    do { _ = try target.validate(value, file: file, path: at) } catch let e as ConfigError {
                        throw fail(at, "the range \(low)...\(high) leaves what \(key) accepts: \(e.message)")
                    }
                }
            }
            parameters.append((key, domain))
        }
        guard !parameters.isEmpty else { throw fail("parameters", "no parameters to search; name at least one config key") }
        let method = Method(rawValue: r["method"]!.string!)!
        if method == .grid, let k = parameters.firstIndex(where: { if case .values = $0.1 { false } else { true } }) {
            throw fail("parameters.\(parameters[k].0)", "grid search needs \"values\" for every parameter; a distribution is for random or halving")
        }
        let metric = r["metric"]!["name"]!.string!
        if !baseConfig.metricNames.contains(metric) {
            let hint = nearest(metric, in: baseConfig.metricNames).map { "; did you mean \"\($0)\"?" } ?? ""
            throw fail("metric.name", "\"\(metric)\" is not recorded by the base config's runs (they record \(baseConfig.metricNames.joined(separator: ", ")))\(hint)")
        }
        if r["refine"] != nil && method == .grid { throw fail("refine", "refining narrows ranges for new draws; use method \"random\" or \"halving\"") }
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        let out = r["out"]?.string.map { $0.hasPrefix("/") ? $0 : $0 } ?? "runs/\(stem)"
        let maxEpochs = r["max_epochs"].map { Int($0.number!) } ?? baseConfig.epochs
        let minEpochs = Int(r["min_epochs"]!.number!)
        if method == .halving && minEpochs > maxEpochs { throw fail("min_epochs", "min_epochs (\(minEpochs)) exceeds max_epochs (\(maxEpochs))") }
        return SweepSpec(file: file, base: base, method: method, trials: Int(r["trials"]!.number!), metric: metric,
                         maximize: r["metric"]!["goal"]!.string! == "max", parameters: parameters, seed: UInt64(r["seed"]!.number!),
                         parallel: override ?? Int(r["parallel"]!.number!), out: out, minEpochs: minEpochs, maxEpochs: maxEpochs,
                         eta: Int(r["eta"]!.number!), refineRounds: r["refine"].map { Int($0["rounds"]!.number!) } ?? 1,
                         shrink: r["refine"]?["shrink"]?.number ?? 0.5)
    }
}
