import Foundation

/// Reads a delimited text file of numeric features and target columns.
///
/// Dialect: an optional header row; any one-byte delimiter; fields may be quoted with `"`
/// (a doubled `""` inside is a quote); LF or CRLF line ends; blank lines are skipped.
/// Features must be numbers; an empty cell, `nan` or `inf` is a missing value, handled by
/// the source's ``SourceSpec/MissingValues`` policy. Targets may be numbers or class names.
public enum CSVReader {
    public static func read(_ spec: SourceSpec, kind: TargetKind) throws -> Dataset {
        let bytes = try readWhole(spec.path)
        let parser = Parser(spec: spec, kind: kind)
        let data = try bytes.withUnsafeBufferPointer { try parser.parse($0, byteCount: bytes.count - 1, lineOffset: 0, last: true) }
        guard data.rows > 0 else { throw parser.noRows() }
        return data
    }

    /// Reads `spec` a chunk at a time (about `chunkBytes` each, cut at record boundaries)
    /// and hands each chunk's rows to `body`: memory stays bounded however large the file.
    /// Categorical targets need their classes given, since no chunk sees them all.
    public static func stream(_ spec: SourceSpec, kind: TargetKind, chunkBytes: Int = 8 << 20, _ body: (Dataset) throws -> Void) throws {
        guard FileManager.default.fileExists(atPath: spec.path), let handle = FileHandle(forReadingAtPath: spec.path) else {
            throw DataError(file: spec.path, "no such file (or not readable); check the path")
        }
        defer { try? handle.close() }
        let parser = Parser(spec: spec, kind: kind)
        var carry: [UInt8] = [], lineOffset = 0, total = 0, finished = false
        while !finished {
            let more = try handle.read(upToCount: chunkBytes) ?? Data()
            finished = more.isEmpty
            var buffer = carry + more
            // The chunk ends at the last newline outside quotes; the rest waits for the next read.
            var cut = buffer.count
            if !finished {
                var quotes = 0, lastBoundary = -1
                for (i, b) in buffer.enumerated() {
                    if b == UInt8(ascii: "\"") { quotes += 1 } else if b == UInt8(ascii: "\n") && quotes % 2 == 0 { lastBoundary = i }
                }
                guard lastBoundary >= 0 else { carry = buffer; continue }
                cut = lastBoundary + 1
            }
            carry = Array(buffer[cut...])
            buffer.removeSubrange(cut...)
            let lines = buffer.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
            buffer.append(0)
            let chunk = try buffer.withUnsafeBufferPointer { try parser.parse($0, byteCount: cut, lineOffset: lineOffset, last: finished) }
            lineOffset += lines
            total += chunk.rows
            if chunk.rows > 0 { try body(chunk) }
        }
        guard total > 0 else { throw parser.noRows() }
    }

    /// The column names in a CSV file's header and the number of columns of its first
    /// record (for deciding whether a prediction file has a target column).
    public static func columns(_ spec: SourceSpec) throws -> (names: [String]?, count: Int) {
        guard let handle = FileHandle(forReadingAtPath: spec.path) else { throw DataError(file: spec.path, "no such file (or not readable); check the path") }
        defer { try? handle.close() }
        var bytes = [UInt8](try handle.read(upToCount: 1 << 20) ?? Data())
        bytes.append(0)
        return try bytes.withUnsafeBufferPointer { buffer in
            var lexer = Lexer(bytes: buffer, count: buffer.count - 1, delimiter: spec.delimiter)
            guard let first = lexer.nextRecord() else { throw DataError(file: spec.path, "the file is empty") }
            let names = spec.header ? try first.fields.map { try lexer.text(of: $0, path: spec.path, line: first.line) } : nil
            return (names, first.fields.count)
        }
    }

    /// Parses chunks of one file in order, keeping what the header established.
    final class Parser {
        let spec: SourceSpec
        let kind: TargetKind
        var header: [String]? = nil
        var columnCount: Int? = nil
        var targetColumns: [Int] = []
        var isTarget: [Bool] = []
        var sawHeader = false

        init(spec: SourceSpec, kind: TargetKind) {
            self.spec = spec
            self.kind = kind
        }

        func noRows() -> DataError {
            DataError(file: spec.path, "no data rows; expected at least one row after \(spec.header ? "the header" : "the start")\(spec.missing == .drop ? " (rows with missing values were dropped)" : "")")
        }

        private func resolveTargets(columns: Int) throws {
            let path = spec.path
            targetColumns = try spec.target.map { try CSVReader.resolve($0, header: header, columns: columns, path: path) }
            if let duplicate = targetColumns.first(where: { c in targetColumns.filter { $0 == c }.count > 1 }) {
                throw DataError(file: path, "column \(duplicate) is named twice as a target")
            }
            guard targetColumns.count < columns else { throw DataError(file: path, "every column is a target; at least one feature column is needed") }
            isTarget = (0..<columns).map { targetColumns.contains($0) }
        }

