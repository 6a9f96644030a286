/// A learning-rate schedule: a pure function of the epoch (and step within it), so
/// resuming at any point reproduces the same rates.
public protocol Schedule: Sendable {
    func learningRate(epoch: Int, base: Double) -> Double
}

/// `lr = base` for every epoch.
public struct ConstantSchedule: Schedule {
    public init() {}
    public func learningRate(epoch: Int, base: Double) -> Double { base }
}
