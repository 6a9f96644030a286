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

    /// About how much of a file a streamed read holds at a time.
    public static let chunkBytes = 8 << 20

    /// Reads `spec` a chunk at a time (about `chunkBytes` each, cut at record boundaries)
    /// and hands each chunk's rows to `body`: memory stays bounded however large the file.
    /// Categorical targets need their classes given, since no chunk sees them all.
    public static func stream(_ spec: SourceSpec, kind: TargetKind, chunkBytes: Int = chunkBytes, _ body: (Dataset) throws -> Void) throws {
        let parser = Parser(spec: spec, kind: kind)
        var total = 0
        try pieces(of: spec.path, chunkBytes: chunkBytes) { buffer, byteCount, lineOffset, last in
            let chunk = try parser.parse(buffer, byteCount: byteCount, lineOffset: lineOffset, last: last)
            total += chunk.rows
            if chunk.rows > 0 { try body(chunk) }
        }
        guard total > 0 else { throw parser.noRows() }
    }

    /// Reads the file at `path` about `chunkBytes` at a time and hands `body` each piece cut
    /// after its last newline outside quotes (so never inside a record), NUL-terminated at
    /// `byteCount`, with the number of file lines before it; `last` is true on the final piece.
    static func pieces(of path: String, chunkBytes: Int,
                       _ body: (_ buffer: UnsafeBufferPointer<UInt8>, _ byteCount: Int, _ lineOffset: Int, _ last: Bool) throws -> Void) throws {
        guard FileManager.default.fileExists(atPath: path), let handle = FileHandle(forReadingAtPath: path) else {
            throw DataError(file: path, "no such file (or not readable); check the path")
        }
        defer { try? handle.close() }
        var carry: [UInt8] = [], lineOffset = 0, finished = false
        while !finished {
            let more = try handle.read(upToCount: chunkBytes) ?? Data()
            finished = more.isEmpty
            var buffer = carry + more
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
            try buffer.withUnsafeBufferPointer { try body($0, cut, lineOffset, finished) }
            lineOffset += lines
        }
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
                        var error = DataError(file: path, line: record.line, column: field.column,
                                              "field \(k + 1)\(name()) is \"\(text)\", which is not a number; features must be numeric")
                        error.isTextFeature = true
                        throw error
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

    public static func resolve(_ column: SourceSpec.Column, header: [String]?, columns: Int, path: String) throws -> Int {
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
