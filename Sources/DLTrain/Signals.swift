import Foundation

/// SIGINT and SIGTERM during training: the first one asks the loop to stop after the current
/// step (it then writes checkpoints/last.h5 and exits 130 or 143); a second one ends the
/// process at once, as the default action would.
public enum InterruptSignal {
    /// The signal received (SIGINT or SIGTERM), or 0. Written by the handler, read by the
    /// training loop after each step; a single aligned word, as signal handlers allow.
    nonisolated(unsafe) static var received: Int32 = 0

    public static func install() {
        // A parent may have started us with these signals blocked (a program spawning from
        // a thread that blocks them, as libdispatch's do); blocked, Ctrl-C would never arrive.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for number in [SIGINT, SIGTERM] {
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
        let name = signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)"
        guard let checkpoint else { return "\(name); no checkpoint was written" }
        return "\(name): the current step finished and \(checkpoint) holds the run"
    }
}
