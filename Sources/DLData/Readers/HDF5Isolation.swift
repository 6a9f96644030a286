import Foundation

/// Reading untrusted HDF5 in a child process first.
///
/// libhdf5 1.10 has memory-safety bugs on damaged or crafted files: fuzzing dltrain found a
/// stack smash in its type conversion and out-of-bounds reads and writes in its raw-data and
/// name paths, none of which dltrain's own checks can rule out. So before dltrain reads an
/// HDF5 file (a data file, a checkpoint), a child process (this executable again, started
/// with ``variable``) opens it and reads what dltrain will read: every dataset's shape and
/// type, and its values (all of them for files up to 1 GiB, the first 1,024 rows beyond).
/// If libhdf5 crashes there, the child dies and the file is refused with a clear error;
/// otherwise dltrain reads it itself. Each file is vetted once per process (by path, size and
/// modification time); the child costs about 20 ms plus the reading.
public enum HDF5Isolation {
    /// The executable that vets files (set at start by dltrain); nil reads in-process (library
    /// use, the test suites' in-process tests, the fuzzers, which want to see every crash).
    nonisolated(unsafe) public static var executable: String?
    public static let variable = "DLTRAIN_HDF5_TRIAL"
    static let fullReadLimit = 1 << 30
    nonisolated(unsafe) private static var vetted: Set<String> = []
    private static let lock = NSLock()

    /// In a vetting child: reads the file named by ``variable`` and exits (0 read, 2 not
    /// openable; a libhdf5 crash ends it by its signal). Returns in any other process.
    public static func runTrialIfAsked() {
        guard let path = ProcessInfo.processInfo.environment[variable] else { return }
        guard let file = try? HDF5File.openInProcess(path) else { exit(2) }
        let whole = ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? Int.max) <= fullReadLimit
        // Every dataset, each on its own: one that dltrain's checks refuse must not stop the
        // reading of the next, which the parent may read.
        for name in file.datasetNames {
            do {
                let shape = try file.shape(of: name)
                if try file.holdsBytes(name) {
                    _ = try file.readText(name)
                } else if try file.isNumeric(name) {
                    if whole || shape.count <= 1 {
                        _ = try file.read(name, as: Float.self)
                        // Checkpoint histories are read as double: small columns, so both.
                        if shape.count == 1 && shape[0] <= 1 << 20 { _ = try file.read(name, as: Double.self) }
                    } else {
                        let rows = Swift.min(shape[0], 1024)
                        var buffer = [Float](repeating: 0, count: try file.checkedCount(name, [rows] + shape.dropFirst(), bytesPerElement: 4))
                        try buffer.withUnsafeMutableBufferPointer { try file.readRows(name, start: 0, count: rows, into: $0.baseAddress!) }
                    }
                }
            } catch {
                continue
            }
        }
        exit(0)
    }

    /// Vets `path` in a child unless done before; throws when libhdf5 crashed reading it.
    static func vet(_ path: String) throws {
        guard let executable else { return }
        let key = key(of: path)
        lock.lock()
        let known = vetted.contains(key)
        lock.unlock()
        if known { return }
        if let signal = try crashSignal(running: executable, with: variable, set: path) {
            throw DataError(file: path, "reading it crashed libhdf5 (signal \(signal), in a separate process that dltrain started to vet the file); the file is damaged or crafted")
        }
        vouch(for: key)
    }

    /// Records `path` as read safely by a child, so opening it does not start another.
    /// (A checkpoint's trial reads it exactly as dltrain will, which is more than vetting does.)
    public static func vouch(forFile path: String) { vouch(for: key(of: path)) }

    private static func vouch(for key: String) {
        lock.lock()
        vetted.insert(key)
        lock.unlock()
    }

    /// A file's identity for vetting: path, size and modification time, so a rewritten file is vetted again.
    private static func key(of path: String) -> String {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return "\(path)@\((attributes?[.size] as? Int) ?? -1)@\((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
    }

    /// Runs `executable` (no arguments, output discarded) with `variable` set to `value`, and
    /// returns the signal that ended it, or nil when it exited.
    public static func crashSignal(running executable: String, with variable: String, set value: String) throws -> Int32? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = []
        process.environment = ProcessInfo.processInfo.environment.merging([variable: value]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
    }
}
