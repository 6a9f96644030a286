import DLData
import Foundation

/// Creates (or empties) `path` and opens it for writing. A file that cannot be created is a
/// usage error (exit 2) naming it, `what` it was for, the system's reason and what to do.
func createFileForWriting(_ path: String, what: String) throws -> FileHandle {
    guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
        throw DataError(file: path, "cannot create the \(what) (\(String(cString: strerror(errno)))); check that its directory exists and is writable, or choose another path")
    }
    return handle
}
