import DLCore
import DLData
import DLNN
import Foundation

/// `diagnostics.csv`: per layer and epoch, measured on the epoch's last step,
///
///     update_ratio   ‖Δw‖ / ‖w‖ of the layer's kernel (the lecture: about 1e-3 is healthy)
///     grad_norm      ‖∂L/∂w‖, weight_norm ‖w‖
///     dead_units     the fraction of the layer's units that were zero for every row of the batch
///
/// and, every `training.sharpness_every` epochs, a row for the whole model with the Hessian's
/// top eigenvalue on the last batch beside 2/lr. A layer whose ratio stays outside
/// [1e-5, 1e-1] for three epochs in a row gets a warning on the console.
public final class DiagnosticsWriter: TrainingCallback {
    public let path: String
    private var handle: FileHandle?
    /// The kernels' values before the epoch's last step, per layer (all kernels of the layer, flat).
    private var before: [[Float]] = []
    private var kernels: [[ParameterSpec]] = []
    private var offEpochs: [Int] = []

    public init(runDirectory: String) { path = "\(runDirectory)/diagnostics.csv" }

    public func trainingBegan(_ trainer: Trainer) throws {
        let graph = trainer.model.graph
        kernels = trainer.model.spec.layers.map { layer in
            layer.kernelNamesForDiagnostics.compactMap { name in graph.parameterIndex(named: name).map { graph.parameters[$0] } }
        }
        offEpochs = Array(repeating: 0, count: kernels.count)
        // Earlier epochs' rows survive a resume: keep the file if the run already has one.
        if trainer.history.isEmpty || !FileManager.default.fileExists(atPath: path) {
            try "epoch,layer,update_ratio,grad_norm,weight_norm,dead_units,sharpness,stability_bound\n".write(toFile: path, atomically: true, encoding: .utf8)
        }
        handle = FileHandle(forWritingAtPath: path)
        handle?.seekToEndOfFile()
        snapshot(trainer)
    }

    /// Copies the kernels into `before`, allocated once (this runs in the step callback).
    private func snapshot(_ trainer: Trainer) {
        if before.count != kernels.count {
            before = kernels.map { specs in [Float](repeating: 0, count: specs.reduce(0) { $0 + $1.count }) }
        }
        for (k, specs) in kernels.enumerated() {
            var offset = 0
            before[k].withUnsafeMutableBufferPointer { copy in
                for spec in specs {
                    let window = trainer.parameters.values(of: spec)
                    (copy.baseAddress! + offset).update(from: window.baseAddress!, count: spec.count)
                    offset += spec.count
                }
            }
        }
    }

    public func stepEnded(epoch: Int, step: Int, of steps: Int, smoothedLoss: Double, trainer: Trainer) {
        // Keep the kernels as they are before the last step of the epoch.
        if step == steps - 1 { snapshot(trainer) }
    }

    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws -> [TrainingEvent] {
        var rows = "", events: [TrainingEvent] = []
        for (k, specs) in kernels.enumerated() where !specs.isEmpty {
            var update = 0.0, weight = 0.0, gradient = 0.0, offset = 0
            for spec in specs {
                let w = trainer.parameters.values(of: spec), g = trainer.parameters.gradients(of: spec)
                for i in 0..<spec.count {
                    let d = Double(w[i]) - Double(before[k][offset + i])
                    update += d * d
                    weight += Double(w[i]) * Double(w[i])
                    gradient += Double(g[i]) * Double(g[i])
                }
                offset += spec.count
            }
            let ratio = weight > 0 ? update.squareRoot() / weight.squareRoot() : 0
            let (values, batch, width) = trainer.lastActivations(ofLayer: k)
            var dead = 0
            for j in 0..<width {
                var alive = false
                for r in 0..<batch where values[r * width + j] != 0 { alive = true; break }
                if !alive { dead += 1 }
            }
            let name = trainer.model.spec.layers[k].name
            rows += "\(record.epoch),\(name),\(format(ratio)),\(format(gradient.squareRoot())),\(format(weight.squareRoot())),\(format(Double(dead) / Double(Swift.max(width, 1)))),,\n"
            offEpochs[k] = ratio < 1e-5 || ratio > 1e-1 ? offEpochs[k] + 1 : 0
            if offEpochs[k] == 3 && trainer.state.history.count > 0 {
                let advice = ratio < 1e-5 ? "updates are tiny against the weights: the learning rate may be too low" : "updates are large against the weights: the learning rate may be too high"
                events.append(.notice("layer \(name): update/weight ratio \(String(format: "%.2g", ratio)) for 3 epochs (about 1e-3 is healthy); \(advice)"))
            }
        }
        if let every = trainer.config.sharpnessEvery, record.epoch % every == 0 {
            let lambda = try trainer.sharpnessOnLastBatch()
            rows += "\(record.epoch),(model),,,,,\(format(lambda)),\(format(2 / record.learningRate))\n"
        }
        try handle?.write(contentsOf: Data(rows.utf8))
        snapshot(trainer)
        return events
    }

    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws -> [TrainingEvent] {
        try handle?.close()
        handle = nil
        return []
    }

    private func format(_ x: Double) -> String { String(format: "%.6g", x) }
}

extension LayerSpec {
    var kernelNamesForDiagnostics: [String] { rank == nil ? ["\(name)/kernel"] : ["\(name)/kernel_a", "\(name)/kernel_b"] }
}
