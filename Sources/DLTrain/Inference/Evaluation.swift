import DLCore
import DLData
import Foundation

/// `dltrain eval` and `dltrain predict`: a data file (or a split of the training file) fed
/// through a ``Predictor`` in batches, never holding more than a chunk of the file.
public enum Evaluation {
    /// Calls `body` with batches of raw features (rows × inputColumns) and targets (class
    /// indices, or values in the target's units), reading `path` in chunks, or with the rows of
    /// the training file's `split` ("train", "validation", "test") as the checkpoint's config
    /// made them.
    /// What reading a table file found that the user should hear of.
    public struct InputNotes: Sendable {
        /// Per column, the rows whose level the model never saw in training (they take the "other" level).
        public var unseen: [String: Int] = [:]
        /// Columns of the file the model does not read.
        public var ignoredColumns: [String] = []
        /// Rows left out because their target cell was empty.
        public var rowsWithoutTarget = 0

        var lines: [String] {
            var lines: [String] = []
            if !ignoredColumns.isEmpty { lines.append("ignored columns the model does not read: \(ignoredColumns.joined(separator: ", "))") }
            for (name, count) in unseen.sorted(by: { $0.key < $1.key }) {
                lines.append("column \"\(name)\": \(count) row\(count == 1 ? "" : "s") with a level unseen in training (read as the \"other\" level)")
            }
            if rowsWithoutTarget > 0 { lines.append("\(rowsWithoutTarget) rows without a target are left out") }
            return lines
        }

        /// Adds what one read (of a whole file or of a piece of it) found.
        mutating func add(_ read: TableFile.Read) {
            unseen.merge(read.report.unseen, uniquingKeysWith: +)
            ignoredColumns = read.extraColumns
            rowsWithoutTarget += read.droppedWithoutTarget
        }

        var json: [(String, JSON)] {
            [("unseen_levels", .object(unseen.sorted(by: { $0.key < $1.key }).map { ($0.key, JSON.number(Double($0.value))) })),
             ("ignored_columns", .array(ignoredColumns.map(JSON.string))), ("rows_without_target", .number(Double(rowsWithoutTarget)))]
        }
    }

