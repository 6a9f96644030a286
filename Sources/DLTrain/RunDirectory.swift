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
        try write("metrics.csv", header(trainer) + "\n")
        metrics = FileHandle(forWritingAtPath: "\(path)/metrics.csv")
        metrics?.seekToEndOfFile()
    }

    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws {
        var fields = ["\(record.epoch)", format(record.trainLoss)]
        if let a = record.trainAccuracy { fields.append(format(a)) }
        fields += [format(record.learningRate), String(format: "%.4f", record.seconds)]
        guard let metrics else { throw RunFailure("\(path)/metrics.csv is not open for writing") }
        do {
            try metrics.write(contentsOf: Data((fields.joined(separator: ",") + "\n").utf8))
            try metrics.synchronize()
        } catch {
            throw RunFailure("cannot append to \(path)/metrics.csv: \(error.localizedDescription)")
        }
    }

    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws {
        try metrics?.close()
        metrics = nil
        guard let last = history.last else { return }
        var final: [(String, JSON)] = [("train_loss", .number(last.trainLoss))]
        if let a = last.trainAccuracy { final.append(("train_accuracy", .number(a))) }
        let best = history.min { $0.trainLoss < $1.trainLoss }!
        let summary = JSON.object([
            ("epochs", .number(Double(history.count))),
            ("best_epoch", .number(Double(best.epoch))),
            ("best", .object([("train_loss", .number(best.trainLoss))])),
            ("final", .object(final)),
            ("wall_seconds", .number((Date().timeIntervalSince(started) * 1000).rounded() / 1000)),
        ])
        try write("summary.json", summary.rendered() + "\n")
    }

    private func header(_ trainer: Trainer) -> String {
        trainer.config.task == .regression ? "epoch,train_loss,lr,seconds" : "epoch,train_loss,train_accuracy,lr,seconds"
    }

    private func format(_ x: Double) -> String { String(format: "%.6g", x) }

    private func write(_ name: String, _ text: String) throws {
        let final = "\(path)/\(name)", temporary = "\(path)/.\(name).tmp"
        do {
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        } catch {
            throw RunFailure("cannot write \(final): \(error.localizedDescription)")
        }
        guard rename(temporary, final) == 0 else {
            throw RunFailure("cannot rename \(temporary) to \(final): \(String(cString: strerror(errno)))")
        }
    }
}

/// Prints one line per epoch to standard error (never carriage-return updates, which
/// flood log files), and a closing line.
public final class ConsoleLogger: TrainingCallback {
    let quiet: Bool
    public init(quiet: Bool) { self.quiet = quiet }

    public func trainingBegan(_ trainer: Trainer) throws {
        guard !quiet else { return }
        printError(trainer.model.summary)
        printError("training on \(trainer.data.rows) rows of \(trainer.data.columns) features from \(trainer.config.trainPath)")
    }

    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws {
        guard !quiet else { return }
        let total = trainer.config.epochs, width = String(total).count
        var line = "epoch \(String(repeating: " ", count: width - String(record.epoch).count))\(record.epoch)/\(total)  loss \(String(format: "%.4f", record.trainLoss))"
        if let a = record.trainAccuracy { line += "  accuracy \(String(format: "%.1f%%", 100 * a))" }
        line += String(format: "  %.2fs", record.seconds)
        printError(line)
    }

    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws {
        guard let last = history.last else { return }
        var line = "trained \(history.count) epochs: loss \(String(format: "%.4f", last.trainLoss))"
        if let a = last.trainAccuracy { line += ", training accuracy \(String(format: "%.1f%%", 100 * a))" }
        printError(line)
    }
}

/// Writes a line to standard error: progress and logs never mix with `--json` on stdout.
public func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
