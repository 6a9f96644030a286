/// What one epoch produced: the trainer's ``Trainer/metricColumns`` by name
/// (`train_loss`, `val_loss`, `train_accuracy`, `val_accuracy`, `val_mse`, `val_mae`).
public struct EpochRecord: Sendable {
    public var epoch: Int
    public var metrics: [String: Double]
    public var learningRate: Double
    /// Wall time of this epoch.
    public var seconds: Double

    public var trainLoss: Double { metrics["train_loss"]! }
    public var trainAccuracy: Double? { metrics["train_accuracy"] }
}

/// Hooks into the training loop. Every method has a no-op default, so a callback
/// implements only what it needs; the trainer calls them in the order they were given.
public protocol TrainingCallback: AnyObject {
    func trainingBegan(_ trainer: Trainer) throws
    func epochEnded(_ record: EpochRecord, trainer: Trainer) throws
    func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws
}

extension TrainingCallback {
    public func trainingBegan(_ trainer: Trainer) throws {}
    public func epochEnded(_ record: EpochRecord, trainer: Trainer) throws {}
    public func trainingEnded(_ history: [EpochRecord], trainer: Trainer) throws {}
}
