import DLCore
import DLData
import Foundation

/// `dltrain explain`: permutation importance (Breiman 2001; scikit-learn's
/// `permutation_importance`) of each raw input column. A column's importance in one repeat
/// is the metric on the data as given minus the metric once that column's cells are shuffled
/// across the rows (for a loss, the other way round: positive always means the column
/// matters). A table's category (its one-hot block or embedding index), date (its expanded
/// parts) and number with its missing indicator each move as one column.
///
/// Rows are explained in chunks of up to ``chunkRows``, each column shuffled within a chunk:
/// a numeric CSV, a raw table or an HDF5 file is streamed as `eval` reads it and never held
/// whole. The (repeat, column) passes run on
/// two threads, each with its own predictor and single-threaded products; every pass draws
/// from a generator seeded by (seed, repeat, column, chunk), so the result does not depend on
/// which thread ran it.
public enum Explanation {
    public static let chunkRows = 50_000
    public static let classificationMetrics = ["accuracy", "balanced_accuracy", "f1_macro", "mcc", "roc_auc", "pr_auc", "log_loss", "brier"]
    public static let regressionMetrics = ["r2", "mse", "rmse", "mae"]
    static let losses: Set<String> = ["log_loss", "brier", "mse", "rmse", "mae"]

    public struct Importance {
        public var column: String
        /// The metric's drop in each repeat.
        public var drops: [Double]
        public var mean: Double { drops.reduce(0, +) / Double(drops.count) }
        /// The population standard deviation over repeats (scikit-learn's).
        public var std: Double {
            let m = mean
            return (drops.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(drops.count)).squareRoot()
        }
    }

    public struct Result {
        public var metric: String
        public var baseline: Double
        public var rows: Int
        public var repeats: Int
        public var seed: UInt64
        /// Most important first.
        public var importances: [Importance]
    }

    /// One metric's accumulator: classification or regression.
    private enum Score {
        case classification(ClassificationMetrics)
        case regression(RegressionMetrics)

        mutating func add(_ out: UnsafePointer<Float>, _ y: UnsafePointer<Float>, rows n: Int, width: Int) {
            switch self {
            case .classification(var m): m.add(probabilities: out, labels: y, rows: n); self = .classification(m)
            case .regression(var m): m.add(predictions: out, predictionStride: width, targets: y, rows: n); self = .regression(m)
            }
        }

        func value(_ metric: String) -> Double {
            switch self {
            case .classification(let m):
                switch metric {
                case "balanced_accuracy": return m.balancedAccuracy
                case "f1_macro": return m.macro.f1
                case "mcc": return m.mcc
                case "roc_auc": return m.rocAUC ?? .nan
                case "pr_auc": return m.averagePrecision ?? .nan
                case "log_loss": return m.loss
                case "brier": return m.brier
                default: return m.accuracy
                }
            case .regression(let m):
                switch metric {
                case "mse": return m.mse
                case "rmse": return m.rmse
                case "mae": return m.mae
                default: return m.r2
                }
            }
        }
    }

