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

/// Hooks into the training loop. Every method has a no-op default, so a callback
/// implements only what it needs; the trainer calls them in the order they were given.
public protocol TrainingCallback: AnyObject {
    func trainingBegan(_ trainer: Trainer) throws
    /// After every optimizer step; must be cheap (it runs in the hot loop).
    func stepEnded(epoch: Int, step: Int, of steps: Int, smoothedLoss: Double, trainer: Trainer)
    func epochEnded(_ record: EpochRecord, trainer: Trainer) throws
    /// A signal stopped training after a step; write what must survive.
    func trainingInterrupted(_ trainer: Trainer) throws
    /// Something the user should know (early stop, rollback, restored weights).
    func noticed(_ message: String, trainer: Trainer) throws
    func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws
}

extension TrainingCallback {
    public func trainingBegan(_ trainer: Trainer) throws {}
    public func stepEnded(epoch: Int, step: Int, of steps: Int, smoothedLoss: Double, trainer: Trainer) {}
    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws {}
    public func trainingInterrupted(_ trainer: Trainer) throws {}
    public func noticed(_ message: String, trainer: Trainer) throws {}
    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws {}
}
