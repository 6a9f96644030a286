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

/// Writes `text` to `path` whole or not at all: into `.NAME.PID.tmp` beside it, then renamed
/// over it, so a reader (or a crash) never sees half a file. A failure is a ``RunFailure``
/// naming the file and the system's reason.
func writeTextAtomically(_ text: String, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
    do {
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
    } catch {
        throw RunFailure("cannot write \(path): \(error.localizedDescription) (does its directory exist, is the disk full?)")
    }
    guard rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(atPath: temporary)
        throw RunFailure("cannot rename \(temporary) to \(path): \(reason)")
    }
}