        func parse(_ buffer: UnsafeBufferPointer<UInt8>, byteCount: Int, lineOffset: Int, last: Bool) throws -> Dataset {
            let path = spec.path
            var lexer = Lexer(bytes: buffer, count: byteCount, delimiter: spec.delimiter)
            lexer.line = lineOffset
            if spec.header && !sawHeader {
                guard let first = lexer.nextRecord() else {
                    if last { throw DataError(file: path, "the file is empty; expected a header row and data rows") }
                    return Dataset(features: [], rows: 0, columns: 0, featureNames: [], targets: [], targetWidth: 0, classNames: [])
                }
                header = try first.fields.map { try lexer.text(of: $0, path: path, line: first.line) }
                sawHeader = true
                columnCount = header!.count
                try resolveTargets(columns: columnCount!)
            }
            // One column of class labels is read as text; one-hot columns and numeric targets as numbers.
            let textTargets = kind != .numeric && spec.target.count == 1
            var features: [Float] = []
            features.reserveCapacity(byteCount / 2)
            var targetTexts: [String] = [], targetNumbers: [Float] = [], lines: [Int] = []
            var rows = 0
            while let record = lexer.nextRecord() {
                if columnCount == nil {
                    columnCount = record.fields.count
                    try resolveTargets(columns: record.fields.count)
                }
                guard record.fields.count == columnCount! else {
                    throw DataError(file: path, line: record.line, "expected \(columnCount!) fields (as in \(spec.header ? "the header" : "the first row")), found \(record.fields.count); check for a missing or extra delimiter")
                }
                let rowStart = features.count
                var dropRow = false
                for (k, field) in record.fields.enumerated() {
                    func name() -> String { header.map { " (\"\($0[k])\")" } ?? "" }
                    if isTarget[k] {
                        if textTargets {
                            targetTexts.append(try lexer.text(of: field, path: path, line: record.line).trimmingCharacters(in: .whitespaces))
                        } else {
                            guard let value = lexer.number(field), value.isFinite else {
                                let text = (try? lexer.text(of: field, path: path, line: record.line)) ?? "?"
                                throw DataError(file: path, line: record.line, column: field.column, "target field \(k + 1)\(name()) is \"\(text)\"; a numeric target must be a finite number")
                            }
                            targetNumbers.append(value)
                        }
                        continue
                    }
                    let value: Float
                    if lexer.isBlank(field) {
                        value = .nan
                    } else if let number = lexer.number(field) {
                        value = number
                    } else {
                        let text = (try? lexer.text(of: field, path: path, line: record.line)) ?? "?"
                        throw DataError(file: path, line: record.line, column: field.column,
                                        "field \(k + 1)\(name()) is \"\(text)\", which is not a number; features must be numeric")
                    }
                    if !value.isFinite {
                        switch spec.missing {
                        case .error:
                            let text = (try? lexer.text(of: field, path: path, line: record.line)) ?? ""
                            throw DataError(file: path, line: record.line, column: field.column,
                                            "field \(k + 1)\(name()) is \(text.isEmpty ? "empty" : "\"\(text)\"") (a missing or infinite value); set the source's \"nan\" to \"drop\" (skip such rows) or \"mean\" (fill with the training mean)")
                        case .drop: dropRow = true
                        case .mean: break
                        }
                    }
                    features.append(value.isFinite ? value : .nan)
                }
                if dropRow {
                    features.removeSubrange(rowStart...)
                    if textTargets { targetTexts.removeLast(targetColumns.count) } else { targetNumbers.removeLast(targetColumns.count) }
                    continue
                }
                lines.append(record.line)
                rows += 1
            }

            let names = (0..<columnCount!).filter { !isTarget[$0] }.map { header?[$0] ?? "x\($0)" }
            let targetNames = targetColumns.map { header?[$0] ?? "column \($0)" }
            let columns = columnCount! - targetColumns.count
            guard !targetColumns.isEmpty else {
                return Dataset(features: features, rows: rows, columns: columns, featureNames: names, targets: [], targetWidth: 0,
                               targetNames: [], classNames: [], origins: lines)
            }
            let encoded = try LabelEncoder.encode(kind: kind, texts: textTargets ? targetTexts : nil, numbers: targetNumbers,
                                                  width: targetColumns.count, names: targetNames, path: path, origins: lines, originIsLine: true)
            return Dataset(features: features, rows: rows, columns: columns, featureNames: names, targets: encoded.targets,
                           targetWidth: encoded.width, targetNames: targetNames, classNames: encoded.classes, origins: lines)
        }

    }

    /// The file's bytes plus a terminating 0 (where strtod stops after the last field),
    /// read straight into one buffer.
    static func readWhole(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(file: path, "no such file; check the path (relative paths are relative to the config file)")
        }
        let descriptor = open(path, O_RDONLY)
        guard !isDirectory.boolValue, descriptor >= 0 else { throw DataError(file: path, "cannot read the file (a directory, or permissions?)") }
        defer { close(descriptor) }
        var status = stat()
        fstat(descriptor, &status)
        let size = Int(status.st_size)
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size + 1) { buffer, initialized in
            var done = 0
            while done < size {
                let n = Glibc.read(descriptor, buffer.baseAddress! + done, size - done)
                if n <= 0 { failed = n < 0; break }
                done += n
            }
            buffer[done] = 0
            initialized = done + 1
        }
        guard !failed else { throw DataError(file: path, "reading failed: \(String(cString: strerror(errno)))") }
        return bytes
    }

    static func resolve(_ column: SourceSpec.Column, header: [String]?, columns: Int, path: String) throws -> Int {
        switch column {
        case .index(let i):
            guard i >= 0 && i < columns else { throw DataError(file: path, "target column index \(i) is outside 0..<\(columns)") }
            return i
        case .name(let name):
            guard let header else { throw DataError(file: path, "target column \"\(name)\" is named, but the source has no header (\"header\": false); give its 0-based index instead") }
            guard let i = header.firstIndex(of: name) else {
                throw DataError(file: path, line: 1, "no column named \"\(name)\"; the columns are \(header.joined(separator: ", "))")
            }
            return i
        }
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
        let first = UnsafeRawPointer(bytes.baseAddress! + start).assumingMemoryBound(to: CChar.self)
        var stop: UnsafeMutablePointer<CChar>? = nil
        let value = strtod(first, &stop)
        guard let stop, UnsafePointer(stop) - first == end - start else { return nil }
        return Float(value)
    }
}
