import DLData
import DLNN
import Foundation

/// `dltrain inspect`: what a checkpoint holds, for a person.
public enum Inspection {
    public static func describe(_ path: String) throws -> String {
        let checkpoint = try Checkpoint.read(path)
        let config = try Config(resolved: checkpoint.config, file: path, raw: checkpoint.config, validated: true)
        let model = try Model(inputs: checkpoint.preprocessor.outputColumns, spec: config.model.embedding(checkpoint.table))
        let state = checkpoint.state
        var lines = ["checkpoint \(path)", "written by dltrain \(checkpoint.dltrainVersion) on \(checkpoint.created)", "", model.summary, ""]
        var trained = "trained \(state.epoch) epoch\(state.epoch == 1 ? "" : "s")"
        if state.stepInEpoch > 0 { trained += " and \(state.stepInEpoch) steps of the next (interrupted)" }
        if state.stoppedEarly { trained += ", stopped early" }
        lines.append(trained + " of \(config.epochs) with \(config.optimizer.name) (lr \(config.optimizer.learningRate), schedule \(config.schedule.kind.rawValue)), seed \(config.seed)")
        if let best = state.checkpointBest {
            lines.append(String(format: "best %@ %.6g at epoch %d", config.checkpointMonitor, best, state.checkpointBestEpoch))
        }
        if let last = state.history.last {
            lines.append("last epoch: " + last.metrics.keys.sorted().map { String(format: "%@ %.6g", $0, last.metrics[$0]!) }.joined(separator: ", "))
        }
        lines.append("")
        lines.append("task \(config.task.rawValue); data \(config.data.train.path)")
        if !checkpoint.classNames.isEmpty { lines.append("classes (index order): \(checkpoint.classNames.joined(separator: ", "))") }
        let d = checkpoint.decisions
        if !d.isDefault {
            var parts: [String] = []
            if d.temperature != 1 { parts.append(String(format: "temperature %.4g (logits divided before the probabilities)", d.temperature)) }
            if let t = d.threshold { parts.append(String(format: "threshold %.4g on p(%@)", t, checkpoint.classNames.last ?? "positive") + (d.thresholdRule.map { $0 == "fixed" ? ", from the config" : ", chosen for \($0) on the validation split" } ?? "")) }
            lines.append("decisions: " + parts.joined(separator: "; "))
        }
        let p = checkpoint.preprocessor
        var steps: [String] = []
        if p.fill != nil { steps.append("missing values filled with training means") }
        if p.spec.scaling != .none { steps.append(p.spec.scaling.rawValue) }
        if let components = p.components {
            steps.append("PCA to \(components) components" + (p.keptVarianceFraction.map { String(format: " (%.1f%% of the variance)", 100 * $0) } ?? "") + (p.spec.whiten ? ", whitened" : ""))
        }
        if p.targetShift != nil { steps.append("targets standardized") }
        if let table = checkpoint.table {
            lines.append("")
            lines.append(contentsOf: Inspection.columns(table))
        }
        let passed = p.passthroughColumns > 0 ? " (the \(p.passthroughColumns) one-hot and embedding inputs pass through)" : ""
        lines.append("preprocessing of \(p.transformedColumns) features\(passed): \(steps.isEmpty ? "none" : steps.joined(separator: "; "))")
        lines.append("")
        lines.append("config:")
        lines.append(checkpoint.config.rendered())
        return lines.joined(separator: "\n")
    }

    /// A table's columns: type, handling, levels, fill values, one line each.
    static func columns(_ table: TableEncoder) -> [String] {
        func number(_ x: Float) -> String { String(format: "%.6g", Double(x)) }
        var rows: [[String]] = [["column", "type", "inputs", "handling"]]
        for c in table.columns {
            switch c.kind {
            case .numeric:
                let scale = c.log ? "log1p, standardized" : (c.shift[0] == 0 && c.scale[0] == 1 ? "not scaled" : "(x - \(number(c.shift[0]))) × \(number(c.scale[0]))")
                rows.append([c.name, "numeric", "\(c.denseWidth)", "missing: \(c.missing) (fill \(number(c.fill[0])))\(c.indicator ? ", indicator" : ""); \(scale)"])
            case .category:
                let shown = c.levels.prefix(8).joined(separator: ", ") + (c.levels.count > 8 ? ", ..." : "")
                let encoding = c.embeddingDim.map { "embedding of width \($0)" } ?? "one-hot"
                rows.append([c.name, "category", c.isEmbedded ? "1 index" : "\(c.denseWidth)",
                             "\(encoding); \(c.levels.count) levels (\(shown)) + other\(c.pooledLevels.isEmpty ? "" : " (\(c.pooledLevels.count) rare pooled)") + missing; missing: \(c.missing)"])
            case .date:
                rows.append([c.name, "date", "\(c.denseWidth)", "year, month, weekday, day of year\(c.hasTime ? ", time of day" : ""); a missing date at the training means"])
            }
        }
        for name in table.ignored { rows.append([name, "ignore", "0", ""]) }
        let widths = (0..<3).map { k in rows.map { $0[k].count }.max()! }
        return ["columns of the table (\(table.width) inputs):"] + rows.map { row in
            (0..<3).map { row[$0].padding(toLength: widths[$0] + 2, withPad: " ", startingAt: 0) }.joined() + row[3]
        }
    }
}
