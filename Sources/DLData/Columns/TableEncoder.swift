import Foundation

/// A table's columns turned into the network's inputs, fitted on the training rows only and
/// applied alike to every split and at eval, predict and export:
///
///     numeric    x ← fill(x) (mean, median or constant)   [+ indicator 1/0 "was missing"]
///                x ← (x − shift) · scale                  standardize, minmax, log (log1p first), none
///     category   level → index: kept levels (seen ≥ min_count times), then "other" (rare and
///                unseen levels), then "(missing)"; one-hot block, or one index for an embedding
///     date       year, month (sin, cos), weekday (sin, cos), day of year, time of day (sin,
///                cos; when a cell has a time), each standardized; a missing date → the means
///
/// The inputs are laid out in three blocks, each in column order: the numeric block (numbers,
/// indicators and date parts, ``numericWidth``), the one-hot blocks, then the embedding
/// indices (``embeddings``). `data.preprocess` then sees the numeric block alone and the
/// model splits the indices off the end.
public struct TableEncoder: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case numeric, category, date }

    public struct Column: Sendable, Codable, Equatable {
        public var name: String
        public var kind: Kind
        // numeric and date: per input, fill (raw units), shift and scale
        public var fill: [Float] = []
        public var shift: [Float] = []
        public var scale: [Float] = []
        public var log = false
        public var indicator = false
        public var missing: String
        // category
        public var levels: [String] = []
        /// Levels seen in training fewer than min_count times, pooled into "other" (not unseen).
        public var pooledLevels: [String] = []
        public var embeddingDim: Int? = nil
        // date
        public var hasTime = false

        /// Category: the pooled level (rare and unseen) and the missing level.
        public var otherIndex: Int { levels.count }
        public var missingIndex: Int { levels.count + 1 }
        public var levelCount: Int { levels.count + 2 }
        public var isEmbedded: Bool { embeddingDim != nil }

        /// The inputs this column adds to the dense block.
        public var denseWidth: Int {
            switch kind {
            case .numeric: 1 + (indicator ? 1 : 0)
            case .date: hasTime ? 8 : 6
            case .category: isEmbedded ? 0 : levelCount
            }
        }
    }

    public var columns: [Column]
    /// The columns the file had that the model does not read (declared ignore), by name.
    public var ignored: [String]
    /// The cell texts read as missing.
    public var missingValues: [String]
    /// The input layout this encoder was fitted with (``currentLayout``); a checkpoint of
    /// another layout (none was stored before the numeric block came first) is refused.
    public var layout: Int?
    public static let currentLayout = 2

    /// The numbers, indicators and date parts: the first inputs.
    public var numericWidth: Int { columns.filter { $0.kind != .category }.reduce(0) { $0 + $1.denseWidth } }
    /// Inputs before the embedding indices.
    public var denseWidth: Int { columns.reduce(0) { $0 + $1.denseWidth } }
    /// The embedded columns in order: their levels and widths; their indices follow the dense block.
    public var embeddings: [(name: String, levels: Int, dim: Int)] {
        columns.filter(\.isEmbedded).map { ($0.name, $0.levelCount, $0.embeddingDim!) }
    }
    public var width: Int { denseWidth + embeddings.count }

    /// Whether every column's stored statistics fit its kind (a checkpoint's table is data).
    public var isConsistent: Bool {
        columns.allSatisfy { c in
            switch c.kind {
            case .numeric: c.fill.count == 1 && c.shift.count == 1 && c.scale.count == 1
            case .date: c.fill.count == c.denseWidth && c.shift.count == c.denseWidth && c.scale.count == c.denseWidth
            case .category: c.levels.count < 1 << 24 && (c.embeddingDim.map { $0 >= 1 && $0 <= 4096 } ?? true)
            }
        }
    }

    public var inputNames: [String] {
        var numeric: [String] = [], oneHot: [String] = []
        for c in columns where !c.isEmbedded {
            switch c.kind {
            case .numeric: numeric += [c.name] + (c.indicator ? ["\(c.name) (missing)"] : [])
            case .date: numeric += TableEncoder.dateParts(hasTime: c.hasTime).map { "\(c.name).\($0)" }
            case .category: oneHot += (c.levels + ["(other)", "(missing)"]).map { "\(c.name)=\($0)" }
            }
        }
        return numeric + oneHot + columns.filter(\.isEmbedded).map { "\($0.name) (embedding index)" }
    }

    /// Where each column's inputs are, in column order: a range of the dense inputs, or the
    /// one position of its embedding index.
    public var inputPositions: [Range<Int>] {
        var numeric = 0, oneHot = numericWidth, embedded = denseWidth
        return columns.map { c in
            let start: Int
            switch c.kind {
            case .numeric, .date: start = numeric; numeric += c.denseWidth
            case .category where c.isEmbedded: start = embedded; embedded += 1; return start..<(start + 1)
            case .category: start = oneHot; oneHot += c.denseWidth
            }
            return start..<(start + c.denseWidth)
        }
    }

    static func dateParts(hasTime: Bool) -> [String] {
        ["year", "month_sin", "month_cos", "weekday_sin", "weekday_cos", "day_of_year"] + (hasTime ? ["time_sin", "time_cos"] : [])
    }

    /// How each used column of a table is to be read and handled: resolved types and handling.
    public struct Plan: Sendable {
        public var column: Int
        public var kind: Kind
        public var numeric: NumericHandling
        public var category: CategoryHandling
    }

    // MARK: Fitting

    /// Fits on `rows` of `table`. Rows that a `drop` policy removes are left out of `rows`
    /// first (``rowsKept(_:table:plans:)``).
    public init(fitting plans: [Plan], table: RawTable, rows: [Int], ignored: [String], missingValues: [String]) throws {
        self.ignored = ignored
        self.missingValues = missingValues
        layout = TableEncoder.currentLayout
        columns = []
        for plan in plans {
            let raw = table.columns[plan.column]
            switch plan.kind {
            case .numeric:
                columns.append(try TableEncoder.fitNumeric(raw, plan.numeric, rows: rows, table: table))
            case .category:
                columns.append(try TableEncoder.fitCategory(raw, plan.category, rows: rows, table: table))
            case .date:
                columns.append(try TableEncoder.fitDate(raw, rows: rows, table: table))
            }
        }
    }

    /// `rows` without those that a column's `drop` policy removes (a missing cell there).
    public static func rowsKept(_ rows: [Int], table: RawTable, plans: [Plan]) -> [Int] {
        let dropping = plans.filter { ($0.kind == .numeric && $0.numeric.missing == .drop) || ($0.kind == .category && $0.category.missing == .drop) }
        return positionsKept(rows, table: table, dropping: dropping.map(\.column)).map { rows[$0] }
    }

    /// The fitted encoder's ``rowsKept(_:table:plans:)``: its `drop` columns found by name in
    /// `table`. Returns positions in `rows`.
    func positionsKept(_ rows: [Int], table: RawTable) throws -> [Int] {
        let dropping = try columnIndices(in: table).enumerated().filter { columns[$0.offset].missing == "drop" }.map(\.element)
        return TableEncoder.positionsKept(rows, table: table, dropping: dropping)
    }

    /// The positions in `rows` whose cells in the `dropping` columns are all present.
    private static func positionsKept(_ rows: [Int], table: RawTable, dropping: [Int]) -> [Int] {
        rows.indices.filter { i in dropping.allSatisfy { table.columns[$0].codes[rows[i]] != RawColumn.missingCode } }
    }

    static func missingError(_ raw: RawColumn, table: RawTable, what: String) -> DataError {
        let at = raw.firstMissing
        return DataError(file: table.path, line: at?.line, column: at?.column,
                         "column \"\(raw.name)\" has a missing cell and its \(what) is \"error\"; fill it in, or choose another \"missing\" for it in data.columns")
    }

    static func fitNumeric(_ raw: RawColumn, _ h: NumericHandling, rows: [Int], table: RawTable) throws -> Column {
        var present: [Double] = []
        present.reserveCapacity(rows.count)
        for r in rows where !raw.numbers[r].isNaN { present.append(Double(raw.numbers[r])) }
        if h.missing == .error && present.count < rows.count { throw missingError(raw, table: table, what: "missing") }
        guard !present.isEmpty else {
            throw DataError(file: table.path, "column \"\(raw.name)\" has no value in the training rows (every cell is missing); declare it \"ignore\" in data.columns")
        }
        let fill: Double
        switch h.missing {
        case .median:
            let sorted = present.sorted(), n = sorted.count
            fill = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
        case .constant: fill = h.fill
        default: fill = present.reduce(0, +) / Double(present.count)
        }
        if h.scale == .log, let bad = rows.first(where: { !raw.numbers[$0].isNaN && raw.numbers[$0] <= -1 }) {
            throw DataError(file: table.path, line: table.lines[bad], "column \"\(raw.name)\" is \(raw.numbers[bad]) here, but \"scale\": \"log\" takes log1p, defined above -1; choose another scale for it")
        }
        // The statistics of the filled column, as scikit-learn's imputer then scaler see it.
        let values = rows.map { r -> Double in
            let x = raw.numbers[r].isNaN ? fill : Double(raw.numbers[r])
            return h.scale == .log ? Foundation.log1p(Swift.max(x, -1 + 1e-12)) : x
        }
        let (shift, scale) = TableEncoder.scaling(values, h.scale)
        return Column(name: raw.name, kind: .numeric, fill: [Float(fill)], shift: [Float(shift)], scale: [Float(scale)],
                      log: h.scale == .log, indicator: h.indicator, missing: h.missing.rawValue)
    }

    static func scaling(_ values: [Double], _ scale: NumericHandling.Scale) -> (shift: Double, scale: Double) {
        switch scale {
        case .none: return (0, 1)
        case .minmax:
            let low = values.min() ?? 0, high = values.max() ?? 1
            return (low, high > low ? 1 / (high - low) : 1)
        case .standardize, .log:
            let mean = values.reduce(0, +) / Double(Swift.max(values.count, 1))
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(Swift.max(values.count, 1))
            return (mean, variance > 0 ? 1 / variance.squareRoot() : 1)
        }
    }

    static func fitCategory(_ raw: RawColumn, _ h: CategoryHandling, rows: [Int], table: RawTable) throws -> Column {
        var counts = [Int](repeating: 0, count: raw.levels.count)
        var missing = 0
        for r in rows {
            let code = raw.codes[r]
            if code >= 0 { counts[Int(code)] += 1 } else { missing += 1 }
        }
        if h.missing == .error && missing > 0 { throw missingError(raw, table: table, what: "missing") }
        let seen = counts.indices.filter { counts[$0] > 0 }
        guard !seen.isEmpty else {
            throw DataError(file: table.path, "column \"\(raw.name)\" has no value in the training rows (every cell is missing); declare it \"ignore\" in data.columns")
        }
        guard seen.count > 1 || missing > 0 else {
            throw DataError(file: table.path, "category column \"\(raw.name)\" has one level (\"\(raw.levels[seen[0]])\") in the training rows: it tells the rows apart in no way; declare it \"ignore\" in data.columns")
        }
        // Kept levels, most frequent first (ties by name): index order is then the same on every run.
        let kept = seen.filter { counts[$0] >= h.minCount }.sorted { counts[$0] != counts[$1] ? counts[$0] > counts[$1] : raw.levels[$0] < raw.levels[$1] }
        var column = Column(name: raw.name, kind: .category, missing: h.missing.rawValue)
        column.levels = kept.map { raw.levels[$0] }
        let keptSet = Set(kept)
        column.pooledLevels = seen.filter { !keptSet.contains($0) }.map { raw.levels[$0] }.sorted()
        let embedded = h.encoding == .embedding || (h.encoding == .auto && column.levelCount > CategoryHandling.oneHotLimit)
        if embedded { column.embeddingDim = h.embeddingDim ?? CategoryHandling.embeddingWidth(levels: column.levelCount) }
        return column
    }

    static func fitDate(_ raw: RawColumn, rows: [Int], table: RawTable) throws -> Column {
        let parsed = try TableEncoder.parseDates(raw, table: table)
        let hasTime = parsed.contains { $0?.hasTime ?? false }
        let width = hasTime ? 8 : 6
        var sums = [Double](repeating: 0, count: width), present = 0
        var values: [[Double]] = Array(repeating: [], count: width)
        for r in rows {
            let code = raw.codes[r]
            guard code >= 0, let date = parsed[Int(code)] else { continue }
            let parts = date.parts(hasTime: hasTime)
            for j in 0..<width { sums[j] += parts[j]; values[j].append(parts[j]) }
            present += 1
        }
        guard present > 0 else {
            throw DataError(file: table.path, "date column \"\(raw.name)\" has no value in the training rows (every cell is missing); declare it \"ignore\" in data.columns")
        }
        var column = Column(name: raw.name, kind: .date, missing: "mean")
        column.hasTime = hasTime
        for j in 0..<width {
            let mean = sums[j] / Double(present)
            let filled = values[j] + Array(repeating: mean, count: rows.count - present)
            let (shift, scale) = scaling(filled, .standardize)
            column.fill.append(Float(mean))
            column.shift.append(Float(shift))
            column.scale.append(Float(scale))
        }
        return column
    }

    // MARK: Dates

    /// An ISO 8601 date or date-time: `YYYY-MM-DD`, then optionally `T` or a space,
    /// `HH:MM[:SS[.fraction]]` and a zone (`Z` or `±HH[:MM]`, which shifts to UTC).
    public struct CivilDate: Sendable, Equatable {
        public var year: Int, month: Int, day: Int
        public var secondsOfDay: Double
        public var hasTime: Bool

        /// Days since 1970-01-01 (the proleptic Gregorian calendar; Howard Hinnant's algorithm).
        var daysSinceEpoch: Int {
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yoe = y - era * 400
            let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
            return era * 146097 + doe - 719468
        }

        func parts(hasTime withTime: Bool) -> [Double] {
            let tau = 2 * Double.pi
            let weekday = Double(((daysSinceEpoch % 7) + 7 + 3) % 7)  // 0 = Monday (1970-01-01 was a Thursday)
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            let before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334][month - 1] + (leap && month > 2 ? 1 : 0)
            var p = [Double(year), Foundation.sin(tau * Double(month - 1) / 12), Foundation.cos(tau * Double(month - 1) / 12),
                     Foundation.sin(tau * weekday / 7), Foundation.cos(tau * weekday / 7), Double(before + day)]
            if withTime { p += [Foundation.sin(tau * secondsOfDay / 86400), Foundation.cos(tau * secondsOfDay / 86400)] }
            return p
        }

        public static func parse(_ text: String) -> CivilDate? {
            let b = Array(text.utf8)
            func digits(_ at: Int, _ n: Int) -> Int? {
                guard at + n <= b.count else { return nil }
                var v = 0
                for i in at..<(at + n) {
                    guard b[i] >= 48 && b[i] <= 57 else { return nil }
                    v = v * 10 + Int(b[i] - 48)
                }
                return v
            }
            guard b.count >= 10, b[4] == UInt8(ascii: "-"), b[7] == UInt8(ascii: "-"),
                  let year = digits(0, 4), let month = digits(5, 2), let day = digits(8, 2), (1...12).contains(month) else { return nil }
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
            guard day >= 1 && day <= days else { return nil }
            var date = CivilDate(year: year, month: month, day: day, secondsOfDay: 0, hasTime: false)
            if b.count == 10 { return date }
            guard b[10] == UInt8(ascii: "T") || b[10] == UInt8(ascii: " "), let hour = digits(11, 2), b.count >= 16,
                  b[13] == UInt8(ascii: ":"), let minute = digits(14, 2), hour < 24, minute < 60 else { return nil }
            var i = 16, seconds = 0.0
            if i < b.count && b[i] == UInt8(ascii: ":") {
                guard let s = digits(i + 1, 2), s < 61 else { return nil }
                seconds = Double(s)
                i += 3
                if i < b.count && (b[i] == UInt8(ascii: ".") || b[i] == UInt8(ascii: ",")) {
                    i += 1
                    var scale = 0.1
                    while i < b.count, b[i] >= 48 && b[i] <= 57 { seconds += scale * Double(b[i] - 48); scale /= 10; i += 1 }
                }
            }
            var offset = 0.0
            if i < b.count {
                if b[i] == UInt8(ascii: "Z") && i == b.count - 1 {
                    i += 1
                } else if b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-"), let h = digits(i + 1, 2) {
                    let sign: Double = b[i] == UInt8(ascii: "+") ? 1 : -1
                    var m = 0
                    if let mm = digits(i + 4, 2), b[i + 3] == UInt8(ascii: ":") { m = mm; i += 6 } else if let mm = digits(i + 3, 2) { m = mm; i += 5 } else { i += 3 }
                    offset = sign * Double(h * 3600 + m * 60)
                } else { return nil }
            }
            guard i == b.count else { return nil }
            date.secondsOfDay = (Double(hour * 3600 + minute * 60) + seconds - offset).truncatingRemainder(dividingBy: 86400)
            if date.secondsOfDay < 0 { date.secondsOfDay += 86400 }
            date.hasTime = true
            return date
        }
    }

    /// Each level of a date column parsed; an unparseable one is an error naming a cell that holds it.
    static func parseDates(_ raw: RawColumn, table: RawTable) throws -> [CivilDate?] {
        try raw.levels.enumerated().map { k, text in
            if let date = CivilDate.parse(text) { return date }
            let row = raw.codes.firstIndex(of: Int32(k)) ?? 0
            throw DataError(file: table.path, line: table.lines[row],
                            "column \"\(raw.name)\" is declared a date, but \"\(text)\" is not an ISO 8601 date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]); fix the cell, list it in data.missing_values, or declare the column \"category\"")
        }
    }

    // MARK: Encoding

    /// What encoding found that the user should hear of: per column, rows whose level was not
    /// seen in training (mapped to "other").
    public struct Report: Sendable, Equatable {
        public var unseen: [String: Int] = [:]
    }

    /// The inputs of `rows` of `table` (row-major, rows × ``width``), and what was unseen.
    /// `table` must hold every column the encoder reads (``columnIndices(in:)``).
    public func encode(_ table: RawTable, rows: [Int], into out: inout [Float]) throws -> Report {
        let indices = try columnIndices(in: table)
        let w = width
        out = [Float](repeating: 0, count: rows.count * w)
        var report = Report()
        let positions = inputPositions
        for (c, column) in columns.enumerated() {
            let raw = table.columns[indices[c]], offset = positions[c].lowerBound
            switch column.kind {
            case .numeric:
                if let text = raw.firstText {
                    throw DataError(file: table.path, line: text.line, column: text.column,
                                    "column \"\(column.name)\" is \"\(text.text)\" here, but the model was trained on it as numbers; fix the cell or list the token in data.missing_values")
                }
                let fill = column.fill[0], shift = column.shift[0], scale = column.scale[0]
                for (i, r) in rows.enumerated() {
                    let x = raw.numbers[r], missing = x.isNaN
                    if missing && column.missing == NumericHandling.Missing.error.rawValue {
                        throw DataError(file: table.path, line: table.lines[r], "column \"\(column.name)\" is missing here and its \"missing\" is \"error\"; fill in the cell")
                    }
                    var v = missing ? fill : x
                    if column.log {
                        guard v > -1 else { throw DataError(file: table.path, line: table.lines[r], "column \"\(column.name)\" is \(v) here, but its scale is log (log1p, defined above -1)") }
                        v = Foundation.log1p(v)
                    }
                    out[i * w + offset] = (v - shift) * scale
                    if column.indicator { out[i * w + offset + 1] = missing ? 1 : 0 }
                }
            case .date:
                let parsed = try TableEncoder.parseDates(raw, table: table)
                for (i, r) in rows.enumerated() {
                    let code = raw.codes[r]
                    let parts = code >= 0 ? parsed[Int(code)]!.parts(hasTime: column.hasTime) : column.fill.map(Double.init)
                    for j in 0..<column.denseWidth { out[i * w + offset + j] = (Float(parts[j]) - column.shift[j]) * column.scale[j] }
                }
            case .category:
                var lookup = [String: Int](minimumCapacity: column.levels.count)
                for (k, level) in column.levels.enumerated() { lookup[level] = k }
                // The file's own levels, mapped once; cells then need one array read.
                let pooled = Set(column.pooledLevels)
                let mapped = raw.levels.map { lookup[$0] ?? (pooled.contains($0) ? column.otherIndex : -1) }
                var unseen = 0
                let mostFrequent = column.missing == CategoryHandling.Missing.mostFrequent.rawValue
                for (i, r) in rows.enumerated() {
                    let code = raw.codes[r]
                    var index: Int
                    if code >= 0 {
                        index = mapped[Int(code)]
                        if index < 0 {
                            index = column.otherIndex
                            unseen += 1
                        }
                    } else if code == RawColumn.numberCode {
                        let text = RawTable.text(of: raw.numbers[r])
                        index = lookup[text] ?? column.otherIndex
                        if index == column.otherIndex && !pooled.contains(text) { unseen += 1 }
                    } else {
                        if column.missing == CategoryHandling.Missing.error.rawValue {
                            throw DataError(file: table.path, line: table.lines[r], "column \"\(column.name)\" is missing here and its \"missing\" is \"error\"; fill in the cell")
                        }
                        index = mostFrequent ? 0 : column.missingIndex
                    }
                    if column.isEmbedded {
                        out[i * w + offset] = Float(index)
                    } else {
                        out[i * w + offset + index] = 1
                    }
                }
                if unseen > 0 { report.unseen[column.name] = unseen }
            }
        }
        return report
    }

    /// Where each column the encoder reads is in `table`; a missing one is an error naming it.
    public func columnIndices(in table: RawTable) throws -> [Int] {
        try columns.map { column in
            guard let k = table.column(named: column.name) else {
                throw DataError(file: table.path, line: 1, "has no column \"\(column.name)\", which the model was trained on; the file's columns are \(table.names.joined(separator: ", "))")
            }
            return k
        }
    }
}
