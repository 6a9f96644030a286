/// Helpers shared by the test targets.
import Foundation

/// A fresh directory under the system temporary directory for one test.
public func temporaryDirectory(_ name: String = #function) throws -> String {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let path = NSTemporaryDirectory() + "dltrain-tests/\(safe)-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Writes `text` to `name` inside `directory` and returns the full path.
@discardableResult
public func writeFile(_ directory: String, _ name: String, _ text: String) throws -> String {
    let path = "\(directory)/\(name)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// The description of the error `body` throws, or "no error".
public func errorText(_ body: () throws -> Any) -> String {
    do {
        _ = try body()
        return "no error"
    } catch {
        return "\(error)"
    }
}

/// What a program run by ``runProgram(_:_:in:environment:removing:input:)`` did.
public struct ProgramResult {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` (give "/usr/bin/env" to find a program on PATH) to completion and
/// collects its exit status and output. `environment` adds to (or overrides) this process's
/// variables, `removing` drops some, `input` goes to its standard input. Output goes through
/// files, not pipes, so a chatty program cannot block on a full pipe nobody reads.
public func runProgram(_ executable: String, _ arguments: [String], in directory: URL? = nil, environment: [String: String] = [:],
                       removing: [String] = [], input: String? = nil) throws -> ProgramResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    var variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    for name in removing { variables.removeValue(forKey: name) }
    process.environment = variables
    let base = NSTemporaryDirectory() + "dltrain-program-\(UUID().uuidString.prefix(8))"
    for path in [base + ".out", base + ".err"] where !FileManager.default.createFile(atPath: path, contents: nil) {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
    defer {
        try? FileManager.default.removeItem(atPath: base + ".out")
        try? FileManager.default.removeItem(atPath: base + ".err")
    }
    process.standardOutput = FileHandle(forWritingAtPath: base + ".out")
    process.standardError = FileHandle(forWritingAtPath: base + ".err")
    let stdin = input.map { _ in Pipe() }
    if let stdin { process.standardInput = stdin }
    try process.run()
    if let stdin, let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    process.waitUntilExit()
    let read = { (path: String) in String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self) }
    return ProgramResult(status: process.terminationStatus, stdout: read(base + ".out"), stderr: read(base + ".err"))
}
