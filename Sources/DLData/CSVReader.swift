import Foundation

/// Reads a delimited text file of numeric features and one target column.
///
/// Dialect: an optional header row; any one-byte delimiter; fields may be quoted with `"`
/// (a doubled `""` inside is a quote); LF or CRLF line ends; blank lines are skipped.
/// Features must be numbers; the target may hold numbers or class names.
public struct CSVReader {
    public enum TargetColumn: Sendable, Equatable {
        case name(String)
        case index(Int)
    }

    public var delimiter: UInt8 = UInt8(ascii: ",")
    public var hasHeader = true

    public init(delimiter: UInt8 = UInt8(ascii: ","), hasHeader: Bool = true) {
        self.delimiter = delimiter
        self.hasHeader = hasHeader
    }

    /// Reads `path`. For `classification`, target values become class indices, classes
    /// sorted numerically when every label is a number and by name otherwise.
    public func read(_ path: String, target: TargetColumn, classification: Bool) throws -> Dataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw DataError(file: path, exists ? "cannot read the file (permissions?)" : "no such file; check `data.train.path` (relative paths are relative to the config file)")
        }
        var bytes = [UInt8](data)
        bytes.append(0)  // strtod stops at the terminator of the last field
        return try bytes.withUnsafeBufferPointer { try parse($0, byteCount: data.count, path: path, target: target, classification: classification) }
    }

    private func parse(_ buffer: UnsafeBufferPointer<UInt8>, byteCount: Int, path: String, target: TargetColumn, classification: Bool) throws -> Dataset {
        var lexer = Lexer(bytes: buffer, count: byteCount, delimiter: delimiter)
        var header: [String]? = nil
        if hasHeader {
            guard let first = lexer.nextRecord() else { throw DataError(file: path, "the file is empty; expected a header row and data rows") }
            header = try first.fields.map { try lexer.text(of: $0, path: path, line: first.line) }
        }
        var columnCount = header?.count
        var targetIndex: Int? = nil
        if let columns = columnCount { targetIndex = try resolve(target, header: header, columns: columns, path: path) }

        var features: [Float] = []
        var targetTexts: [String] = []
        var rows = 0
        while let record = lexer.nextRecord() {
            if columnCount == nil {
                columnCount = record.fields.count
                targetIndex = try resolve(target, header: nil, columns: record.fields.count, path: path)
                features.reserveCapacity(byteCount / 2)
            }
            guard record.fields.count == columnCount! else {
                throw DataError(file: path, line: record.line, "expected \(columnCount!) fields (as in \(hasHeader ? "the header" : "the first row")), found \(record.fields.count); check for a missing or extra delimiter")
            }
            for (k, field) in record.fields.enumerated() {
                if k == targetIndex! {
                    targetTexts.append(try lexer.text(of: field, path: path, line: record.line))
                    continue
                }
                guard let value = lexer.number(field) else {
                    let text = (try? lexer.text(of: field, path: path, line: record.line)) ?? "?"
                    let name = header.map { " (\"\($0[k])\")" } ?? ""
                    throw DataError(file: path, line: record.line, column: field.column,
                                    "field \(k + 1)\(name) is \"\(text)\", which is not a number; features must be numeric")
                }
                features.append(value)
            }
            rows += 1
        }
        guard rows > 0 else { throw DataError(file: path, "no data rows; expected at least one row after \(hasHeader ? "the header" : "the start")") }

        let names = header.map { h in h.enumerated().filter { $0.offset != targetIndex! }.map(\.element) }
            ?? (0..<(columnCount! - 1)).map { "x\($0)" }
        let (targets, classNames) = try encodeTargets(targetTexts, classification: classification, path: path, column: header?[targetIndex!] ?? "column \(targetIndex!)")
        return Dataset(features: features, rows: rows, columns: columnCount! - 1, featureNames: names, targets: targets, classNames: classNames)
    }

    private func resolve(_ target: TargetColumn, header: [String]?, columns: Int, path: String) throws -> Int {
        switch target {
        case .index(let i):
            guard i >= 0 && i < columns else { throw DataError(file: path, "target column index \(i) is outside 0..<\(columns)") }
            return i
        case .name(let name):
            guard let header else { throw DataError(file: path, "target column \"\(name)\" is named, but the file has no header; give its 0-based index instead") }
            guard let i = header.firstIndex(of: name) else {
                throw DataError(file: path, line: 1, "no column named \"\(name)\"; the columns are \(header.joined(separator: ", "))")
            }
            return i
        }
    }

    private func encodeTargets(_ texts: [String], classification: Bool, path: String, column: String) throws -> ([Float], [String]) {
        let numbers = texts.map { Double($0.trimmingCharacters(in: .whitespaces)) }
        if !classification {
            return (try numbers.enumerated().map { k, v in
                guard let v else { throw DataError(file: path, "target \(column) of data row \(k + 1) is \"\(texts[k])\", which is not a number; a regression target must be numeric") }
                return Float(v)
            }, [])
        }
        let names: [String]
        if numbers.allSatisfy({ $0 != nil }) {
            let values = Set(numbers.map { $0! }).sorted()
            names = values.map { $0 == $0.rounded() && Swift.abs($0) < 1e15 ? String(Int($0)) : String($0) }
            let index = Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1, Float($0)) })
            return (numbers.map { index[$0!]! }, names)
        }
        names = Set(texts).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, Float($0)) })
        return (texts.map { index[$0]! }, names)
    }
}

/// Splits bytes into records of fields without copying; a field is a byte range.
private struct Lexer {
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

    /// The field as a number, or nil when it is not exactly one number (surrounding spaces allowed).
    func number(_ field: Field) -> Float? {
        var start = field.start, end = field.end
        if field.quoted { start += 1; end -= 1 }
        while start < end && (bytes[start] == 32 || bytes[start] == 9) { start += 1 }
        while end > start && (bytes[end - 1] == 32 || bytes[end - 1] == 9) { end -= 1 }
        guard start < end else { return nil }
        let first = UnsafeRawPointer(bytes.baseAddress! + start).assumingMemoryBound(to: CChar.self)
        var stop: UnsafeMutablePointer<CChar>? = nil
        let value = strtod(first, &stop)
        guard let stop, UnsafePointer(stop) - first == end - start else { return nil }
        return Float(value)
    }
}
