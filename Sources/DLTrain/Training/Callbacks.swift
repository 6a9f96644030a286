/// What one epoch produced: the trainer's ``Trainer/metricColumns`` by name
/// (`train_loss`, `val_loss`, `train_accuracy`, `val_accuracy`, `val_mse`, `val_mae`).
public struct EpochRecord: Sendable {
    public var epoch: Int
    public var metrics: [String: Double]
    public var learningRate: Double
    /// Wall time of this epoch.
    public var seconds: Double
    /// The moving average of the per-step training loss at the epoch's end.
    public var smoothedLoss: Double? = nil

    public var trainLoss: Double { metrics["train_loss"]! }
    public var trainAccuracy: Double? { metrics["train_accuracy"] }
}

/// What a callback reports back to the trainer. Callbacks never write the trainer's state;
/// they return events, and the trainer alone records them (so the order in which callbacks
/// run within one phase does not matter).
public enum TrainingEvent: Sendable {
    /// A checkpoint a run can resume from was written here.
    case checkpointWritten(String)
    /// With training.snapshots: the snapshot files, the ensemble's validation metrics and the
    /// final model's, computed the same way.
    case snapshotEnsemble(paths: [String], ensemble: [String: Double], single: [String: Double])
    /// Something the user should know; every callback's ``TrainingCallback/noticed(_:trainer:)`` hears it.
    case notice(String)
}

/// Hooks into the training loop. Every method has a no-op default, so a callback implements
/// only what it needs. Within a phase the callbacks see the same trainer: events returned in
/// a phase are recorded when the phase ends, and ``runFinished(_:)`` comes after every
/// callback's ``trainingEnded(_:trainer:)``, so reports there see every checkpoint written.
public protocol TrainingCallback: AnyObject {
    func trainingBegan(_ trainer: Trainer) throws
    /// After every optimizer step; must be cheap (it runs in the hot loop).
    func stepEnded(epoch: Int, step: Int, of steps: Int, smoothedLoss: Double, trainer: Trainer)
    func epochEnded(_ record: EpochRecord, trainer: Trainer) throws -> [TrainingEvent]
    /// A signal stopped training after a step; write what must survive.
    func trainingInterrupted(_ trainer: Trainer) throws -> [TrainingEvent]
    /// Something the user should know (early stop, rollback, restored weights).
    func noticed(_ message: String, trainer: Trainer) throws
    /// Training and the test split are done; write the final files.
    func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws -> [TrainingEvent]
    /// After every callback's `trainingEnded`: the summary of the whole run.
    func runFinished(_ trainer: Trainer) throws
}

extension TrainingCallback {
    public func trainingBegan(_ trainer: Trainer) throws {}
    public func stepEnded(epoch: Int, step: Int, of steps: Int, smoothedLoss: Double, trainer: Trainer) {}
    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws -> [TrainingEvent] { [] }
    public func trainingInterrupted(_ trainer: Trainer) throws -> [TrainingEvent] { [] }
    public func noticed(_ message: String, trainer: Trainer) throws {}
    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws -> [TrainingEvent] { [] }
    public func runFinished(_ trainer: Trainer) throws {}
}