    /// Permutation importance of `checkpoints` (an ensemble when several) on the labelled `path`.
    public static func explain(checkpoints: [String], path: String, repeats: Int, metric requested: String?, seed: UInt64,
                               threshold: Double? = nil) throws -> Result {
        let predictor = try Predictor(paths: checkpoints)
        try predictor.override(threshold: threshold)
        let classification = predictor.task != .regression
        let allowed = classification ? classificationMetrics : regressionMetrics
        let metric = requested ?? (classification ? "accuracy" : "r2")
        guard allowed.contains(metric) else {
            let hint = nearest(metric, in: classificationMetrics + regressionMetrics).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw DataError(file: checkpoints[0], "--metric \(metric)\(hint) is not one of this \(classification ? "classifier" : "regression")'s: \(allowed.joined(separator: ", "))")
        }
        guard repeats >= 1 else { throw DataError(file: path, "--repeats \(repeats): at least one pass per column is needed") }
        if metric == "pr_auc" && predictor.classNames.count != 2 {
            throw DataError(file: checkpoints[0], "--metric pr_auc is the average precision of a binary task's positive class; this model has \(predictor.classNames.count) classes")
        }
        let groups = columnGroups(predictor)
        let workers = Swift.min(2, AvailableCPUs.count, repeats * groups.count)
        let predictors = [predictor] + (try (1..<Swift.max(workers, 1)).map { _ in
            let p = try Predictor(paths: checkpoints)
            p.threshold = predictor.threshold
            return p
        })
        let threads = BLAS.threadCount
        BLAS.threadCount = 1
        defer { BLAS.threadCount = threads }

        func fresh() -> Score {
            classification ? .classification(ClassificationMetrics(classes: predictor.classNames, threshold: predictor.threshold,
                                                                   keepingProbabilities: metric == "roc_auc" || metric == "pr_auc"))
                : .regression(RegressionMetrics(width: predictor.targetWidth))
        }
        var baseline = fresh()
        var permuted = Array(repeating: Array(repeating: fresh(), count: groups.count), count: repeats)
        let d = predictor.inputColumns, targetWidth = Swift.max(predictor.targetWidth, 1)
        var chunkX = [Float](repeating: 0, count: chunkRows * d), chunkY = [Float](repeating: 0, count: chunkRows * targetWidth)
        var filled = 0, chunkIndex: UInt64 = 0, rows = 0

        func processChunk() {
            guard filled > 0 else { return }
            predict(predictors[0], chunkX, rows: filled) { out, start, n in
                chunkY.withUnsafeBufferPointer { baseline.add(out, $0.baseAddress! + start * targetWidth, rows: n, width: predictor.outputWidth) }
            }
            let passes = ChunkPasses(predictors: predictors, groups: groups.map(\.inputs), x: chunkX, y: chunkY, rows: filled,
                                     seed: seed, chunk: chunkIndex, scores: permuted.flatMap { $0 })
            DispatchQueue.concurrentPerform(iterations: predictors.count) { passes.run(worker: $0) }
            for job in 0..<passes.jobs { permuted[job / groups.count][job % groups.count] = passes.scores[job] }
            rows += filled
            filled = 0
            chunkIndex += 1
        }

        try Evaluation.batches(predictor, path: path, split: nil, withTarget: true) { x, y, n in
            var start = 0
            while start < n {
                let take = Swift.min(n - start, chunkRows - filled)
                chunkX.withUnsafeMutableBufferPointer { ($0.baseAddress! + filled * d).update(from: x + start * d, count: take * d) }
                chunkY.withUnsafeMutableBufferPointer { ($0.baseAddress! + filled * targetWidth).update(from: y + start * targetWidth, count: take * targetWidth) }
                filled += take
                start += take
                if filled == chunkRows { processChunk() }
            }
        }
        processChunk()
        guard rows > 0 else { throw DataError(file: path, "has no rows to explain") }

        let sign = losses.contains(metric) ? -1.0 : 1.0, base = baseline.value(metric)
        let importances = groups.enumerated().map { j, group in
            Importance(column: group.name, drops: (0..<repeats).map { sign * (base - permuted[$0][j].value(metric)) })
        }
        return Result(metric: metric, baseline: base, rows: rows, repeats: repeats, seed: seed,
                      importances: importances.sorted { $0.mean != $1.mean ? $0.mean > $1.mean : $0.column < $1.column })
    }

    /// The (repeat, column) passes over one chunk, run by the worker threads: job k goes to
    /// worker k mod workers, which uses only its own predictor and scratch and writes only its
    /// jobs' scores, so nothing is shared mutably (hence `@unchecked Sendable`).
    private final class ChunkPasses: @unchecked Sendable {
        let predictors: [Predictor], groups: [[Int]], x: [Float], y: [Float], rows: Int, seed: UInt64, chunk: UInt64
        let scores: UnsafeMutableBufferPointer<Score>
        var jobs: Int { scores.count }

