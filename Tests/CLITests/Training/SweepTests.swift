@testable import DLTrain
import Foundation
import Testing

/// `dltrain sweep` end to end on iris.
@Suite(.serialized) struct SweepTests {
    let cli = CLITests()

    func sweepFile(_ body: String, name: String = #function) throws -> (file: URL, out: URL) {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-sweep-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let out = dir.appendingPathComponent("out")
        let text = body.replacingOccurrences(of: "BASE", with: CLITests.packageRoot.appendingPathComponent("configs/iris.json").path)
            .replacingOccurrences(of: "OUT", with: out.path)
        try text.write(to: dir.appendingPathComponent("s.json"), atomically: true, encoding: .utf8)
        return (dir.appendingPathComponent("s.json"), out)
    }

    func events(_ out: URL) throws -> [[String: Any]] {
        try String(contentsOf: out.appendingPathComponent("journal.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    func leaderboard(_ out: URL) throws -> [[String]] {
        try String(contentsOf: out.appendingPathComponent("leaderboard.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func gridOfTwoByThreeRunsSixTrials() throws {
        let (file, out) = try sweepFile("""
            {"base": "BASE", "method": "grid", "metric": {"name": "val_accuracy", "goal": "max"}, "out": "OUT", "parallel": 2,
             "parameters": {"model.layers.0.units": {"values": [4, 16]}, "optimizer.lr": {"values": [0.001, 0.01, 0.1]}}}
            """)
        let r = try cli.run(["sweep", file.path])
        #expect(r.status == 0, "\(r.stderr)")
        let finished = try events(out).filter { $0["event"] as? String == "finish" }
        #expect(finished.count == 6 && Set(finished.map { $0["trial"] as! Int }) == Set(1...6))
        let rows = try leaderboard(out)
        #expect(rows[0] == ["trial", "model.layers.0.units", "optimizer.lr", "val_accuracy", "best_epoch", "epochs", "seconds", "status"])
        #expect(rows.count == 7)
        let metrics = rows.dropFirst().map { Double($0[3])! }
        #expect(metrics == metrics.sorted(by: >))
        // best.json is a complete config: fit on it reproduces the best trial (a trial is reproducible alone).
        let best = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("best.json"))) as! [String: Any]
        #expect(best["seed"] as? Int != nil)
        let trial = rows[1][0]
        let again = out.appendingPathComponent("again")
        let refit = try cli.run(["fit", out.appendingPathComponent("trial-\(trial)/trial.json").path, "--quiet", "--out", again.path])
        #expect(refit.status == 0)
        let original = try String(contentsOf: out.appendingPathComponent("trial-\(trial)/metrics.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").prefix(5) }
        let repeated = try String(contentsOf: again.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").prefix(5) }
        #expect(original == repeated)
        let svg = try String(contentsOf: out.appendingPathComponent("sweep.svg"), encoding: .utf8)
        #expect(svg.contains("val_accuracy against optimizer.lr") && svg.contains("<circle"))
    }

    /// Successive halving with 9 trials and eta 3: 9 train 1 epoch, 3 go on to 3 epochs, 1 to 9;
    /// the promoted ones resume from their checkpoints.
    @Test func halvingStopsTheRightFraction() throws {
        let (file, out) = try sweepFile("""
            {"base": "BASE", "method": "halving", "trials": 9, "eta": 3, "min_epochs": 1, "max_epochs": 9, "seed": 4, "out": "OUT", "parallel": 2,
             "metric": {"name": "val_loss", "goal": "min"}, "parameters": {"optimizer.lr": {"distribution": "log_uniform", "min": 0.001, "max": 0.3}}}
            """)
        let r = try cli.run(["sweep", file.path])
        #expect(r.status == 0, "\(r.stderr)")
        let finished = try events(out).filter { $0["event"] as? String == "finish" }
        let byEpochs = Dictionary(grouping: finished, by: { $0["epochs"] as! Int }).mapValues(\.count)
        #expect(byEpochs == [1: 9, 3: 3, 9: 1])
        let statuses = try leaderboard(out).dropFirst().map { $0.last! }
        #expect(statuses.filter { $0 == "stopped at rung 0" }.count == 6)
        #expect(statuses.filter { $0 == "stopped at rung 1" }.count == 2)
        #expect(statuses.filter { $0 == "finished" }.count == 1)
        // Promoted trials continue from their checkpoints: the 3-epoch rung from epoch 1, the last from epoch 3.
        let starts = try events(out).filter { $0["event"] as? String == "start" }
        #expect(starts.filter { $0["epochs"] as? Int == 3 }.allSatisfy { $0["resumed_from_epoch"] as? Int == 1 })
        #expect(starts.filter { $0["epochs"] as? Int == 9 }.map { $0["resumed_from_epoch"] as? Int } == [3])
    }

    /// Killed half-way (SIGKILL) and resumed: every trial finishes exactly once.
    @Test func killedAndResumedRunsEachTrialOnce() throws {
        let (file, out) = try sweepFile("""
            {"base": "BASE", "method": "random", "trials": 6, "seed": 3, "out": "OUT", "parallel": 1,
             "metric": {"name": "val_accuracy", "goal": "max"}, "parameters": {"optimizer.lr": {"distribution": "log_uniform", "min": 0.001, "max": 0.1}}}
            """)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["sweep", file.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<40_000 {
            if let events = try? events(out), events.filter({ $0["event"] as? String == "finish" }).count >= 2 { break }
            usleep(1000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let before = try events(out).filter { $0["event"] as? String == "finish" }.count
        #expect(before >= 2 && before < 6)
        let again = try cli.run(["sweep", file.path])
        #expect(again.status == 2 && again.stderr.contains("--resume"), "a second run without --resume must not mix into the sweep")
        let resumed = try cli.run(["sweep", file.path, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let finished = try events(out).filter { $0["event"] as? String == "finish" }.map { $0["trial"] as! Int }
        #expect(finished.sorted() == Array(1...6), "each trial finished exactly once: \(finished)")
    }

    /// Ctrl-C: running trials save and stop, are journaled as interrupted (not failed), the
    /// sweep exits 130; --resume finishes every trial exactly once.
    @Test func interruptedSweepResumes() throws {
        let (file, out) = try sweepFile("""
            {"base": "BASE", "method": "grid", "out": "OUT", "parallel": 2, "metric": {"name": "val_accuracy", "goal": "max"},
             "parameters": {"training.epochs": {"values": [300]}, "training.batch_size": {"values": [2, 3]}}}
            """)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["sweep", file.path]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        for _ in 0..<20_000 {
            let started = (try? events(out))?.filter { $0["event"] as? String == "start" }.count ?? 0
            if started == 2 { break }
            usleep(1000)
        }
        usleep(300_000)
        process.interrupt()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "\(text)")
        #expect(text.contains("interrupted") && text.contains("--resume"))
        #expect(try events(out).filter { $0["event"] as? String == "interrupted" }.count == 2)
        let resumed = try cli.run(["sweep", file.path, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let finished = try events(out).filter { $0["event"] as? String == "finish" }.map { $0["trial"] as! Int }
        #expect(finished.sorted() == [1, 2])
    }

    /// refine: the second round draws inside a range narrowed around the first round's best.
    @Test func refineNarrowsAroundTheBest() throws {
        let (file, out) = try sweepFile("""
            {"base": "BASE", "method": "random", "trials": 4, "seed": 9, "out": "OUT", "parallel": 2, "refine": {"rounds": 2, "shrink": 0.25},
             "metric": {"name": "val_loss", "goal": "min"}, "parameters": {"optimizer.lr": {"distribution": "log_uniform", "min": 0.0001, "max": 1}}}
            """)
        let r = try cli.run(["sweep", file.path])
        #expect(r.status == 0, "\(r.stderr)")
        let starts = try events(out).filter { $0["event"] as? String == "start" }
        #expect(starts.count == 8)
        let finished = try events(out).filter { $0["event"] as? String == "finish" && ($0["trial"] as! Int) <= 4 }
        let best = finished.min { ($0["metric"] as! Double) < ($1["metric"] as! Double) }!["trial"] as! Int
        let bestLR = (starts.first { $0["trial"] as? Int == best }!["parameters"] as! [String: Double])["optimizer.lr"]!
        // A quarter of 4 decades is one decade around the best (kept inside the original range).
        for start in starts where (start["trial"] as! Int) > 4 {
            let lr = (start["parameters"] as! [String: Double])["optimizer.lr"]!
            #expect(Swift.abs(Foundation.log10(lr) - Foundation.log10(bestLR)) <= 1.0 + 1e-9, "\(lr) around \(bestLR)")
        }
        #expect(r.stderr.contains("refining around trial \(best)"))
    }

    /// A trial that fails is recorded with its error; the others go on.
    @Test func failedTrialsDoNotStopTheSweep() throws {
        let (file, out) = try sweepFile("""
            {"base": "BASE", "method": "grid", "out": "OUT", "metric": {"name": "val_accuracy", "goal": "max"},
             "parameters": {"training.on_nonfinite": {"values": ["stop"]}, "optimizer.lr": {"values": [0.01, 1e30]}}}
            """)
        let r = try cli.run(["sweep", file.path], environment: ["DLTRAIN_FAULT": "nan_at_step=3"])
        #expect(r.status == 0)
        let rows = try leaderboard(out)
        #expect(rows.count == 3 && rows.dropFirst().allSatisfy { $0.last == "diverged" })
        let failures = try events(out).filter { $0["event"] as? String == "fail" }
        #expect(failures.count == 2 && (failures[0]["error"] as? String ?? "").contains("nan"))
    }

    @Test(arguments: [
        ("{\"optimizer.lrr\": {\"values\": [0.1]}}", "grid", ["parameters.optimizer.lrr", "did you mean \"optimizer.lr\""]),
        ("{\"model.layers.7.units\": {\"values\": [4]}}", "grid", ["parameters.model.layers.7.units", "does not exist in the base config"]),
        ("{\"optimizer.lr\": {\"values\": [-1]}}", "grid", ["parameters.optimizer.lr.values[0]", "> 0"]),
        ("{\"optimizer.lr\": {\"distribution\": \"log_uniform\", \"min\": 0, \"max\": 1}}", "random", ["parameters.optimizer.lr.min", "min > 0"]),
        ("{\"optimizer.lr\": {\"distribution\": \"uniform\", \"min\": 0.1, \"max\": 1}}", "grid", ["grid search needs \"values\""]),
        ("{\"optimizer.lr\": {\"distribution\": \"gaussian\", \"min\": 0.1, \"max\": 1}}", "random", ["distribution", "one of"]),
    ])
    func badSweepFiles(parameters: String, method: String, expected: [String]) throws {
        let (file, _) = try sweepFile("""
            {"base": "BASE", "method": "\(method)", "out": "OUT", "metric": {"name": "val_accuracy", "goal": "max"}, "parameters": \(parameters)}
            """)
        let r = try cli.run(["sweep", file.path])
        #expect(r.status == 2, "\(r.stderr)")
        for fragment in expected { #expect(r.stderr.contains(fragment), "\(r.stderr)") }
    }

    @Test func metricThatIsNotRecorded() throws {
        let (file, _) = try sweepFile("""
            {"base": "BASE", "out": "OUT", "metric": {"name": "val_acc", "goal": "max"}, "parameters": {"optimizer.lr": {"values": [0.1]}}}
            """)
        let r = try cli.run(["sweep", file.path])
        #expect(r.status == 2 && r.stderr.contains("metric.name") && r.stderr.contains("did you mean \"val_accuracy\""))
    }
}
