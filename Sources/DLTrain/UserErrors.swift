import DLCore
import DLData

/// How a failure ends the process: 2 for bad usage, config or data (the user can fix the
/// input), 1 for a run that failed after it started.
public func exitStatus(for error: Error) -> Int32? {
    switch error {
    case is ConfigError, is DataError, is ShapeError: return 2
    case is RunFailure: return 1
    default: return nil
    }
}
