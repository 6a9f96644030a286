import Foundation

/// Splits bytes into records of fields without copying; a field is a byte range.
struct Lexer {
    struct Field { var start: Int, end: Int, quoted: Bool, column: Int }
    struct Record { var line: Int, fields: [Field] }

    let bytes: UnsafeBufferPointer<UInt8>
    let count: Int
    let delimiter: UInt8
    var position = 0
    var line = 0
    private var fields: [Field] = []

    init(bytes: UnsafeBufferPointer<UInt8>, count: Int, delimiter: UInt8) {
        self.bytes = bytes
        self.count = count
        self.delimiter = delimiter
        // A UTF-8 byte-order mark (Excel writes one) is not part of the first column's name.
        if count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { position = 3 }
    }

    /// The next non-blank record, or nil at the end of the file.
    mutating func nextRecord() -> Record? {
        let quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        while position < count {
            line += 1
            let recordLine = line, lineStart = position
            fields.removeAll(keepingCapacity: true)
            var fieldStart = position, quoted = false
            var blank = true
            while true {
                if position < count && bytes[position] == quote && position == fieldStart {
                    quoted = true
                    position += 1
                    while position < count {
                        if bytes[position] == quote {
                            if position + 1 < count && bytes[position + 1] == quote { position += 2; continue }
                            break
                        }
                        if bytes[position] == newline { line += 1 }
                        position += 1
                    }
                    position += 1  // closing quote
                    blank = false
                }
                if position >= count || bytes[position] == newline || bytes[position] == delimiter {
                    var end = Swift.min(position, count)
                    if end > fieldStart && bytes[end - 1] == cr { end -= 1 }
                    if end > fieldStart { blank = false }
                    fields.append(Field(start: fieldStart, end: end, quoted: quoted, column: fieldStart - lineStart + 1))
                    if position < count && bytes[position] == delimiter {
                        blank = false
                        position += 1
                        fieldStart = position
                        quoted = false
                        continue
                    }
                    position += 1  // past the newline
                    break
                }
                position += 1
            }
            if !blank { return Record(line: recordLine, fields: fields) }
        }
        return nil
    }

    /// The field's text with quotes removed and `""` unescaped.
    func text(of field: Field, path: String, line: Int) throws -> String {
        var start = field.start, end = field.end
        if field.quoted {
            start += 1
            if end > start && bytes[end - 1] == UInt8(ascii: "\"") { end -= 1 } else {
                throw DataError(file: path, line: line, column: field.column, "a quoted field is not closed; add the closing \"")
            }
        }
        let raw = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        return field.quoted ? raw.replacingOccurrences(of: "\"\"", with: "\"") : raw
    }

    static let powersOfTen: [Double] = (0...22).map { Double("1e\($0)")! }

    /// Clinger's fast path: `[-]digits[.digits][e[±]digits]` with at most 15 significant
    /// digits and a decimal exponent within ±22 is an exact double divided or multiplied by
    /// an exact power of ten, so one rounding gives the correctly rounded value. Anything
    /// else returns nil for strtod.
    @inline(__always)
    static func decimal(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Float? {
        var i = start, negative = false
        if b[i] == UInt8(ascii: "-") { negative = true; i += 1 } else if b[i] == UInt8(ascii: "+") { i += 1 }
        var mantissa: UInt64 = 0, digits = 0, scale = 0, sawDigit = false
        while i < end, b[i] &- 48 < 10 {
            if mantissa != 0 || b[i] != 48 { digits += 1 }
            mantissa = mantissa &* 10 &+ UInt64(b[i] &- 48)
            sawDigit = true
            i += 1
        }
        if i < end && b[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, b[i] &- 48 < 10 {
                if mantissa != 0 || b[i] != 48 { digits += 1 }
                mantissa = mantissa &* 10 &+ UInt64(b[i] &- 48)
                scale -= 1
                sawDigit = true
                i += 1
            }
        }
        guard sawDigit, digits <= 15 else { return nil }
        if i < end && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
            i += 1
            var exponentNegative = false, exponent = 0, exponentDigits = 0
            if i < end && (b[i] == UInt8(ascii: "-") || b[i] == UInt8(ascii: "+")) { exponentNegative = b[i] == UInt8(ascii: "-"); i += 1 }
            while i < end, b[i] &- 48 < 10, exponentDigits < 4 { exponent = exponent * 10 + Int(b[i] &- 48); exponentDigits += 1; i += 1 }
            guard exponentDigits > 0 else { return nil }
            scale += exponentNegative ? -exponent : exponent
        }
        guard i == end, scale >= -22, scale <= 22 else { return nil }
        var value = Double(mantissa)
        value = scale < 0 ? value / powersOfTen[-scale] : value * powersOfTen[scale]
        return Float(negative ? -value : value)
    }

    /// The field's text without surrounding spaces and tabs (quotes removed, `""` unescaped),
    /// trimmed on the bytes: no Foundation per cell.
    func trimmedText(of field: Field, path: String, line: Int) throws -> String {
        var start = field.start, end = field.end
        if field.quoted {
            start += 1
            guard end > start && bytes[end - 1] == UInt8(ascii: "\"") else {
                throw DataError(file: path, line: line, column: field.column, "a quoted field is not closed; add the closing \"")
            }
            end -= 1
        }
        while start < end && (bytes[start] == 32 || bytes[start] == 9) { start += 1 }
        while end > start && (bytes[end - 1] == 32 || bytes[end - 1] == 9) { end -= 1 }
        let raw = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        return field.quoted && raw.contains("\"\"") ? raw.replacingOccurrences(of: "\"\"", with: "\"") : raw
    }

    /// Whether the field is empty or only spaces.
    func isBlank(_ field: Field) -> Bool {
        var start = field.start, end = field.end
        if field.quoted { start += 1; end -= 1 }
        while start < end && (bytes[start] == 32 || bytes[start] == 9) { start += 1 }
        return start >= end
    }

    /// The field as a number, or nil when it is not exactly one number (surrounding spaces allowed).
    func number(_ field: Field) -> Float? {
        var start = field.start, end = field.end
        if field.quoted { start += 1; end -= 1 }
        while start < end && (bytes[start] == 32 || bytes[start] == 9) { start += 1 }
        while end > start && (bytes[end - 1] == 32 || bytes[end - 1] == 9) { end -= 1 }
        guard start < end else { return nil }
        if let fast = Lexer.decimal(bytes, start, end) { return fast }
        // strtod's other forms start with a digit, a sign, a point, "inf" or "nan": a word
        // ("Biscoe") is not a number, and needs no call.
        let lowered = bytes[start] | 0x20
        guard (bytes[start] >= 48 && bytes[start] <= 57) || bytes[start] == 43 || bytes[start] == 45 || bytes[start] == 46
                || lowered == UInt8(ascii: "i") || lowered == UInt8(ascii: "n") else { return nil }
        let first = UnsafeRawPointer(bytes.baseAddress! + start).assumingMemoryBound(to: CChar.self)
        var stop: UnsafeMutablePointer<CChar>? = nil
        let value = strtod(first, &stop)
        guard let stop, UnsafePointer(stop) - first == end - start else { return nil }
        return Float(value)
    }
}
