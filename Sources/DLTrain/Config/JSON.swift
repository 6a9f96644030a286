import Foundation

/// A JSON value that remembers where it was written, so errors can say `file:line:column`.
public struct JSON: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case null
        case bool(Bool)
        case number(Double)
        case string(String)
        case array([JSON])
        /// Members in file order (order matters for readable output).
        case object([Member])
    }

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSON
    }

    public var kind: Kind
    /// 1-based position of the value's first character; 0 for values made in code.
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, line: Int = 0, column: Int = 0) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    /// Values compare by content, not position.
    public static func == (l: JSON, r: JSON) -> Bool { l.kind == r.kind }

    public static func object(_ members: [(String, JSON)]) -> JSON { JSON(.object(members.map { Member(key: $0.0, value: $0.1) })) }
    public static func string(_ s: String) -> JSON { JSON(.string(s)) }
    public static func number(_ x: Double) -> JSON { JSON(.number(x)) }
    public static func bool(_ b: Bool) -> JSON { JSON(.bool(b)) }
    public static func array(_ items: [JSON]) -> JSON { JSON(.array(items)) }
    public static let null = JSON(.null)

    public subscript(key: String) -> JSON? {
        guard case .object(let members) = kind else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var members: [Member]? { if case .object(let m) = kind { m } else { nil } }
    /// This object with `more` members after its own.
    func appending(_ more: [(String, JSON)]) -> JSON {
        JSON(.object((members ?? []) + more.map { Member(key: $0.0, value: $0.1) }), line: line, column: column)
    }
    public var items: [JSON]? { if case .array(let a) = kind { a } else { nil } }
    public var string: String? { if case .string(let s) = kind { s } else { nil } }
    public var number: Double? { if case .number(let x) = kind { x } else { nil } }
    public var bool: Bool? { if case .bool(let b) = kind { b } else { nil } }

    /// What kind of value this is, for messages: "a string", "an object"...
    public var typeName: String {
        switch kind {
        case .null: "null"
        case .bool: "a boolean"
        case .number(let x): x == x.rounded() ? "an integer" : "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    public var description: String { rendered(indent: nil) }

    /// JSON text; pretty-printed with `indent` spaces per level, compact when nil.
    public func rendered(indent: Int? = 2) -> String {
        var out = ""
        render(into: &out, indent: indent, level: 0)
        return out
    }

    private func render(into out: inout String, indent: Int?, level: Int) {
        let newline = indent == nil ? "" : "\n"
        let pad = { (l: Int) in String(repeating: " ", count: (indent ?? 0) * l) }
        switch kind {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let x): out += JSON.format(x)
        case .string(let s): out += JSON.quote(s)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            let simple = items.allSatisfy { if case .array = $0.kind { false } else if case .object = $0.kind { false } else { true } }
            if simple {
                out += "[" + items.map { $0.rendered(indent: nil) }.joined(separator: ", ") + "]"
                return
            }
            out += "[" + newline
            for (k, item) in items.enumerated() {
                out += pad(level + 1)
                item.render(into: &out, indent: indent, level: level + 1)
                out += (k + 1 < items.count ? "," : "") + newline
            }
            out += pad(level) + "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{" + newline
            for (k, m) in members.enumerated() {
                out += pad(level + 1) + JSON.quote(m.key) + (indent == nil ? ":" : ": ")
                m.value.render(into: &out, indent: indent, level: level + 1)
                out += (k + 1 < members.count ? "," : "") + newline
            }
            out += pad(level) + "}"
        }
    }

    /// Integers without a fraction; other numbers in the shortest form that reads back exactly.
    public static func format(_ x: Double) -> String {
        if !x.isFinite { return "null" }
        if x == x.rounded() && Swift.abs(x) <= 9_007_199_254_740_992 { return String(Int64(x)) }
        return "\(x)"
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A syntax error in JSON text, with its position.
public struct JSONSyntaxError: Error, CustomStringConvertible {
    public let line: Int, column: Int, message: String
    public var description: String { "\(line):\(column): \(message)" }
}

extension JSON {
    /// Parses JSON text (RFC 8259). Duplicate keys are an error: silently keeping one of them
    /// would hide a mistake in a config.
    public static func parse(_ text: String) throws -> JSON {
        var parser = JSONParser(Array(text.utf8))
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.atEnd else { throw parser.error("unexpected text after the JSON value") }
        return value
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var i = 0, line = 1, lineStart = 0
    static let maxDepth = 256

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { i >= bytes.count }
    var column: Int { i - lineStart + 1 }

    func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(line: line, column: column, message: message) }

    mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0D: i += 1
            case 0x0A: i += 1; line += 1; lineStart = i
            default: return
            }
        }
    }

    mutating func value(depth: Int) throws -> JSON {
        guard depth < JSONParser.maxDepth else { throw error("nesting deeper than \(JSONParser.maxDepth) levels") }
        guard i < bytes.count else { throw error("unexpected end of file; expected a value") }
        let (l, c) = (line, column)
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var members: [JSON.Member] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1; return JSON(.object(members), line: l, column: c) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key in double quotes") }
                let (kl, kc) = (line, column)
                let key = try string()
                if members.contains(where: { $0.key == key }) {
                    throw JSONSyntaxError(line: kl, column: kc, message: "duplicate key \"\(key)\"")
                }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':' after key \"\(key)\"") }
                i += 1
                skipSpace()
                members.append(JSON.Member(key: key, value: try value(depth: depth + 1)))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of file; expected ',' or '}'") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return JSON(.object(members), line: l, column: c) }
                throw error("expected ',' or '}' after the value of \"\(key)\"")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSON] = []
            skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return JSON(.array(items), line: l, column: c) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw error("unexpected end of file; expected ',' or ']'") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return JSON(.array(items), line: l, column: c) }
                throw error("expected ',' or ']' in the array")
            }
        case UInt8(ascii: "\""):
            return JSON(.string(try string()), line: l, column: c)
        case UInt8(ascii: "t"): try literal("true"); return JSON(.bool(true), line: l, column: c)
        case UInt8(ascii: "f"): try literal("false"); return JSON(.bool(false), line: l, column: c)
        case UInt8(ascii: "n"): try literal("null"); return JSON(.null, line: l, column: c)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return JSON(.number(try number()), line: l, column: c)
        default:
            throw error("unexpected character '\(String(decoding: [bytes[i]], as: UTF8.self))'; expected a value")
        }
    }

    mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw error("expected \(word)") }
        i += w.count
    }

    mutating func number() throws -> Double {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        func digits() -> Int {
            let s = i
            while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
            return i - s
        }
        guard digits() > 0 else { throw error("expected digits in a number") }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits() > 0 else { throw error("expected digits after the decimal point") }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard digits() > 0 else { throw error("expected digits in the exponent") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let x = Double(text), x.isFinite else { throw error("number \(text) is out of range") }
        return x
    }

    mutating func string() throws -> String {
        i += 1  // opening quote
        var out = [UInt8]()
        while true {
            guard i < bytes.count else { throw error("unterminated string; add the closing \"") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw error("control character in a string; write it as an escape such as \\n") }
            if b == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { throw error("unterminated escape") }
                switch bytes[i] {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "/"): out.append(0x2F)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard i + 4 < bytes.count, let code = UInt32(String(decoding: bytes[(i + 1)...(i + 4)], as: UTF8.self), radix: 16) else {
                        throw error("\\u needs four hex digits")
                    }
                    i += 4
                    var scalarValue = code
                    if (0xD800..<0xDC00).contains(code), i + 6 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u"),
                       let low = UInt32(String(decoding: bytes[(i + 3)...(i + 6)], as: UTF8.self), radix: 16), (0xDC00..<0xE000).contains(low) {
                        scalarValue = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                    out.append(contentsOf: Array(String(Unicode.Scalar(scalarValue).map(Character.init) ?? "\u{FFFD}").utf8))
                default: throw error("unknown escape \\\(String(decoding: [bytes[i]], as: UTF8.self))")
                }
                i += 1
                continue
            }
            out.append(b)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
