import DLCore
import DLData
import Foundation

/// A run that failed after it started (diverged, could not write): exit code 1.
public struct RunFailure: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// How a failure ends the process: 2 for bad usage, config or data (the user can fix the
/// input), 1 for a run that failed after it started.
public func exitStatus(for error: Error) -> Int32? {
    switch error {
    case is ConfigError, is DataError, is ShapeError: return 2
    case is RunFailure: return 1
    default: return nil
    }
}

/// Writes a line to standard error: progress and logs never mix with `--json` on stdout.
public func printError(_ line: String) {
    writeStandardError(line + "\n")
}

/// Writes to standard error, ignoring failure: after SIGHUP the terminal is gone (writes fail
/// with EIO), and a run saving its checkpoint must not die of a message nobody can read.
public func writeStandardError(_ text: String) {
    try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
}
