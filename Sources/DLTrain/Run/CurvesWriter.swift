import Foundation

/// Draws `curves.svg` in the run directory: loss (training, validation and the smoothed
/// training loss), accuracy (or validation error for regression) and the learning rate
/// against epochs. Redrawn after each epoch (at most every 2 seconds) and at the end. A
/// classifier with a validation split also gets `calibration.svg` at the end: the validation
/// rows' reliability diagram, before and after training.calibration when it is set.
public final class CurvesWriter: TrainingCallback {
    public let path: String
    private var lastWrite = Date.distantPast

    public init(runDirectory: String) { path = "\(runDirectory)/curves.svg" }

    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws -> [TrainingEvent] {
        if Date().timeIntervalSince(lastWrite) >= 2 { try draw(trainer.history, trainer) }
        return []
    }

    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws -> [TrainingEvent] {
        try draw(history, trainer)
        if let (before, after) = trainer.validationCalibration {
            let sets = trainer.config.calibratesTemperature
                ? [("before", before), (String(format: "temperature %.3g", trainer.decisions.temperature), after)] : [("validation", before)]
            let svg = EvaluationPlots.calibration(sets, title: "Reliability on the validation split")
            try writeTextAtomically(svg, to: URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("calibration.svg").path)
        }
        return []
    }

    public func trainingInterrupted(_ trainer: Trainer) throws -> [TrainingEvent] {
        try draw(trainer.history, trainer)
        return []
    }

    func draw(_ history: [EpochRecord], _ trainer: Trainer) throws {
        // At most 1,000 points per line: every k-th epoch, and always the last.
        let stride = Swift.max(1, history.count / 1000)
        let shown = history.enumerated().filter { $0.offset % stride == 0 || $0.offset == history.count - 1 }.map(\.element)
        func series(_ metric: String, _ name: String, _ color: String, dashed: Bool = false) -> Chart.Series? {
            guard trainer.metricColumns.contains(metric) || metric == "smoothed" else { return nil }
            let points = shown.compactMap { r -> (x: Double, y: Double)? in
                guard let y = metric == "smoothed" ? r.smoothedLoss : r.metrics[metric] else { return nil }
                return (Double(r.epoch), y)
            }
            return points.isEmpty ? nil : Chart.Series(name: name, points: points, color: color, dashed: dashed)
        }
        let blue = "#1f77b4", orange = "#ff7f0e", light = "#8cb8de"
        let losses = [series("train_loss", "training", blue), series("val_loss", "validation", orange),
                      series("smoothed", "training, smoothed", light, dashed: true)].compactMap { $0 }
        let positive = losses.flatMap(\.points).allSatisfy { $0.y > 0 }
        let spread = (losses.flatMap(\.points).map(\.y).max() ?? 1) / Swift.max(losses.flatMap(\.points).map(\.y).min() ?? 1, 1e-300)
        var panels = [Chart.Panel(title: "Loss (\(trainer.config.model.loss.kind.rawValue))", yLabel: "loss", series: losses,
                                  logY: positive && spread > 30)]
        if trainer.config.task == .regression {
            let errors = [series("val_mae", "validation MAE", orange)].compactMap { $0 }
            if !errors.isEmpty { panels.append(Chart.Panel(title: "Validation error (target units)", yLabel: "mean absolute error", series: errors)) }
        } else {
            let accuracy = [series("train_accuracy", "training", blue), series("val_accuracy", "validation", orange)].compactMap { $0 }
            panels.append(Chart.Panel(title: "Accuracy", yLabel: "accuracy", series: accuracy))
        }
        let rates = shown.map { (x: Double($0.epoch), y: $0.learningRate) }
        let rateSpread = (rates.map(\.y).max() ?? 1) / Swift.max(rates.map(\.y).min() ?? 1, 1e-300)
        panels.append(Chart.Panel(title: "Learning rate (\(trainer.config.schedule.kind.rawValue))", yLabel: "learning rate",
                                  series: [Chart.Series(name: "lr", points: rates, color: "#2ca02c")], logY: rateSpread > 20))
        let chart = Chart(title: "dltrain: \((trainer.config.file as NSString).lastPathComponent)", xLabel: "epoch", panels: panels)
        try writeTextAtomically(chart.svg(), to: path)
        lastWrite = Date()
    }
}