        init(predictors: [Predictor], groups: [[Int]], x: [Float], y: [Float], rows: Int, seed: UInt64, chunk: UInt64, scores: [Score]) {
            (self.predictors, self.groups, self.x, self.y, self.rows, self.seed, self.chunk) = (predictors, groups, x, y, rows, seed, chunk)
            self.scores = .allocate(capacity: scores.count)
            _ = self.scores.initialize(from: scores)
        }

        deinit {
            scores.deinitialize()
            scores.deallocate()
        }

        func run(worker: Int) {
            let predictor = predictors[worker], d = predictor.inputColumns, n = rows
            let targetWidth = Swift.max(predictor.targetWidth, 1), outputWidth = predictor.outputWidth
            var shuffled = [Float](repeating: 0, count: n * d), order = [Int](repeating: 0, count: n)
            for job in stride(from: worker, to: jobs, by: predictors.count) {
                let (r, j) = (job / groups.count, job % groups.count)
                var rng = RandomSource(seed: seed &+ UInt64(r) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(j) &* 0xBF58_476D_1CE4_E5B9 &+ chunk &* 0x94D0_49BB_1331_11EB)
                for i in 0..<n { order[i] = i }
                for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
                for i in 0..<(n * d) { shuffled[i] = x[i] }
                for i in 0..<n { for c in groups[j] { shuffled[i * d + c] = x[order[i] * d + c] } }
                var score = scores[job]
                Explanation.predict(predictor, shuffled, rows: n) { out, start, count in
                    y.withUnsafeBufferPointer { score.add(out, $0.baseAddress! + start * targetWidth, rows: count, width: outputWidth) }
                }
                scores[job] = score
            }
        }
    }

    /// Predicts `rows` rows of `x` in batches, calling `body` with each batch's outputs, its first row and its rows.
    private static func predict(_ predictor: Predictor, _ x: [Float], rows: Int, _ body: (UnsafePointer<Float>, Int, Int) -> Void) {
        var out = [Float](repeating: 0, count: predictor.batchCapacity * predictor.outputWidth)
        var start = 0
        x.withUnsafeBufferPointer { features in
            while start < rows {
                let n = Swift.min(predictor.batchCapacity, rows - start)
                predictor.predict(features.baseAddress! + start * predictor.inputColumns, rows: n, into: &out)
                body(out, start, n)
                start += n
            }
        }
    }

    /// The raw input columns and the encoded inputs each one moves: a table's columns by
    /// name, or each feature of numeric data.
    static func columnGroups(_ predictor: Predictor) -> [(name: String, inputs: [Int])] {
        if let table = predictor.members[0].checkpoint.table {
            return zip(table.columns, table.inputPositions).map { ($0.name, Array($1)) }
        }
        return predictor.featureNames.enumerated().map { ($1, [$0]) }
    }

    // MARK: Output

    public static func json(_ r: Result) -> JSON {
        .object([
            ("metric", .string(r.metric)), ("baseline", .number(r.baseline)), ("rows", .number(Double(r.rows))),
            ("repeats", .number(Double(r.repeats))), ("seed", .number(Double(r.seed))),
            ("importances", .array(r.importances.map { i in
                .object([("column", .string(i.column)), ("mean", .number(i.mean)), ("std", .number(i.std)), ("drops", .array(i.drops.map(JSON.number)))])
            })),
        ])
    }

    public static func table(_ r: Result) -> String {
        let width = Swift.max(8, (r.importances.map(\.column.count).max() ?? 0) + 2)
        var lines = [String(format: "permutation importance: the drop in %@ (%.4f on %d rows) when a column is shuffled, %d repeat%@, seed %llu",
                            r.metric, r.baseline, r.rows, r.repeats, r.repeats == 1 ? "" : "s", r.seed), ""]
        lines.append(padded("rank", 6) + padded("column", width) + padded("mean", 12, right: true) + padded("std", 12, right: true))
        for (k, i) in r.importances.enumerated() {
            lines.append(padded("\(k + 1)", 6) + padded(i.column, width) + padded(String(format: "%.5f", i.mean), 12, right: true) + padded(String(format: "%.5f", i.std), 12, right: true))
        }
        return lines.joined(separator: "\n")
    }

