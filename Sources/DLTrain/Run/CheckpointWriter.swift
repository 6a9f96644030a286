import Foundation

/// Writes `checkpoints/last.h5` every `training.checkpoint.every` epochs (and at the end,
/// and when a signal stops training), `checkpoints/best.h5` when the checkpoint monitor
/// improves, and with `training.snapshots` a `checkpoints/snapshot-EPOCH.h5` at the end of
/// each cosine_restarts cycle. Every write is atomic.
public final class CheckpointWriter: TrainingCallback {
    public let directory: String
    public private(set) var snapshots: [String] = []

    public init(runDirectory: String) throws {
        directory = "\(runDirectory)/checkpoints"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RunFailure("cannot create \(directory): \(error.localizedDescription); choose another run directory with --out")
        }
    }

    public var last: String { "\(directory)/last.h5" }
    public var best: String { "\(directory)/best.h5" }

    private func save(_ path: String, _ trainer: Trainer) throws {
        do {
            try Checkpoint.write(path, trainer.checkpointContents)
        } catch {
            throw RunFailure("cannot write the checkpoint \(path): \(error); the previous checkpoint is intact. Free some disk space and resume from it")
        }
    }

    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws -> [TrainingEvent] {
        var events: [TrainingEvent] = []
        if record.epoch % trainer.config.checkpointEvery == 0 || trainer.state.stoppedEarly || record.epoch == trainer.config.epochs {
            try save(last, trainer)
            events.append(.checkpointWritten(last))
        }
        if trainer.improvedLastEpoch { try save(best, trainer) }
        if trainer.config.snapshots && trainer.config.schedule.endsCycle(epoch: record.epoch - 1) {
            let path = "\(directory)/snapshot-\(record.epoch).h5"
            try save(path, trainer)
            snapshots.append(path)
        }
        return events
    }

    public func trainingInterrupted(_ trainer: Trainer) throws -> [TrainingEvent] {
        try save(last, trainer)
        return [.checkpointWritten(last)]
    }

    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws -> [TrainingEvent] {
        try save(last, trainer)
        var events: [TrainingEvent] = [.checkpointWritten(last)]
        // The temperature and threshold were fitted on the final weights: best.h5 takes them
        // when it holds those weights (restored by early stopping on best.h5's own monitor).
        let state = trainer.state
        if !trainer.decisions.isDefault && state.checkpointBestEpoch > 0 {
            if trainer.config.earlyStopping?.restoreBest == true && state.bestEpoch == state.checkpointBestEpoch {
                try save(best, trainer)
            } else {
                events.append(.notice("best.h5 (epoch \(state.checkpointBestEpoch)) keeps no temperature or threshold: they were fitted on the final weights, in last.h5; to have them in best.h5, let early stopping restore the best weights by the checkpoint's monitor"))
            }
        }
        // A snapshot ensemble (Huang et al. 2017): the models at the end of each cycle, their
        // predictions averaged, scored on the validation rows beside the final model alone.
        if snapshots.count >= 2, let validation = trainer.data.validation {
            let ensemble = try Predictor(paths: snapshots)
            let single = try Predictor(paths: [last])
            events.append(.snapshotEnsemble(paths: snapshots, ensemble: try Evaluation.metrics(ensemble, rows: validation),
                                            single: try Evaluation.metrics(single, rows: validation)))
        }
        return events
    }
}
