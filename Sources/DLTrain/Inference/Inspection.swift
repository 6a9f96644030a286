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
        let p = checkpoint.preprocessor
        var steps: [String] = []
        if p.fill != nil { steps.append("missing values filled with training means") }
        if p.spec.scaling != .none { steps.append(p.spec.scaling.rawValue) }
        if p.projection != nil {
            steps.append("PCA to \(p.outputColumns) components" + (p.keptVarianceFraction.map { String(format: " (%.1f%% of the variance)", 100 * $0) } ?? "") + (p.spec.whiten ? ", whitened" : ""))
        }
        if p.targetShift != nil { steps.append("targets standardized") }
        lines.append("preprocessing of \(p.inputColumns) features: \(steps.isEmpty ? "none" : steps.joined(separator: "; "))")
        lines.append("")
        lines.append("config:")
        lines.append(checkpoint.config.rendered())
        return lines.joined(separator: "\n")
    }
}
