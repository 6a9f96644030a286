import Foundation

/// SIGINT, SIGTERM and SIGHUP (a closed terminal) during training: the first one asks the
/// loop to stop after the current step (it then writes checkpoints/last.h5 and exits 130, 143
/// or 129); a second one ends the process at once, as the default action would.
public enum InterruptSignal {
    /// The signal received (SIGINT, SIGTERM or SIGHUP), or 0. Written by the handler, read by the
    /// training loop after each step; a single aligned word, as signal handlers allow.
    nonisolated(unsafe) static var received: Int32 = 0

    public static func install() {
        // A parent may have started us with these signals blocked (a program spawning from
        // a thread that blocks them, as libdispatch's do); blocked, Ctrl-C would never arrive.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        sigaddset(&unblock, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for number in [SIGINT, SIGTERM, SIGHUP] {
            signal(number) { caught in
                InterruptSignal.received = caught
                signal(caught, SIG_DFL)  // a second one is not caught
            }
        }
    }

    static var pending: Int32 { received }
}

/// Training stopped by a signal after writing its checkpoint; the process exits 128 + signal.
public struct Interrupted: Error, CustomStringConvertible {
    public let signal: Int32
    public let checkpoint: String?
    public var exitCode: Int32 { 128 + signal }
    public var description: String {
        let name = switch signal {
        case SIGINT: "interrupted (SIGINT)"
        case SIGHUP: "hung up (SIGHUP: the terminal closed)"
        default: "terminated (SIGTERM)"
        }
        guard let checkpoint else { return "\(name); no checkpoint was written" }
        return "\(name): the current step finished and \(checkpoint) holds the run"
    }
}

/// A sweep's trial ends with its sweep: killed with `kill -9`, a sweep leaves its `dltrain fit`
/// children running, and a resumed sweep would start the same trials beside them. A trial
/// (started with DLTRAIN_PARENT_PID) checks once a second that its parent is still the sweep
/// and exits when it is not. (Linux's PR_SET_PDEATHSIG would do it, but `prctl` is variadic
/// and out of Swift's reach.)
public enum ParentWatch {
    public static func start() {
        guard let expected = ProcessInfo.processInfo.environment["DLTRAIN_PARENT_PID"].flatMap(Int32.init) else { return }
        if getppid() != expected { exit(1) }
        let thread = Thread {
            while true {
                sleep(1)
                if getppid() != expected { _exit(137) }
            }
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
