import Foundation

/// One column of a CSV file as read: every cell lexed once; a cell that is a finite number is
/// kept as a number, any other cell that is not a missing-value token is dictionary-encoded
/// as text (a level). Which a column is (numeric, category, date) is decided after reading.
public struct RawColumn: Sendable {
    public var name: String
    /// Per row: the cell's value, NaN when it is missing or text.
    public var numbers: [Float]
    /// Per row: the index of the cell's text in ``levels``; ``RawColumn/missingCode`` for a
    /// missing cell, ``RawColumn/numberCode`` for a number not coded as text.
    public var codes: [Int32]
    /// The distinct texts in order of first appearance, with their counts.
    public var levels: [String]
    public var levelCounts: [Int]
    public var numericCells = 0, textCells = 0, missingCells = 0
    /// Where the first text cell and the first missing cell are (file line, 1-based column
    /// of the byte), for messages.
    public var firstText: (line: Int, column: Int, text: String)?
    public var firstMissing: (line: Int, column: Int)?

    public static let missingCode: Int32 = -1
    public static let numberCode: Int32 = -2

    public var presentCells: Int { numericCells + textCells }
}

/// A CSV file read as raw columns (``RawColumn``), for tables with text categories, gaps and
/// dates. The dialect is ``CSVReader``'s.
public struct RawTable: Sendable {
    public var path: String
    public var columns: [RawColumn]
    /// The file line of each row.
    public var lines: [Int]
    public var rows: Int { lines.count }
    public var names: [String] { columns.map(\.name) }
    /// Wall time of reading the file.
    public var readSeconds = 0.0

