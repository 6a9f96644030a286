import DLData
/// The shape of a config file, declared once. The same declaration validates configs
/// (``validate(_:file:path:)``), types `--set` overrides, fills defaults, and prints the
/// JSON Schema (``jsonSchema()``), so the parser and the published schema cannot drift.
public indirect enum Schema: Sendable {
    case object([Field])
    case array(Schema, minItems: Int = 0, maxItems: Int? = nil)
    case string(allowed: [String]? = nil)
    case number(Bounds = Bounds())
    case integer(Bounds = Bounds())
    case boolean
    /// A value of any of these types (the first that accepts it wins).
    case anyOf([Schema])
    /// An object whose keys are the user's (column names), each value of this schema.
    case map(Schema)

    public struct Bounds: Sendable {
        public var minimum: Double? = nil
        public var maximum: Double? = nil
        public var exclusiveMinimum = false
        public var exclusiveMaximum = false

        public init(minimum: Double? = nil, maximum: Double? = nil, exclusiveMinimum: Bool = false, exclusiveMaximum: Bool = false) {
            self.minimum = minimum
            self.maximum = maximum
            self.exclusiveMinimum = exclusiveMinimum
            self.exclusiveMaximum = exclusiveMaximum
        }

        func contains(_ x: Double) -> Bool {
            if let lo = minimum, exclusiveMinimum ? x <= lo : x < lo { return false }
            if let hi = maximum, exclusiveMaximum ? x >= hi : x > hi { return false }
            return true
        }

        var text: String {
            let lo = minimum.map { (exclusiveMinimum ? "> " : ">= ") + JSON.format($0) }
            let hi = maximum.map { (exclusiveMaximum ? "< " : "<= ") + JSON.format($0) }
            return [lo, hi].compactMap { $0 }.joined(separator: " and ")
        }
    }

    public struct Field: Sendable {
        public var name: String
        public var type: Schema
        /// Filled in when the key is absent. A field with neither default nor `required`
        /// is optional and stays absent.
        public var defaultValue: JSON?
        public var required: Bool
        public var help: String

        public init(_ name: String, _ type: Schema, default defaultValue: JSON? = nil, required: Bool = false, _ help: String) {
            self.name = name
            self.type = type
            self.defaultValue = defaultValue
            self.required = required
            self.help = help
        }
    }

    /// What the schema accepts, in words, for error messages.
    var expectation: String {
        switch self {
        case .object: return "an object"
        case .map(let value): return "an object of \(value.expectation) values"
        case .array(let item, let minItems, let maxItems):
            let count = maxItems == minItems ? "exactly \(minItems) " : (minItems > 0 ? "at least \(minItems) " : "")
            return "an array of \(count)\(item.expectation) items".replacingOccurrences(of: "  ", with: " ")
        case .string(let allowed?): return "one of " + allowed.map { "\"\($0)\"" }.joined(separator: ", ")
        case .string: return "a string"
        case .number(let b): return b.text.isEmpty ? "a number" : "a number \(b.text)"
        case .integer(let b): return b.text.isEmpty ? "an integer" : "an integer \(b.text)"
        case .boolean: return "true or false"
        case .anyOf(let options): return options.map(\.expectation).joined(separator: " or ")
        }
    }

    /// Checks `json` and returns it with every default filled in, members in schema order.
    public func validate(_ json: JSON, file: String, path: String = "") throws -> JSON {
        func fail(_ message: String, at node: JSON? = nil) -> ConfigError {
            ConfigError(file: file, line: (node ?? json).line, column: (node ?? json).column, path: path, message)
        }
        let found = "found \(json.typeName)\(json.string.map { " \"\($0)\"" } ?? json.number.map { " \(JSON.format($0))" } ?? "")"
        switch self {
        case .object(let fields):
            guard let members = json.members else { throw fail("\(found); expected an object") }
            let names = fields.map(\.name)
            for member in members where !names.contains(member.key) {
                let hint = nearest(member.key, in: names).map { "; did you mean \"\($0)\"?" } ?? "; the keys allowed here are \(names.joined(separator: ", "))"
                throw ConfigError(file: file, line: member.value.line, column: member.value.column,
                                  path: join(path, member.key), "unknown key \"\(member.key)\"\(hint)")
            }
            var out: [JSON.Member] = []
            for field in fields {
                if let value = json[field.name] {
                    out.append(JSON.Member(key: field.name, value: try field.type.validate(value, file: file, path: join(path, field.name))))
                } else if let d = field.defaultValue {
                    out.append(JSON.Member(key: field.name, value: try field.type.validate(d, file: file, path: join(path, field.name))))
                } else if field.required {
                    throw fail("missing required key \"\(field.name)\" (\(field.help))")
                }
            }
            return JSON(.object(out), line: json.line, column: json.column)
        case .map(let value):
            guard let members = json.members else { throw fail("\(found); expected \(expectation)") }
            return JSON(.object(try members.map { JSON.Member(key: $0.key, value: try value.validate($0.value, file: file, path: join(path, $0.key))) }),
                        line: json.line, column: json.column)
        case .array(let item, let minItems, let maxItems):
            guard let items = json.items else { throw fail("\(found); expected \(expectation)") }
            guard items.count >= minItems, maxItems.map({ items.count <= $0 }) ?? true else {
                throw fail("found an array of \(items.count) items; expected \(expectation)")
            }
            return JSON(.array(try items.enumerated().map { try item.validate($1, file: file, path: "\(path)[\($0)]") }), line: json.line, column: json.column)
        case .string(let allowed):
            guard let s = json.string else { throw fail("\(found); expected \(expectation)") }
            if let allowed, !allowed.contains(s) {
                let hint = nearest(s, in: allowed).map { "; did you mean \"\($0)\"?" } ?? ""
                throw fail("\(found); expected \(expectation)\(hint)")
            }
            return json
        case .number(let bounds):
            guard let x = json.number else { throw fail("\(found); expected \(expectation)") }
            guard bounds.contains(x) else { throw fail("\(found); expected \(expectation)") }
            return json
        case .integer(let bounds):
            guard let x = json.number, x == x.rounded() else { throw fail("\(found); expected \(expectation)") }
            guard bounds.contains(x) else { throw fail("\(found); expected \(expectation)") }
            // Beyond 2^53 a JSON number is no longer an exact integer (and no count is that large).
            guard Swift.abs(x) <= Schema.largestInteger else { throw fail("\(found); expected \(expectation), at most \(Int(Schema.largestInteger)) in magnitude") }
            return json
        case .boolean:
            guard json.bool != nil else { throw fail("\(found); expected true or false") }
            return json
        case .anyOf(let options):
            // When exactly one option takes this kind of value, its own message is the precise one.
            let sameKind = options.filter { $0.acceptsKind(of: json) }
            if sameKind.count == 1 { return try sameKind[0].validate(json, file: file, path: path) }
            for option in sameKind { if let ok = try? option.validate(json, file: file, path: path) { return ok } }
            throw fail("\(found); expected \(expectation)")
        }
    }

    static let largestInteger = 9_007_199_254_740_991.0

    /// Whether this schema takes values of `json`'s JSON type at all (ignoring ranges and names).
    func acceptsKind(of json: JSON) -> Bool {
        switch (self, json.kind) {
        case (.object, .object), (.map, .object), (.array, .array), (.string, .string), (.number, .number), (.boolean, .bool): return true
        case (.integer, .number(let x)): return x == x.rounded()
        case (.anyOf(let options), _): return options.contains { $0.acceptsKind(of: json) }
        default: return false
        }
    }

    /// The schema below `path` (dotted keys, array items by index), or nil.
    public func child(at components: ArraySlice<String>) -> Schema? {
        guard let first = components.first else { return self }
        switch self {
        case .object(let fields): return fields.first { $0.name == first }?.type.child(at: components.dropFirst())
        case .array(let item, _, _): return Int(first) != nil ? item.child(at: components.dropFirst()) : nil
        case .map(let value): return value.child(at: components.dropFirst())
        case .anyOf(let options): return options.lazy.compactMap { $0.child(at: components) }.first
        default: return nil
        }
    }

    /// The declared default at `components` (object keys), if any.
    func defaultValue(at components: ArraySlice<String>) -> JSON? {
        guard let last = components.last, case .object(let fields)? = child(at: components.dropLast()) else { return nil }
        return fields.first { $0.name == last }?.defaultValue
    }

    /// Field names allowed directly under `path`, for suggestions.
    func keys(at components: ArraySlice<String>) -> [String] {
        if case .object(let fields)? = child(at: components) { return fields.map(\.name) }
        return []
    }

    /// JSON Schema (draft 2020-12) of this declaration.
    public func jsonSchema() -> JSON {
        switch self {
        case .object(let fields):
            var properties: [(String, JSON)] = []
            for field in fields {
                var node = field.type.jsonSchema().members ?? []
                node.append(JSON.Member(key: "description", value: .string(field.help)))
                if let d = field.defaultValue { node.append(JSON.Member(key: "default", value: d)) }
                properties.append((field.name, JSON(.object(node))))
            }
            let required = fields.filter(\.required).map { JSON.string($0.name) }
            var members: [(String, JSON)] = [("type", .string("object")), ("properties", .object(properties)), ("additionalProperties", .bool(false))]
            if !required.isEmpty { members.append(("required", .array(required))) }
            return .object(members)
        case .array(let item, let minItems, let maxItems):
            var members: [(String, JSON)] = [("type", .string("array")), ("items", item.jsonSchema())]
            if minItems > 0 { members.append(("minItems", .number(Double(minItems)))) }
            if let maxItems { members.append(("maxItems", .number(Double(maxItems)))) }
            return .object(members)
        case .string(let allowed):
            var members: [(String, JSON)] = [("type", .string("string"))]
            if let allowed { members.append(("enum", .array(allowed.map(JSON.string)))) }
            return .object(members)
        case .number(let b), .integer(let b):
            var members: [(String, JSON)] = [("type", .string({ if case .integer = self { "integer" } else { "number" } }()))]
            if let lo = b.minimum { members.append((b.exclusiveMinimum ? "exclusiveMinimum" : "minimum", .number(lo))) }
            if let hi = b.maximum { members.append((b.exclusiveMaximum ? "exclusiveMaximum" : "maximum", .number(hi))) }
            return .object(members)
        case .boolean:
            return .object([("type", .string("boolean"))])
        case .anyOf(let options):
            return .object([("anyOf", .array(options.map { $0.jsonSchema() }))])
        case .map(let value):
            return .object([("type", .string("object")), ("additionalProperties", value.jsonSchema())])
        }
    }
}

/// `a.b` key-path joining; the root has an empty path.
func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
