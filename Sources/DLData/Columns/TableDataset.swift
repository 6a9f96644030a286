/// A table's rows as a ``Dataset``: the target column encoded (rows without a target left
/// out and counted), the other columns through a ``TableEncoder``.
public enum TableDataset {
    /// The rows that have a target, their targets (class indices or values) and the classes.
    /// `allowingOneClass`: a held-out file may hold one class (the classes are the training data's).
    /// `allowingNone`: a piece of a streamed file may have no target at all (the caller checks the whole file).
    public static func targets(_ table: RawTable, column t: Int, kind: TargetKind, allowingOneClass: Bool = false,
                               allowingNone: Bool = false) throws -> (rows: [Int], targets: [Float], classes: [String], dropped: Int) {
        let y = table.columns[t]
        var rows: [Int] = [], texts: [String] = [], numbers: [Float] = []
        rows.reserveCapacity(table.rows)
        for r in 0..<table.rows {
            let code = y.codes[r]
            if code == RawColumn.missingCode { continue }
            rows.append(r)
            if kind == .numeric {
                guard code == RawColumn.numberCode || !y.numbers[r].isNaN else {
                    throw DataError(file: table.path, line: table.lines[r], "the target \"\(y.name)\" is \"\(y.levels[Int(code)])\" here, but a regression target must be a number; fix the cell, list the token in data.missing_values, or set data.task to classification")
                }
                numbers.append(y.numbers[r])
            } else {
                texts.append(code >= 0 ? y.levels[Int(code)] : RawTable.text(of: y.numbers[r]))
            }
        }
        guard !rows.isEmpty else {
            if allowingNone { return ([], [], [], table.rows) }
            throw emptyTarget(y.name, path: table.path)
        }
        let encoded = try LabelEncoder.encode(kind: kind, texts: kind == .numeric ? nil : texts, numbers: numbers, width: 1, names: [y.name],
                                              path: table.path, origins: rows.map { table.lines[$0] }, originIsLine: true)
        if kind != .numeric && encoded.classes.count < 2 && !allowingOneClass {
            throw DataError(file: table.path, "the target column \"\(y.name)\" has one class (\"\(encoded.classes.first ?? "")\") in every row with a target: there is nothing to tell apart; check the target column")
        }
        return (rows, encoded.targets, encoded.classes, table.rows - rows.count)
    }

    static func emptyTarget(_ name: String, path: String) -> DataError {
        DataError(file: path, "the target column \"\(name)\" is empty in every row")
    }

    /// `rows` of `table` with their `targets`, as the encoder's inputs.
    public static func dataset(_ table: RawTable, rows: [Int], targets: [Float], classes: [String], targetName: String,
                               encoder: TableEncoder) throws -> (dataset: Dataset, report: TableEncoder.Report) {
        var features: [Float] = []
        let report = try encoder.encode(table, rows: rows, into: &features)
        let dataset = Dataset(features: features, rows: rows.count, columns: encoder.width, featureNames: encoder.inputNames,
                              targets: targets, targetWidth: targets.isEmpty ? 0 : 1, targetNames: targets.isEmpty ? [] : [targetName],
                              classNames: classes, origins: rows.map { table.lines[$0] })
        return (dataset, report)
    }
}

/// A table file read for a trained encoder: a held-out split, or `eval` and `predict` input.
public enum TableFile {
    public struct Read: Sendable {
        public var dataset: Dataset
        public var report: TableEncoder.Report
        /// Columns of the file that the model does not read (neither inputs, target nor ignored).
        public var extraColumns: [String]
        /// Rows left out because their target was missing.
        public var droppedWithoutTarget: Int
        /// The file's target column, when it has one.
        public var targetColumn: String?
    }

