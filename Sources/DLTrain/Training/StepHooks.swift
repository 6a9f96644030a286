import DLCore
import Foundation

/// Everything the training loop reports or alters around a step that is not the step itself:
/// the time to the first step and where epoch 2's steps spend their wall-clock time
/// (`DLTRAIN_TIMING`), the heap allocations of the steady-state steps of epoch 2
/// (`DLTRAIN_COUNT_ALLOCATIONS`, with scripts/malloc-count.so preloaded), and an injected
/// non-finite loss (`DLTRAIN_FAULT=nan_at_step=N`). All are off in normal use; each costs the
/// step a comparison.
struct StepHooks {
    private let reportsFirstStep = ProcessInfo.processInfo.environment["DLTRAIN_TIMING"] != nil
    /// The parts of a step, in the order the loop runs them.
    enum Phase: Int, CaseIterable {
        case data, forward, backward, gradientCheck, update
        var label: String { ["data", "forward", "backward", "accuracy, norm and clip", "update"][rawValue] }
    }
    private var phaseSeconds = [Double](repeating: 0, count: Phase.allCases.count)
    private var phaseStart = 0.0
    private var timedSteps = 0
    private var timingPhases = false
    private let nanAtStep = FaultInjection.fromEnvironment().nanAtStep
    private let allocationCounter: (@convention(c) () -> Int)? = {
        guard ProcessInfo.processInfo.environment["DLTRAIN_COUNT_ALLOCATIONS"] != nil,
              let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dltrain_malloc_count") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)
    }()
    private var allocationsAtStart = 0
    /// Steps taken by this process (counted from 1), the clock of `nan_at_step`.
    private var globalStep = 0

    /// Before step `b` (0-based) of `batches` in `epoch`.
    mutating func stepBegins(epoch: Int, step b: Int, of batches: Int, dataSeconds: Double) {
        if reportsFirstStep && b == 0 && epoch == 1, let age = StepHooks.processAge() {
            printError(String(format: "first step began %.3f s after the process started (reading and preparing the data took %.3f s)", age, dataSeconds))
        }
        if reportsFirstStep && epoch == 2 {
            if b == 0 {
                timingPhases = true
                ProductTiming.start()
            }
            if timingPhases { timedSteps += 1 }
            phaseStart = monotonicSeconds()
        }
        if let counter = allocationCounter, epoch == 2, batches > 30 {
            if b == 10 { allocationsAtStart = counter() }
            if b == batches - 10 {
                // Read before the message is built: the message's own string is an allocation.
                let allocations = counter() - allocationsAtStart
                printError("allocations in \(batches - 20) steady-state steps of epoch 2: \(allocations)")
            }
        }
    }

    /// `phase` of the current step has ended (a clock read while epoch 2 is timed, else nothing).
    @inline(__always)
    mutating func ended(_ phase: Phase) {
        guard timingPhases else { return }
        let now = monotonicSeconds()
        phaseSeconds[phase.rawValue] += now - phaseStart
        phaseStart = now
    }

    /// After the last step of `epoch`: the timed epoch's mean milliseconds per step in each phase.
    mutating func epochEnded(_ epoch: Int) {
        guard timingPhases, epoch == 2, timedSteps > 0 else { return }
        timingPhases = false
        ProductTiming.stop()
        let parts = Phase.allCases.map { String(format: "%@ %.3f", $0.label, 1000 * phaseSeconds[$0.rawValue] / Double(timedSteps)) }
        printError("milliseconds per step in epoch 2 (\(timedSteps) steps): " + parts.joined(separator: ", "))
        printError(String(format: "matrix products in epoch 2: %.3f ms per step, %.1f GFLOP/s", 1000 * ProductTiming.seconds / Double(timedSteps),
                          ProductTiming.flops / ProductTiming.seconds / 1e9))
    }

    /// The step's loss as training sees it: NaN at the injected step.
    mutating func observedLoss(_ loss: Float) -> Float {
        globalStep += 1
        return nanAtStep == globalStep ? .nan : loss
    }

    /// Seconds since this process started (its re-exec included), from /proc.
    static func processAge() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let start = Double(fields[19]), let now = Double(uptime.split(separator: " ")[0]) else { return nil }
        return now - start / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