    /// Writes ``svg(_:)`` to `path`.
    public static func writePlot(_ r: Result, to path: String) throws { try writeTextAtomically(svg(r), to: path) }

    /// importance.svg: a horizontal bar per column, most important on top, with ±1 std.
    public static func svg(_ r: Result) -> String {
        let rowHeight = 24.0, left = 190.0, plotWidth = 460.0, top = 70.0
        let height = top + rowHeight * Double(r.importances.count) + 60, width = left + plotWidth + 40
        let high = Swift.max(r.importances.map { $0.mean + $0.std }.max() ?? 0, 1e-12), low = Swift.min(r.importances.map { $0.mean - $0.std }.min() ?? 0, 0)
        func x(_ v: Double) -> Double { left + (v - low) / (high - low) * plotWidth }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="24" text-anchor="middle" font-size="16" font-weight="bold">Permutation importance</text>
            <text x="\(Int(width / 2))" y="44" text-anchor="middle" fill="#444">\(Chart.escape(String(format: "the drop in %@ (%.4f) when the column is shuffled; %d repeats, ±1 std", r.metric, r.baseline, r.repeats)))</text>

            """
        for t in Chart.ticks(low, high, log: false) {
            out += "<line x1=\"\(Chart.f(x(t)))\" x2=\"\(Chart.f(x(t)))\" y1=\"\(Chart.f(top - 6))\" y2=\"\(Chart.f(height - 50))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(Chart.f(x(t)))\" y=\"\(Chart.f(height - 34))\" text-anchor=\"middle\">\(Chart.label(t))</text>\n"
        }
        out += "<line x1=\"\(Chart.f(x(0)))\" x2=\"\(Chart.f(x(0)))\" y1=\"\(Chart.f(top - 6))\" y2=\"\(Chart.f(height - 50))\" stroke=\"#333\"/>\n"
        for (k, i) in r.importances.enumerated() {
            let y = top + Double(k) * rowHeight, a = x(Swift.min(0, i.mean)), b = x(Swift.max(0, i.mean))
            out += "<text x=\"\(Chart.f(left - 8))\" y=\"\(Chart.f(y + rowHeight / 2 + 4))\" text-anchor=\"end\">\(Chart.escape(String(i.column.prefix(26))))</text>\n"
            out += "<rect x=\"\(Chart.f(a))\" y=\"\(Chart.f(y + 4))\" width=\"\(Chart.f(Swift.max(b - a, 0.5)))\" height=\"\(Chart.f(rowHeight - 8))\" fill=\"\(i.mean >= 0 ? "#1f77b4" : "#d62728")\" fill-opacity=\"0.75\"/>\n"
            let e0 = x(i.mean - i.std), e1 = x(i.mean + i.std), ey = y + rowHeight / 2
            out += "<line x1=\"\(Chart.f(e0))\" x2=\"\(Chart.f(e1))\" y1=\"\(Chart.f(ey))\" y2=\"\(Chart.f(ey))\" stroke=\"#222\"/>\n"
            out += "<line x1=\"\(Chart.f(e0))\" x2=\"\(Chart.f(e0))\" y1=\"\(Chart.f(ey - 4))\" y2=\"\(Chart.f(ey + 4))\" stroke=\"#222\"/>\n"
            out += "<line x1=\"\(Chart.f(e1))\" x2=\"\(Chart.f(e1))\" y1=\"\(Chart.f(ey - 4))\" y2=\"\(Chart.f(ey + 4))\" stroke=\"#222\"/>\n"
        }
        out += "<text x=\"\(Chart.f(left + plotWidth / 2))\" y=\"\(Chart.f(height - 14))\" text-anchor=\"middle\" fill=\"#444\">importance (\(Chart.escape(r.metric)) drop)</text>\n"
        return out + "</svg>\n"
    }
}
