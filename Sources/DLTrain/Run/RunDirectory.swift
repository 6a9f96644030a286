import DLCore
import Foundation

/// Writes a run's files: `config.json` at the start, a `metrics.csv` row per epoch
/// (appended and flushed, so a long run costs one line per epoch), and `summary.json` at
/// the end. Whole files are written to a temporary name and renamed, so a reader never
/// sees half of one.
public final class RunDirectory: TrainingCallback {
    public let path: String
    private let started = Date()
    private var metrics: FileHandle?

    public init(path: String) throws {
        self.path = path
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RunFailure("cannot create the run directory \(path): \(error.localizedDescription); choose another with --out")
        }
    }

    public func trainingBegan(_ trainer: Trainer) throws {
        var resolved = trainer.config.resolved
        if var members = resolved.members, let k = members.firstIndex(where: { $0.key == "output" }) {
            members[k].value = .object([("dir", .string(path))])
            resolved = JSON(.object(members))
        }
        try write("config.json", resolved.rendered() + "\n")
        // A resumed run starts from the checkpoint's history: rows a crashed run wrote after
        // its last checkpoint are replaced, never duplicated.
        try write("metrics.csv", ([header(trainer)] + trainer.history.map { row($0, trainer) }).joined(separator: "\n") + "\n")
        metrics = FileHandle(forWritingAtPath: "\(path)/metrics.csv")
        metrics?.seekToEndOfFile()
    }

    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws -> [TrainingEvent] {
        let line = row(record, trainer)
        guard let metrics else { throw RunFailure("\(path)/metrics.csv is not open for writing") }
        do {
            try metrics.write(contentsOf: Data((line + "\n").utf8))
            try metrics.synchronize()
        } catch {
            throw RunFailure("cannot append to \(path)/metrics.csv: \(error.localizedDescription)")
        }
        return []
    }

    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws -> [TrainingEvent] {
        try? metrics?.close()
        metrics = nil
        return []
    }

    /// summary.json, once every checkpoint of the run is written.
    public func runFinished(_ trainer: Trainer) throws {
        let history = trainer.history
        guard let last = history.last else { return }
        // The best epoch by validation loss when there is validation data, else training loss.
        let monitor = trainer.config.checkpointMonitor
        let best = history.first { $0.epoch == trainer.state.checkpointBestEpoch } ?? last
        func object(_ metrics: [String: Double]) -> JSON {
            .object(trainer.metricColumns.compactMap { name in metrics[name].map { (name, JSON.number($0)) } })
        }
        var members: [(String, JSON)] = [
            ("epochs", .number(Double(history.count))),
            ("stopped_early", .bool(trainer.state.stoppedEarly)),
            ("monitor", .string(monitor)),
            ("best_epoch", .number(Double(best.epoch))),
            ("best", object(best.metrics)),
            ("final", object(last.metrics)),
        ]
        if let test = trainer.testMetrics {
            members.append(("test", .object(test.keys.sorted().map { ($0, JSON.number(test[$0]!)) })))
        }
        if trainer.state.rollbacks > 0 || trainer.state.skippedBatches > 0 {
            members.append(("nonfinite", .object([("rollbacks", .number(Double(trainer.state.rollbacks))), ("skipped_batches", .number(Double(trainer.state.skippedBatches)))])))
        }
        if let (before, after) = trainer.validationCalibration {
            let d = trainer.decisions
            members.append(("decisions", .object([
                ("temperature", .number(d.temperature)), ("threshold", d.threshold.map(JSON.number) ?? .null),
                ("threshold_rule", d.thresholdRule.map(JSON.string) ?? .null),
                ("validation", .object([
                    ("log_loss_before", .number(before.loss)), ("log_loss_after", .number(after.loss)),
                    ("ece_before", .number(before.ece)), ("ece_after", .number(after.ece)),
                    ("accuracy_before", .number(before.accuracy)), ("accuracy_after", .number(after.accuracy)),
                    ("balanced_accuracy_before", .number(before.balancedAccuracy)), ("balanced_accuracy_after", .number(after.balancedAccuracy)),
                    ("f1_macro_before", .number(before.macro.f1)), ("f1_macro_after", .number(after.macro.f1)),
                ])),
            ])))
        }
        if let checkpoint = trainer.lastCheckpoint { members.append(("checkpoint", .string(checkpoint))) }
        if let snapshots = trainer.snapshotEnsemble {
            func object(_ m: [String: Double]) -> JSON { .object(m.keys.sorted().map { ("val_" + $0, JSON.number(m[$0]!)) }) }
            members.append(("snapshot_ensemble", .object([
                ("members", .array(snapshots.paths.map(JSON.string))),
                ("ensemble", object(snapshots.ensemble)), ("single_model", object(snapshots.single)),
            ])))
        }
        members.append(("wall_seconds", .number((Date().timeIntervalSince(started) * 1000).rounded() / 1000)))
        try write("summary.json", JSON.object(members).rendered() + "\n")
    }

    private func header(_ trainer: Trainer) -> String {
        (["epoch"] + trainer.metricColumns + ["lr", "seconds", "train_loss_smoothed"]).joined(separator: ",")
    }

    private func row(_ record: EpochRecord, _ trainer: Trainer) -> String {
        var fields = ["\(record.epoch)"] + trainer.metricColumns.map { record.metrics[$0].map(format) ?? "" }
        fields += [format(record.learningRate), String(format: "%.4f", record.seconds), record.smoothedLoss.map(format) ?? ""]
        return fields.joined(separator: ",")
    }

    private func format(_ x: Double) -> String { String(format: "%.6g", x) }

    private func write(_ name: String, _ text: String) throws { try writeTextAtomically(text, to: "\(path)/\(name)") }

    // MARK: Runs already there

    /// The files of a run (a fit's or a cross-validation's); the first one present shows that
    /// a directory holds a run.
    static let runFiles = ["checkpoints/last.h5", "checkpoints/best.h5", "metrics.csv", "summary.json", "folds.json", "config.json", "calibration.svg",
                           "curves.svg", "diagnostics.csv"]

    /// The first run file in `path`, or nil when it holds no run.
    public static func heldRun(in path: String) -> String? {
        let manager = FileManager.default
        if let file = runFiles.first(where: { manager.fileExists(atPath: "\(path)/\($0)") }) { return file }
        return (try? manager.contentsOfDirectory(atPath: path))?.sorted().first { $0.hasPrefix("fold-") && heldRun(in: "\(path)/\($0)") != nil }
    }

    /// For `--overwrite`: removes the run's own files from `path` (its checkpoints, snapshots,
    /// folds), so nothing of the old run mixes with the new; other files stay.
    public static func clearRun(in path: String) throws {
        let manager = FileManager.default
        var doomed = runFiles.map { "\(path)/\($0)" }
        let checkpoints = (try? manager.contentsOfDirectory(atPath: "\(path)/checkpoints")) ?? []
        doomed += checkpoints.filter { $0.hasSuffix(".h5") }.map { "\(path)/checkpoints/\($0)" }
        let folds = (try? manager.contentsOfDirectory(atPath: path)) ?? []
        doomed += folds.filter { $0.hasPrefix("fold-") }.map { "\(path)/\($0)" }
        for file in doomed where manager.fileExists(atPath: file) {
            do { try manager.removeItem(atPath: file) } catch {
                throw RunFailure("cannot remove \(file) of the old run for --overwrite: \(error.localizedDescription)")
            }
        }
    }
}
