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

    /// With `broken_backward=OP`: after each backward step of a unary OP node, adds
    /// 0.1·g·sign(x) to its input's gradient, so the derivative that gradcheck sees is wrong.
    static func breakDerivative<T: Scalar>(in executor: Executor<T>) {
        guard let broken = fromEnvironment().brokenBackward else { return }
        let graph = executor.graph
        executor.afterNodeBackward = { [unowned executor] node in
            guard case .unary(let op, let x) = graph[node].op, op.description == broken,
                  let dx = executor.gradientBuffer(x), let g = executor.gradientBuffer(node) else { return }
            let xs = executor.buffer(x)
            for i in 0..<dx.count { dx[i] += 0.1 * g[i] * (xs[i] > 0 ? 1 : -1) }
        }
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
