import DLCore
import Foundation

/// Training progress on standard error. On a terminal: a live bar for the current epoch
/// (steps, step rate, time left, smoothed loss), redrawn at most ten times a second, then one
/// line per epoch. Elsewhere (a log file, a pipe): only the line per epoch, never carriage
/// returns. Colour only on a terminal, and not when NO_COLOR is set.
public final class ConsoleLogger: TrainingCallback {
    let quiet: Bool
    let live: Bool
    let color: Bool
    private var epochStarted = Date()
    private var lastDraw = Date.distantPast
    private var drawn = false

    public init(quiet: Bool) {
        self.quiet = quiet
        live = !quiet && isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
        color = isatty(STDERR_FILENO) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    }

    private func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    public func trainingBegan(_ trainer: Trainer) throws {
        epochStarted = Date()
        guard !quiet else { return }
        printError(trainer.model.summary)
        let d = trainer.data
        var line = "training on \(d.train.rows) rows of \(d.train.columns) features (\(d.residency)) from \(trainer.config.data.train.path)"
        if let v = d.validation { line += "; validating on \(v.rows)" }
        if let t = d.test { line += "; testing on \(t.rows)" }
        printError(line + String(format: " (read in %.2f s)", trainer.dataSeconds))
        var blas = "BLAS: OpenBLAS \(BLAS.coreName) kernels, \(BLAS.threadCount) thread\(BLAS.threadCount == 1 ? "" : "s")"
        if trainer.config.prefetch && !trainer.trainLoader.prefetching {
            blas += "; batches prepared between steps, not prefetched: the process may run on 1 CPU"
        }
        printError(blas)
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !BLAS.isAVX512Family(forced),
           let preferred = BLAS.preferredKernelFamily, BLAS.isAVX512Family(preferred) {
            printError(paint("this CPU has AVX-512 but OPENBLAS_CORETYPE=\(forced) in the environment keeps OpenBLAS on slower kernels; unset it (dltrain then picks \(preferred)) or set OPENBLAS_CORETYPE=\(preferred)", "33"))
        }
        if let k = d.preprocessor.keptVarianceFraction, let components = d.preprocessor.components {
            let passed = d.preprocessor.passthroughColumns > 0 ? String(format: " (the %d one-hot and embedding inputs pass through)", d.preprocessor.passthroughColumns) : ""
            printError(String(format: "PCA keeps %d of %d components, %.1f%% of the variance", components, d.preprocessor.transformedColumns, 100 * k) + passed)
        }
        for note in trainer.notes { printError(note) }
    }

    public func stepEnded(epoch: Int, step: Int, of steps: Int, smoothedLoss: Double, trainer: Trainer) {
        guard live else { return }
        let now = Date()
        if step == 1 && !drawn { epochStarted = now }
        guard now.timeIntervalSince(lastDraw) >= 0.1 || step == steps else { return }
        lastDraw = now
        let elapsed = Swift.max(now.timeIntervalSince(epochStarted), 1e-6), rate = Double(step) / elapsed
        let width = 24, filled = Swift.min(width, width * step / Swift.max(steps, 1))
        let bar = String(repeating: "=", count: filled) + (filled < width ? ">" : "") + String(repeating: " ", count: Swift.max(0, width - filled - 1))
        let line = String(format: "epoch %d/%d [%@] %d/%d  %.0f steps/s  ETA %.1fs  loss %.4f", epoch, trainer.config.epochs, bar, step, steps,
                          rate, Double(steps - step) / rate, smoothedLoss)
        writeStandardError("\r\u{1B}[K" + line)
        drawn = true
    }

    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws -> [TrainingEvent] {
        if drawn { writeStandardError("\r\u{1B}[K") }
        drawn = false
        epochStarted = Date()
        guard !quiet else { return [] }
        let total = trainer.config.epochs, width = String(total).count
        var line = "epoch \(String(repeating: " ", count: width - String(record.epoch).count))\(record.epoch)/\(total)"
        for name in trainer.metricColumns {
            guard let value = record.metrics[name] else { continue }
            line += name.hasSuffix("accuracy") ? String(format: "  %@ %.1f%%", name, 100 * value) : String(format: "  %@ %.4f", name, value)
        }
        line += String(format: "  lr %.3g  %.2fs", record.learningRate, record.seconds)
        if trainer.improvedLastEpoch && record.epoch > 1 { line += paint("  *", "32") }
        printError(line)
        return []
    }

    public func noticed(_ message: String, trainer: Trainer) throws {
        if drawn { writeStandardError("\r\u{1B}[K") }
        drawn = false
        printError(paint(message, "33"))
    }

    public func trainingInterrupted(_ trainer: Trainer) throws -> [TrainingEvent] {
        if drawn { writeStandardError("\n") }
        drawn = false
        return []
    }

    public func runFinished(_ trainer: Trainer) throws {
        let history = trainer.history
        guard let last = history.last else { return }
        var line = "trained \(history.count) epochs: loss \(String(format: "%.4f", last.trainLoss))"
        if let a = last.trainAccuracy { line += ", training accuracy \(String(format: "%.1f%%", 100 * a))" }
        if let a = last.metrics["val_accuracy"] { line += ", validation accuracy \(String(format: "%.1f%%", 100 * a))" }
        if let test = trainer.testMetrics {
            line += test["accuracy"].map { String(format: ", test accuracy %.2f%%", 100 * $0) }
                ?? String(format: ", test MSE %.4g, MAE %.4g", test["mse"] ?? .nan, test["mae"] ?? .nan)
        }
        printError(line)
        if let s = trainer.snapshotEnsemble {
            let key = s.ensemble["accuracy"] != nil ? "accuracy" : "mse"
            printError(String(format: "snapshot ensemble of %d: validation %@ %.4f (final model alone %.4f)", s.paths.count, key, s.ensemble[key]!, s.single[key]!))
        }
    }
}