    @discardableResult
    static func batches(_ predictor: Predictor, path: String, split: String?, withTarget: Bool, chunkBytes: Int = CSVReader.chunkBytes,
                        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, Int) throws -> Void) throws -> InputNotes {
        var spec = predictor.source(for: path, withTarget: withTarget)
        let capacity = predictor.batchCapacity
        func check(_ columns: Int) throws {
            guard columns == predictor.inputColumns else {
                throw DataError(file: path, "has \(columns) feature columns but the model was trained on \(predictor.inputColumns) (\(predictor.featureNames.prefix(6).joined(separator: ", "))\(predictor.inputColumns > 6 ? ", ..." : "")); use data with the training data's columns")
            }
        }
        // Rows go into batches of `capacity` in file order across the pieces a file is read
        // in, so each row meets the same batch (and the same bits) however the file is cut.
        var x: [Float] = [], y: [Float] = [], filled = 0
        func feed(_ data: Dataset, rows: [Int]?) throws {
            try check(data.columns)
            let targetWidth = data.targetWidth
            if x.isEmpty {
                x = [Float](repeating: 0, count: capacity * data.columns)
                y = [Float](repeating: 0, count: capacity * Swift.max(targetWidth, 1))
            }
            for row in rows ?? Array(0..<data.rows) {
                for c in 0..<data.columns { x[filled * data.columns + c] = data.features[row * data.columns + c] }
                for k in 0..<targetWidth { y[filled * targetWidth + k] = data.targets[row * targetWidth + k] }
                filled += 1
                if filled == capacity { try flush() }
            }
        }
        func flush() throws {
            if filled > 0 { try body(x, y, filled) }
            filled = 0
        }
        if let table = predictor.members[0].checkpoint.table, spec.format == .csv {
            let trainedTarget = predictor.members[0].checkpoint.targetNames.first
            guard let split else {
                // A table a piece at a time, each encoded as in training: memory stays at a piece.
                var notes = InputNotes()
                try TableFile.stream(spec, encoder: table, kind: predictor.targetKind, requireTarget: withTarget, trainedTarget: trainedTarget,
                                     chunkBytes: chunkBytes) { read in
                    notes.add(read)
                    try feed(read.dataset, rows: nil)
                }
                try flush()
                return notes
            }
            // A split of the training file: read whole, since fit cut its rows from the whole file.
            let read = try TableFile.read(spec, encoder: table, kind: predictor.targetKind, requireTarget: withTarget, droppingRows: true,
                                          trainedTarget: trainedTarget)
            try feed(read.dataset, rows: try splitPart(split, of: read.dataset, predictor: predictor, path: path))
            try flush()
            var notes = InputNotes()
            notes.add(read)
            return notes
        }
        if let split {
            let all = try DataReader.read(spec, kind: predictor.targetKind)
            try feed(all, rows: try splitPart(split, of: all, predictor: predictor, path: path))
            try flush()
            return InputNotes()
        }

        if spec.format == .hdf5 {
            if !withTarget { spec.target = [] }
            let stream = try HDF5Rows(spec, kind: predictor.targetKind, memoryLimitMB: 64)
            try check(stream.columns)
            var rng = RandomSource(seed: 0)
            stream.beginEpoch(shuffled: false, rng: &rng)
            var x = [Float](repeating: 0, count: capacity * stream.columns), y = [Float](repeating: 0, count: capacity * Swift.max(stream.targetWidth, 1))
            while true {
                let n = try stream.next(capacity, features: &x, targets: &y)
                if n == 0 { break }
                try body(x, y, n)
            }
            return InputNotes()
        }
        if !withTarget {
            // A prediction file may or may not carry the target column; read it and ignore it if it does.
            let (names, count) = try CSVReader.columns(spec)
            let training = predictor.members[0].config.data.train.target
            let present = training.allSatisfy { column in
                switch column {
                case .name(let name): return names?.contains(name) ?? false
                case .index: return count == predictor.inputColumns + training.count
                }
            }
            spec.target = present ? training : []
        }
        // A target column in a prediction file is read (as the task's kind, any labels) and ignored.
        let ignoredTarget: TargetKind = predictor.task == .regression ? .numeric : .categorical(classes: nil)
        try CSVReader.stream(spec, kind: withTarget ? predictor.targetKind : ignoredTarget, chunkBytes: chunkBytes) { chunk in try feed(chunk, rows: nil) }
        try flush()
        return InputNotes()
    }

    /// The rows of `split` ("train", "validation", "test") of the training file `all`, as fit made them.
    static func splitPart(_ split: String, of all: Dataset, predictor: Predictor, path: String) throws -> [Int] {
        let parts = TrainingData.splitRows(config: predictor.members[0].config, dataset: all)
        let rows: [Int]?
        switch split {
        case "train": rows = parts.train
        case "validation": rows = parts.validation
        case "test": rows = parts.test
        default: throw DataError(file: path, "--split takes train, validation or test, not \"\(split)\"")
        }
        guard let rows else {
            throw DataError(file: path, "the checkpoint's config makes no \(split) split of its training file (data.\(split) is \(split == "train" ? "every row" : "absent or a file of its own")); evaluate that file directly")
        }
        return rows
    }

    /// Accuracy and log loss (classification) or MSE and MAE (regression) of `predictor` on
    /// every row of `rows` (raw features, targets as fit reads them).
    public static func metrics(_ predictor: Predictor, rows: RowProducer) throws -> [String: Double] {
        var rng = RandomSource(seed: 0)
        rows.beginEpoch(shuffled: false, rng: &rng)
        let capacity = predictor.batchCapacity
        var x = [Float](repeating: 0, count: capacity * rows.columns), y = [Float](repeating: 0, count: capacity * Swift.max(rows.targetWidth, 1))
        var out = [Float](repeating: 0, count: capacity * predictor.outputWidth)
        var classification = ClassificationMetrics(classes: predictor.classNames)
        var regression = RegressionMetrics(width: predictor.targetWidth)
        while true {
            let n = try rows.next(capacity, features: &x, targets: &y)
            if n == 0 { break }
            predictor.predict(x, rows: n, into: &out)
            if predictor.task == .regression {
                regression.add(predictions: out, predictionStride: predictor.targetWidth, targets: y, rows: n)
            } else {
                classification.add(probabilities: out, labels: y, rows: n)
            }
        }
        return predictor.task == .regression ? ["mse": regression.mse, "mae": regression.mae]
            : ["accuracy": classification.accuracy, "loss": classification.loss]
    }

    /// Metrics of `checkpoints` (averaged as an ensemble when several) on `path`, at the
    /// checkpoint's decision threshold or `threshold`; with `plots`, the curves drawn there.
    public static func evaluate(checkpoints: [String], path: String, split: String?, topK: Int?, threshold: Double? = nil,
                                plots: String? = nil, chunkBytes: Int = CSVReader.chunkBytes) throws -> (json: JSON, text: String) {
        let predictor = try Predictor(paths: checkpoints)
        try predictor.override(threshold: threshold)
        var out = [Float](repeating: 0, count: predictor.batchCapacity * predictor.outputWidth)
        var spread = [Float](repeating: 0, count: predictor.batchCapacity * predictor.targetWidth)
        let header = (checkpoints.count > 1 ? "ensemble of \(checkpoints.count) checkpoints" : checkpoints[0]) + " on \(path)" + (split.map { " (\($0) split)" } ?? "")
        if predictor.task != .regression {
            if let k = topK, k < 1 || k > predictor.classNames.count {
                throw DataError(file: path, "--top-k \(k) is outside 1...\(predictor.classNames.count) (the number of classes)")
            }
            var metrics = ClassificationMetrics(classes: predictor.classNames, topK: topK, threshold: predictor.threshold)
            let notes = try batches(predictor, path: path, split: split, withTarget: true, chunkBytes: chunkBytes) { x, y, n in
                predictor.predict(x, rows: n, into: &out)
                metrics.add(probabilities: out, labels: y, rows: n)
            }
            var lines = [header] + notes.lines + (predictor.thresholdNote.map { [$0] } ?? []) + [metrics.table()]
            if let plots { lines.append(try EvaluationPlots.write(metrics, to: plots)) }
            var json = metrics.json().appending(notes.json)
            if predictor.thresholdNote != nil, let stored = predictor.memberThresholds {
                json = json.appending([("member_thresholds", .array(stored.map { $0.map(JSON.number) ?? .null }))])
            }
            return (json, lines.joined(separator: "\n"))
        }
        if plots != nil { throw DataError(file: path, "--plots draws ROC, precision-recall, calibration and confusion plots of a classifier; this model is a regression") }
        var metrics = RegressionMetrics(width: predictor.targetWidth)
        var lossSum = 0.0
        let notes = try batches(predictor, path: path, split: split, withTarget: true, chunkBytes: chunkBytes) { x, y, n in
            predictor.predict(x, rows: n, into: &out, spread: &spread)
            metrics.add(predictions: out, predictionStride: predictor.targetWidth, targets: y, rows: n)
            lossSum += regressionLoss(predictor, predictions: out, spread: spread, targets: y, rows: n)
        }
        let loss = lossSum / Double(Swift.max(metrics.rows * predictor.targetWidth, 1))
        return (metrics.json(loss: loss).appending(notes.json), ([header] + notes.lines + [metrics.table(loss: loss)]).joined(separator: "\n"))
    }

    /// The training loss (in standardized units, as fit reports val_loss), summed over rows and targets.
    static func regressionLoss(_ predictor: Predictor, predictions: [Float], spread: [Float], targets: UnsafePointer<Float>, rows n: Int) -> Double {
        let member = predictor.members[0], p = member.checkpoint.preprocessor, w = predictor.targetWidth
        let loss = member.config.model.loss
        var total = 0.0
        for r in 0..<n {
            for k in 0..<w {
                let scale = Double(p.targetScale?[k] ?? 1)
                let residual = (Double(predictions[r * w + k]) - Double(targets[r * w + k])) * scale
                switch loss.kind {
                case .mae: total += Swift.abs(residual)
                case .huber:
                    let a = Swift.abs(residual), d = loss.huberDelta
                    total += a <= d ? 0.5 * a * a : d * (a - 0.5 * d)
                case .gaussianNLL:
                    let variance = Swift.max(Double(spread[r * w + k]) * scale, 1e-6)
                    total += 0.5 * (Foundation.log(variance * variance) + residual * residual / (variance * variance))
                default: total += residual * residual
                }
            }
        }
        return total
    }

    /// Writes one prediction row per input row of `path` to `output`; returns the rows written.
    public static func predict(checkpoints: [String], path: String, output: String, threshold: Double? = nil,
                               chunkBytes: Int = CSVReader.chunkBytes) throws -> (rows: Int, notes: [String]) {
        let predictor = try Predictor(paths: checkpoints)
        try predictor.override(threshold: threshold)
        let handle = try createFileForWriting(output, what: "predictions file")
        defer { try? handle.close() }
        let targetNames = predictor.members[0].checkpoint.targetNames
        var columns: [String]
        if predictor.task == .regression {
            let names = (0..<predictor.targetWidth).map { k in k < targetNames.count ? targetNames[k].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) : "target_\(k)" }
            columns = names + (predictor.hasSpread ? names.map { "\($0)_std" } : [])
        } else {
            columns = ["predicted"] + predictor.classNames.map { "probability_\($0)" }
        }
        try handle.write(contentsOf: Data((columns.map(csvField).joined(separator: ",") + "\n").utf8))
        var out = [Float](repeating: 0, count: predictor.batchCapacity * predictor.outputWidth)
        var spread = [Float](repeating: 0, count: predictor.batchCapacity * predictor.targetWidth)
        var written = 0
        let classFields = predictor.classNames.map { Array(csvField($0).utf8) }
        var text: [UInt8] = []
        let notes = try batches(predictor, path: path, split: nil, withTarget: false, chunkBytes: chunkBytes) { x, _, n in
            predictor.predict(x, rows: n, into: &out, spread: &spread)
            text.removeAll(keepingCapacity: true)
            let width = predictor.outputWidth, targetWidth = predictor.targetWidth
            for r in 0..<n {
                if predictor.task == .regression {
                    for k in 0..<width { if k > 0 { text.append(comma) }; append(out[r * width + k], to: &text) }
                    if predictor.hasSpread { for k in 0..<targetWidth { text.append(comma); append(spread[r * targetWidth + k], to: &text) } }
                } else {
                    let best = out.withUnsafeBufferPointer { predictor.decided($0.baseAddress!, row: r) }
                    text += classFields[best]
                    for k in 0..<width { text.append(comma); append(out[r * width + k], to: &text) }
                }
                text.append(newline)
            }
            do { try handle.write(contentsOf: text) } catch {
                throw RunFailure("cannot write \(output): \(error.localizedDescription) (disk full?)")
            }
            written += n
        }
        return (written, notes.lines + (predictor.thresholdNote.map { [$0] } ?? []))
    }

    private static let comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n")

    /// Appends `x` with nine significant digits (`%.9g`: a float32 round-trips exactly). C's
    /// formatting straight into the bytes: Foundation's `String(format:)` took two thirds of
    /// `predict`'s time on a large file.
    static func append(_ x: Float, to text: inout [UInt8], using strfromd: StringFromDouble? = strfromd) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 32) { buffer in
            let count = if let strfromd { strfromd(buffer.baseAddress, 32, "%.9g", Double(x)) }
                else { withVaList([Double(x)]) { vsnprintf(buffer.baseAddress!, 32, "%.9g", $0) } }
            buffer.withMemoryRebound(to: UInt8.self) { text.append(contentsOf: $0.prefix(Int(count))) }
        }
    }

    /// glibc's `strfromd` (2.25 and later), which Swift's Glibc module does not declare: one
    /// number without `vsnprintf`'s variadic arguments, whose boxing and casts cost as much
    /// as the formatting. nil where the C library lacks it.
    static let strfromd: StringFromDouble? = dlsym(nil, "strfromd").map { unsafeBitCast($0, to: StringFromDouble.self) }
    typealias StringFromDouble = @convention(c) (UnsafeMutablePointer<CChar>?, Int, UnsafePointer<CChar>?, Double) -> Int32

    static func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}
