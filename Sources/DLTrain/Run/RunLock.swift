import DLData
import Foundation

/// One process at a time owns a run directory: an advisory lock (`flock`) on `DIR/.lock`,
/// held for the life of the process and released by the kernel when the process ends however
/// it ends, so `kill -9` never leaves a stale lock. The file holds the owner's pid for the
/// message a second process gets.
public final class RunLock {
    public let directory: String
    private let descriptor: Int32

    private init(directory: String, descriptor: Int32) {
        self.directory = directory
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The pid of the live process that owns `directory`, if one does; creates and changes nothing.
    public static func owner(of directory: String) -> Int32?? {
        let fd = open("\(directory)/.lock", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return nil
        }
        return .some(awaitOwner(fd))
    }

    /// Locks `directory` (creating it), or returns nil with the owner's pid when another
    /// process holds it. A directory that cannot be created or locked is a clear error. The
    /// owner's pid is written only by ``recordOwner()``, once the caller keeps the directory.
    public static func acquire(_ directory: String) throws -> (lock: RunLock?, owner: Int32?) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw DataError(file: directory, "cannot create the run directory: \(error.localizedDescription); choose another with --out")
        }
        let path = "\(directory)/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw DataError(file: path, "cannot open the run directory's lock file (\(String(cString: strerror(errno)))); check that the directory is writable, or choose another with --out")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            let owner = reason == EWOULDBLOCK ? awaitOwner(fd) : nil
            close(fd)
            guard reason == EWOULDBLOCK else {
                throw DataError(file: path, "cannot lock the run directory (\(String(cString: strerror(reason)))); a file system without locks? choose another directory with --out")
            }
            return (nil, owner)
        }
        return (RunLock(directory: directory, descriptor: fd), nil)
    }

    /// Writes this process's pid into the lock file, for the message a second process gets.
    public func recordOwner() {
        let pid = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = pwrite(descriptor, pid, pid.utf8.count, 0)
    }

    /// The owner's pid, waiting up to about 100 ms for it: a process that has just taken the
    /// lock writes its pid a moment later (after checking the directory), and a second fit
    /// started at the same instant reads the file in between.
    private static func awaitOwner(_ fd: Int32) -> Int32? {
        for _ in 0..<50 {
            if let pid = readOwner(fd) { return pid }
            usleep(2_000)
        }
        return nil
    }

    private static func readOwner(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = pread(fd, &buffer, buffer.count, 0)
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
