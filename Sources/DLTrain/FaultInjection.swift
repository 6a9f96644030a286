import DLCore
import Foundation

/// Test hooks for fault handling, read from the environment variable `DLTRAIN_FAULT`
/// (comma-separated `key=value`); unset in normal use.
///
/// - `nan_at_step=N`: the loss of global step N (counted from 1 in this process) reads as NaN,
///   so `training.on_nonfinite` can be exercised deterministically.
/// - `checkpoint_pause_ms=N`: every checkpoint write pauses N ms after writing the parameters
///   and before the metadata, so a test can kill the process in the middle of a write.
/// - `broken_backward=OP`: the derivative of the unary op OP (e.g. `tanh`) is wrong, so a
///   test can see `dltrain gradcheck` catch it.
public struct FaultInjection {
    var nanAtStep: Int?
    var checkpointPauseMilliseconds: Int?
    var brokenBackward: String?

    /// Applies the faults that live in the core (called once at start).
    public static func install() {
        if let op = fromEnvironment().brokenBackward { FaultyDerivative.op = op }
    }

    static func fromEnvironment() -> FaultInjection {
        var faults = FaultInjection()
        guard let text = ProcessInfo.processInfo.environment["DLTRAIN_FAULT"] else { return faults }
        for pair in text.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 && parts[0] == "broken_backward" { faults.brokenBackward = parts[1]; continue }
            guard parts.count == 2, let value = Int(parts[1]) else { continue }
            switch parts[0] {
            case "nan_at_step": faults.nanAtStep = value
            case "checkpoint_pause_ms": faults.checkpointPauseMilliseconds = value
            default: continue
            }
        }
        return faults
    }
}