    /// Reads `spec` and encodes it; its target column (when `spec` names one and the file has
    /// it) is encoded as `kind`. `requireTarget`: a file without the target is an error.
    /// `droppingRows`: rows that a column's `drop` policy removed in training are removed here
    /// too (a split of the training file); otherwise every row is encoded (predict).
    /// `trainedTarget`: the training data's target column, never an extra column (predict reads
    /// a file with or without it, and ignores it).
    public static func read(_ spec: SourceSpec, encoder: TableEncoder, kind: TargetKind, requireTarget: Bool, droppingRows: Bool = true,
                            trainedTarget: String? = nil) throws -> Read {
        let raw = try RawTable.read(spec, missingValues: encoder.missingValues)
        return try encode(raw, spec: spec, encoder: encoder, kind: kind, requireTarget: requireTarget, droppingRows: droppingRows,
                          trainedTarget: trainedTarget, piece: false)
    }

    /// ``read(_:encoder:kind:requireTarget:droppingRows:trainedTarget:)`` of every row, a piece
    /// of about `chunkBytes` of the file at a time (``RawTable/stream(_:missingValues:chunkBytes:_:)``):
    /// `body` gets each piece's rows encoded, so memory stays at a piece however large the
    /// file. A piece whose rows all lack the target comes with no rows (counted as dropped);
    /// a file whose rows all lack it is an error, as when read whole.
    public static func stream(_ spec: SourceSpec, encoder: TableEncoder, kind: TargetKind, requireTarget: Bool,
                              trainedTarget: String? = nil, chunkBytes: Int = CSVReader.chunkBytes, _ body: (Read) throws -> Void) throws {
        var rows = 0
        var target: String? = nil
        try RawTable.stream(spec, missingValues: encoder.missingValues, chunkBytes: chunkBytes) { raw in
            let read = try encode(raw, spec: spec, encoder: encoder, kind: kind, requireTarget: requireTarget, droppingRows: false,
                                  trainedTarget: trainedTarget, piece: true)
            rows += read.dataset.rows
            target = read.targetColumn
            try body(read)
        }
        if rows == 0, let target { throw TableDataset.emptyTarget(target, path: spec.path) }
    }

    private static func encode(_ table: RawTable, spec: SourceSpec, encoder: TableEncoder, kind: TargetKind, requireTarget: Bool,
                               droppingRows: Bool, trainedTarget: String?, piece: Bool) throws -> Read {
        var raw = table
        for (k, column) in raw.columns.enumerated() where column.numericCells > 0 && encoder.columns.contains(where: { $0.name == column.name && $0.kind != .numeric }) {
            raw.codeNumbers(ofColumn: k)
        }
        let inputs = Set(encoder.columns.map(\.name)).union(encoder.ignored).union(trainedTarget.map { [$0] } ?? [])
        var targetIndex: Int? = nil
        if let target = spec.target.first {
            targetIndex = try? CSVReader.resolve(target, header: raw.names, columns: raw.columns.count, path: spec.path)
            if targetIndex == nil && requireTarget {
                throw DataError(file: spec.path, line: 1, "has no target column \(target); the model was trained to predict it, and evaluation needs it")
            }
        }
        let extra = raw.names.enumerated().filter { !inputs.contains($0.element) && $0.offset != targetIndex }.map(\.element)
        var rows = Array(0..<raw.rows), targets: [Float] = [], classes: [String] = [], dropped = 0
        if let t = targetIndex {
            (rows, targets, classes, dropped) = try TableDataset.targets(raw, column: t, kind: kind, allowingOneClass: true, allowingNone: piece)
        }
        if droppingRows {
            let kept = try encoder.positionsKept(rows, table: raw)
            if kept.count < rows.count {
                rows = kept.map { rows[$0] }
                if !targets.isEmpty { targets = kept.map { targets[$0] } }
            }
        }
        let (dataset, report) = try TableDataset.dataset(raw, rows: rows, targets: targets, classes: classes,
                                                         targetName: targetIndex.map { raw.names[$0] } ?? "", encoder: encoder)
        return Read(dataset: dataset, report: report, extraColumns: extra, droppedWithoutTarget: dropped,
                    targetColumn: targetIndex.map { raw.names[$0] })
    }
}
