@testable import DLTrain
import Foundation
import TestSupport
import Testing

/// The run-directory rules: a finished run is never silently overwritten, one process owns a
/// directory, and a closed terminal (SIGHUP) saves the run like SIGTERM.
@Suite(.serialized) struct RunDirectoryTests {
    let cli = CLITests()

    /// A copy of the xor example in a fresh folder, so its default run directory (runs/xor,
    /// relative to the working directory) starts empty.
    func project(_ name: String = #function) throws -> URL {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-rundir-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("configs"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("data"), withIntermediateDirectories: true)
        let source = CLITests.packageRoot
        try FileManager.default.copyItem(at: source.appendingPathComponent("configs/xor.json"), to: root.appendingPathComponent("configs/xor.json"))
        try FileManager.default.copyItem(at: source.appendingPathComponent("data/xor.csv"), to: root.appendingPathComponent("data/xor.csv"))
        return root
    }

    /// Every file under `directory` with its bytes.
    func contents(_ directory: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: directory.path)!
        while let name = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let path = directory.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[name] = FileManager.default.contents(atPath: path)
            }
        }
        return files
    }

    @Test func secondFitTakesTheNextNameAndLeavesTheFirstRunByteIdentical() throws {
        let root = try project()
        let first = try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=20", "--quiet"], in: root)
        #expect(first.status == 0, "\(first.stderr)")
        let run = root.appendingPathComponent("runs/xor")
        let before = try contents(run)
        #expect(before["checkpoints/last.h5"] != nil && before["metrics.csv"] != nil)
        let second = try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=20", "--set", "seed=5", "--quiet"], in: root)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stderr.contains("this run goes to runs/xor-2"), "\(second.stderr)")
        #expect(try contents(run) == before)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("runs/xor-2/checkpoints/last.h5").path))
        let third = try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=5", "--quiet"], in: root)
        #expect(third.status == 0 && third.stderr.contains("runs/xor-3"), "\(third.stderr)")
    }

    @Test func explicitDirectoryHoldingARunIsRefusedUnlessOverwrite() throws {
        let root = try project()
        let out = root.appendingPathComponent("mine").path
        #expect(try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=10", "--out", out, "--quiet"], in: root).status == 0)
        let before = try contents(URL(fileURLWithPath: out))
        let refused = try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=10", "--out", out, "--quiet"], in: root)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("already holds a run") && refused.stderr.contains("--overwrite") && refused.stderr.contains(out), "\(refused.stderr)")
        #expect(try contents(URL(fileURLWithPath: out)) == before)
        // output.dir in the config is as explicit as --out.
        let config = root.appendingPathComponent("configs/pinned.json")
        var text = try String(contentsOf: root.appendingPathComponent("configs/xor.json"), encoding: .utf8)
        text = String(text[..<text.lastIndex(of: "}")!]).trimmingCharacters(in: .whitespacesAndNewlines) + ",\n  \"output\": {\"dir\": \"\(out)\"}\n}\n"
        try text.write(to: config, atomically: true, encoding: .utf8)
        let pinned = try cli.run(["fit", "configs/pinned.json", "--set", "training.epochs=10", "--quiet"], in: root)
        #expect(pinned.status == 2 && pinned.stderr.contains("output.dir"), "\(pinned.stderr)")
        // --overwrite replaces it: the old run's extra epochs are gone.
        let replaced = try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=3", "--out", out, "--overwrite", "--quiet"], in: root)
        #expect(replaced.status == 0, "\(replaced.stderr)")
        let rows = try String(contentsOfFile: "\(out)/metrics.csv", encoding: .utf8).split(separator: "\n").count
        #expect(rows == 4)
        // --resume continues the run in place.
        let resumed = try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=6", "--resume", "\(out)/checkpoints/last.h5", "--quiet"], in: root)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try String(contentsOfFile: "\(out)/metrics.csv", encoding: .utf8).split(separator: "\n").count == 7)
    }

    /// Two fits started together on one directory: exactly one trains; the other is refused
    /// with exit 2, naming the first's pid (or, if the first already finished, --overwrite).
    @Test func twoFitsOnOneDirectoryExactlyOneTrains() throws {
        let root = try project()
        let out = root.appendingPathComponent("shared").path
        let arguments = ["fit", "configs/xor.json", "--set", "training.epochs=300", "--out", out, "--quiet"]
        func start() throws -> (Process, URL) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: CLITests.binary)
            process.arguments = arguments
            process.currentDirectoryURL = root
            let log = root.appendingPathComponent("log-\(UUID().uuidString.prefix(6))")
            #expect(FileManager.default.createFile(atPath: log.path, contents: nil))
            process.standardError = try FileHandle(forWritingTo: log)
            try process.run()
            return (process, log)
        }
        let (a, logA) = try start(), (b, logB) = try start()
        a.waitUntilExit()
        b.waitUntilExit()
        let statuses = [a.terminationStatus, b.terminationStatus].sorted()
        let logs = [try String(contentsOf: logA, encoding: .utf8), try String(contentsOf: logB, encoding: .utf8)]
        #expect(statuses == [0, 2], "\(logs)")
        let refusal = a.terminationStatus == 2 ? logs[0] : logs[1]
        #expect(refusal.contains("in use by another dltrain process (pid \(a.terminationStatus == 2 ? b.processIdentifier : a.processIdentifier))")
                || refusal.contains("--overwrite"), "\(refusal)")
        // The directory holds one whole run: 300 epochs, one header.
        #expect(try String(contentsOfFile: "\(out)/metrics.csv", encoding: .utf8).split(separator: "\n").count == 301)
    }

    /// A closed terminal mid-epoch: the step finishes, last.h5 is written, exit 129 with the
    /// command that resumes; the resumed run ends bit-identical to one never interrupted.
    @Test func sighupMidEpochThenResumeIsBitIdentical() throws {
        let options = ["--set", "training.batch_size=8", "--set", "training.epochs=30", "--set", "training.threads=1", "--quiet"]
        let full = try temporaryDirectory(), cut = try temporaryDirectory()
        #expect(try cli.run(["fit", "configs/digits.json", "--out", full] + options).status == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["fit", "configs/digits.json", "--out", cut] + options
        process.currentDirectoryURL = CLITests.packageRoot
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        for _ in 0..<20_000 {
            if let text = try? String(contentsOfFile: "\(cut)/metrics.csv", encoding: .utf8), text.split(separator: "\n").count >= 4 { break }
            usleep(500)
        }
        kill(process.processIdentifier, SIGHUP)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 129, "\(stderr)")
        #expect(stderr.contains("SIGHUP") && stderr.contains("--resume \(cut)/checkpoints/last.h5"), "\(stderr)")
        let saved = try Checkpoint.read("\(cut)/checkpoints/last.h5").state
        #expect(saved.epoch >= 3 && saved.epoch < 30)
        let resumed = try cli.run(["fit", "configs/digits.json", "--resume", "\(cut)/checkpoints/last.h5"] + options)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Checkpoint.read("\(full)/checkpoints/last.h5"), b = try Checkpoint.read("\(cut)/checkpoints/last.h5")
        #expect(!a.parameters.isEmpty && a.parameters.keys.sorted() == b.parameters.keys.sorted())
        for (name, p) in a.parameters { #expect(p.values == b.parameters[name]!.values, "\(name) differs after the resume") }
        for (name, s) in a.optimizer { #expect(s == b.optimizer[name]!, "optimizer \(name) differs after the resume") }
    }
}