    public func column(named name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// Reads `spec`'s file. Cells whose trimmed text is in `missingValues` (or empty, or a
    /// number that is not finite) are missing. Number cells are kept as numbers; a column
    /// that turns out a category codes them as levels afterwards (``codeNumbers(ofColumn:)``).
    public static func read(_ spec: SourceSpec, missingValues: [String]) throws -> RawTable {
        let started = Date()
        let bytes = try CSVReader.readWhole(spec.path)
        var parser = Parser(spec: spec, missingValues: Set(missingValues))
        let read = try bytes.withUnsafeBufferPointer { buffer in
            try parser.parse(buffer, count: bytes.count - 1, lineOffset: 0, last: true)
        }
        guard var table = read else { throw parser.noRows() }
        table.readSeconds = Date().timeIntervalSince(started)
        return table
    }

    /// Reads `spec`'s file a piece at a time (about `chunkBytes`, cut between records) and
    /// hands each piece's rows to `body` as a table of its own: the file's columns, file line
    /// numbers, levels numbered within the piece. Memory stays at a piece however large the
    /// file is; what a column is (numeric, category, date) is for the caller to know already.
    public static func stream(_ spec: SourceSpec, missingValues: [String], chunkBytes: Int = CSVReader.chunkBytes,
                              _ body: (RawTable) throws -> Void) throws {
        var parser = Parser(spec: spec, missingValues: Set(missingValues))
        var rows = 0
        try CSVReader.pieces(of: spec.path, chunkBytes: chunkBytes) { buffer, count, lineOffset, last in
            guard let table = try parser.parse(buffer, count: count, lineOffset: lineOffset, last: last) else { return }
            rows += table.rows
            try body(table)
        }
        guard rows > 0 else { throw parser.noRows() }
    }

    /// Parses the pieces of one file in order, keeping the header the first one established.
    struct Parser {
        let spec: SourceSpec
        let missingValues: Set<String>
        var header: [String]? = nil

        func noRows() -> DataError {
            DataError(file: spec.path, "no data rows; expected at least one row after \(spec.header ? "the header" : "the start")")
        }

        /// The rows of the piece `bytes` (nil when it has none) whose first byte is after
        /// `lineOffset` lines of the file.
        mutating func parse(_ bytes: UnsafeBufferPointer<UInt8>, count: Int, lineOffset: Int, last: Bool) throws -> RawTable? {
            let path = spec.path
            var lexer = Lexer(bytes: bytes, count: count, delimiter: spec.delimiter)
            lexer.line = lineOffset
            var pending: Lexer.Record? = nil
            if header == nil {
                guard let first = lexer.nextRecord() else {
                    if last { throw DataError(file: path, "the file is empty; expected a header row and data rows") }
                    return nil
                }
                var names: [String]
                if spec.header {
                    names = try first.fields.map { try lexer.text(of: $0, path: path, line: first.line).trimmingCharacters(in: .whitespaces) }
                    if let blank = names.firstIndex(of: "") { names[blank] = "column_\(blank)" }
                } else {
                    names = (0..<first.fields.count).map { "x\($0)" }
                    pending = first
                }
                if let repeated = names.enumerated().first(where: { k, name in names[..<k].contains(name) }) {
                    throw DataError(file: path, line: first.line, "the header names \"\(repeated.element)\" twice (columns \(names.firstIndex(of: repeated.element)! + 1) and \(repeated.offset + 1)); column names must be unique")
                }
                header = names
            }
            let header = self.header!
            let width = header.count
            var columns = header.map { RawColumn(name: $0, numbers: [], codes: [], levels: [], levelCounts: []) }
            var dictionaries = [[String: Int32]](repeating: [:], count: width)
            let reserve = count / Swift.max(8 * width, 1)
            for k in 0..<width {
                columns[k].numbers.reserveCapacity(reserve)
                columns[k].codes.reserveCapacity(reserve)
            }
            var lines: [Int] = []
            lines.reserveCapacity(reserve)
            while let record = pending ?? lexer.nextRecord() {
                pending = nil
                guard record.fields.count == width else {
                    throw DataError(file: path, line: record.line, "expected \(width) fields (as in \(spec.header ? "the header" : "the first row")), found \(record.fields.count); check for a missing or extra delimiter")
                }
                for (k, field) in record.fields.enumerated() {
                    // A finite number; else missing (blank, a token, inf or nan); else a level.
                    if let value = lexer.number(field) {
                        if value.isFinite {
                            columns[k].numbers.append(value)
                            columns[k].numericCells += 1
                            columns[k].codes.append(RawColumn.numberCode)
                            continue
                        }
                        columns[k].numbers.append(.nan)
                        columns[k].codes.append(RawColumn.missingCode)
                        columns[k].missingCells += 1
                        if columns[k].firstMissing == nil { columns[k].firstMissing = (record.line, field.column) }
                        continue
                    }
                    columns[k].numbers.append(.nan)
                    let text = try lexer.trimmedText(of: field, path: path, line: record.line)
                    if text.isEmpty || missingValues.contains(text) {
                        columns[k].codes.append(RawColumn.missingCode)
                        columns[k].missingCells += 1
                        if columns[k].firstMissing == nil { columns[k].firstMissing = (record.line, field.column) }
                        continue
                    }
                    let code: Int32
                    if let known = dictionaries[k][text] {
                        code = known
                        columns[k].levelCounts[Int(code)] += 1
                    } else {
                        code = Int32(columns[k].levels.count)
                        dictionaries[k][text] = code
                        columns[k].levels.append(text)
                        columns[k].levelCounts.append(1)
                    }
                    columns[k].codes.append(code)
                    columns[k].textCells += 1
                    if columns[k].firstText == nil { columns[k].firstText = (record.line, field.column, text) }
                }
                lines.append(record.line)
            }
            guard !lines.isEmpty else { return nil }
            return RawTable(path: path, columns: columns, lines: lines)
        }
    }

    /// Codes the number cells of column `k` as text too (a column read as numbers that is a
    /// category): each number's shortest text, so "7" and "7.0" are one level.
    public mutating func codeNumbers(ofColumn k: Int) {
        var dictionary: [String: Int32] = [:]
        for (i, level) in columns[k].levels.enumerated() { dictionary[level] = Int32(i) }
        for r in 0..<rows where columns[k].codes[r] == RawColumn.numberCode {
            let text = RawTable.text(of: columns[k].numbers[r])
            if let known = dictionary[text] {
                columns[k].codes[r] = known
                columns[k].levelCounts[Int(known)] += 1
            } else {
                let code = Int32(columns[k].levels.count)
                dictionary[text] = code
                columns[k].levels.append(text)
                columns[k].levelCounts.append(1)
                columns[k].codes[r] = code
            }
        }
        columns[k].textCells += columns[k].numericCells
        columns[k].numericCells = 0
    }
}

extension RawTable {
    /// The last table read, kept so that the config's defaults (which look at the training
    /// file) and the training data read one file once.
    nonisolated(unsafe) private static var last: (key: String, table: RawTable)?

    /// ``read(_:missingValues:)``, reusing the last read when it was of the same unchanged
    /// file with the same settings (`reused` then says so: the read was paid for earlier).
    public static func cached(_ spec: SourceSpec, missingValues: [String]) throws -> (table: RawTable, reused: Bool) {
        let attributes = try? FileManager.default.attributesOfItem(atPath: spec.path)
        let stamp = "\((attributes?[.size] as? NSNumber)?.intValue ?? -1)/\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        let key = "\(spec.path)|\(stamp)|\(spec.header)|\(spec.delimiter)|\(missingValues)"
        if let last, last.key == key { return (last.table, true) }
        let table = try read(spec, missingValues: missingValues)
        last = (key, table)
        return (table, false)
    }

    /// Forgets the cached table (its memory goes once training has its encoded rows).
    public static func forgetCached() { last = nil }
}

extension RawTable {
    /// A number's text as a level (see ``codeNumbers(ofColumn:)``).
    static func text(of value: Float) -> String {
        value == value.rounded() && Swift.abs(value) < 1e9 ? String(Int(value)) : "\(value)"
    }
}
