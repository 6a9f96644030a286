@testable import DLTrain
import Foundation
import TestSupport
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// `dltrain fit` end to end: early stopping, checkpoints, exact resume, signals, faults,
/// the run directory's files.
@Suite(.serialized) struct FitTests {
    static let root = CLITests.packageRoot
    let cli = CLITests()

    func temporary(_ name: String = #function) throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-fit-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Parameters and optimizer state of a checkpoint, as one comparable value.
    func weights(_ url: URL) throws -> [String: [Float]] {
        let c = try Checkpoint.read(url.path)
        var all = c.optimizer.mapValues { $0 }
        for (name, p) in c.parameters { all["parameters/" + name] = p.values }
        return all
    }

    func metrics(_ url: URL) throws -> [[String]] {
        try String(contentsOf: url.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    /// The digits example, one BLAS thread (bit-exactness needs a fixed count), dropout,
    /// noise and mixup on: every random stream is exercised.
    static let exact = ["--set", "training.threads=1", "--set", "data.augment.noise=0.1", "--set", "data.augment.mixup=0.2", "--quiet"]

    @Test func resumeAfterFiveOfTenEpochsIsBitIdentical() throws {
        let full = try temporary(), half = try temporary()
        #expect(try cli.run(["fit", "configs/digits.json", "--set", "training.epochs=10", "--out", full.path] + Self.exact).status == 0)
        #expect(try cli.run(["fit", "configs/digits.json", "--set", "training.epochs=5", "--out", half.path] + Self.exact).status == 0)
        let resumed = try cli.run(["fit", "configs/digits.json", "--set", "training.epochs=10", "--resume", half.appendingPathComponent("checkpoints/last.h5").path] + Self.exact)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try weights(full.appendingPathComponent("checkpoints/last.h5")), b = try weights(half.appendingPathComponent("checkpoints/last.h5"))
        #expect(a.keys.sorted() == b.keys.sorted() && !a.isEmpty)
        for key in a.keys { #expect(a[key]! == b[key]!, "\(key) differs") }
        // The resumed run's metrics.csv continues the first: same rows (but the seconds column).
        let ma = try metrics(full).map { $0.enumerated().filter { $0.offset != 6 }.map(\.element) }
        let mb = try metrics(half).map { $0.enumerated().filter { $0.offset != 6 }.map(\.element) }
        #expect(ma == mb)
    }

    /// Ctrl-C mid-epoch: the step finishes, last.h5 is written with the position inside the
    /// epoch, the exit code is 130 and the message says how to resume; resuming then ends
    /// bit-identical to a run never interrupted.
    @Test func sigintMidEpochThenResumeIsBitIdentical() throws {
        let options = ["--set", "training.batch_size=8", "--set", "training.epochs=30"] + Self.exact
        let full = try temporary(), cut = try temporary()
        #expect(try cli.run(["fit", "configs/digits.json", "--out", full.path] + options).status == 0)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["fit", "configs/digits.json", "--out", cut.path] + options
        process.currentDirectoryURL = Self.root
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        // Interrupt once a few epochs are done (whatever the machine's speed).
        let csv = cut.appendingPathComponent("metrics.csv")
        for _ in 0..<20_000 {
            if let text = try? String(contentsOf: csv, encoding: .utf8), text.split(separator: "\n").count >= 4 { break }
            usleep(500)
        }
        process.interrupt()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("interrupted (SIGINT)") && stderr.contains("--resume \(cut.path)/checkpoints/last.h5"))
        let saved = try Checkpoint.read(cut.appendingPathComponent("checkpoints/last.h5").path).state
        #expect(saved.epoch >= 3 && saved.epoch < 30)

        let resumed = try cli.run(["fit", "configs/digits.json", "--resume", cut.appendingPathComponent("checkpoints/last.h5").path] + options)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try weights(full.appendingPathComponent("checkpoints/last.h5")), b = try weights(cut.appendingPathComponent("checkpoints/last.h5"))
        for key in a.keys { #expect(a[key]! == b[key]!, "\(key) differs after the resume") }
    }

    @Test func sigtermExits143WithACheckpoint() throws {
        let out = try temporary()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["fit", "configs/digits.json", "--out", out.path, "--quiet", "--set", "training.batch_size=4", "--set", "training.epochs=100"]
        process.currentDirectoryURL = Self.root
        process.standardError = FileHandle.nullDevice
        try process.run()
        let last = out.appendingPathComponent("checkpoints/last.h5")
        for _ in 0..<20_000 where !FileManager.default.fileExists(atPath: last.path) { usleep(500) }
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 143)
        #expect(try Checkpoint.read(last.path).state.epoch >= 1)
    }

    /// Killed (SIGKILL) in the middle of a checkpoint write: last.h5 is still the previous,
    /// complete checkpoint, and the run resumes from it.
    @Test func killMidCheckpointWriteLeavesThePreviousCheckpoint() throws {
        let out = try temporary()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLITests.binary)
        process.arguments = ["fit", "configs/digits.json", "--out", out.path, "--quiet", "--set", "training.epochs=5"]
        process.currentDirectoryURL = Self.root
        // Every checkpoint write pauses 400 ms half-way (parameters written, metadata not).
        process.environment = ProcessInfo.processInfo.environment.merging(["DLTRAIN_FAULT": "checkpoint_pause_ms=400"]) { $1 }
        process.standardError = FileHandle.nullDevice
        try process.run()
        let checkpoints = out.appendingPathComponent("checkpoints")
        var killedMidWrite = false
        for _ in 0..<40_000 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? []
            // A second write in progress while a complete last.h5 exists: kill it now.
            if names.contains("last.h5") && names.contains(where: { $0.hasPrefix("last.h5.tmp") }) {
                kill(process.processIdentifier, SIGKILL)
                killedMidWrite = true
                break
            }
            usleep(500)
        }
        process.waitUntilExit()
        #expect(killedMidWrite)
        #expect(process.terminationReason == .uncaughtSignal)
        let survivor = try Checkpoint.read(checkpoints.appendingPathComponent("last.h5").path)
        #expect(survivor.state.epoch >= 1)
        let resumed = try cli.run(["fit", "configs/digits.json", "--quiet", "--set", "training.epochs=5", "--resume", checkpoints.appendingPathComponent("last.h5").path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try Checkpoint.read(checkpoints.appendingPathComponent("last.h5").path).state.epoch == 5)
    }

    @Test func earlyStoppingRestoresTheBestWeights() throws {
        let out = try temporary()
        let r = try cli.run(["fit", "configs/digits.json", "--out", out.path, "--set", "training.epochs=200", "--set", "optimizer.lr=0.01",
                             "--set", "training.early_stopping={\"monitor\": \"val_loss\", \"patience\": 3}"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("stopped early") && r.stderr.contains("restored the weights of epoch"))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as! [String: Any]
        let epochs = summary["epochs"] as! Int, bestEpoch = summary["best_epoch"] as! Int
        #expect(summary["stopped_early"] as? Bool == true && epochs < 200 && epochs == bestEpoch + 4)
        // The final weights (last.h5, written after the restore) are best.h5's.
        let best = try weights(out.appendingPathComponent("checkpoints/best.h5")), last = try weights(out.appendingPathComponent("checkpoints/last.h5"))
        for key in best.keys where key.hasPrefix("parameters/") { #expect(best[key]! == last[key]!, "\(key)") }
        let rows = try metrics(out)
        let valLoss = rows.dropFirst().map { Double($0[2])! }
        #expect(valLoss.firstIndex(of: valLoss.min()!)! + 1 == bestEpoch)
    }

    @Test func nonFinitePolicies() throws {
        let stop = try cli.run(["fit", "configs/digits.json", "--quiet", "--out", try temporary().path, "--set", "training.epochs=3"],
                               environment: ["DLTRAIN_FAULT": "nan_at_step=30"])
        #expect(stop.status == 1 && stop.stderr.contains("the loss became nan at epoch 2, step 10") && stop.stderr.contains("learning rate"))
        #expect(stop.stderr.contains("checkpoints/last.h5 (epoch 1)"))

        let skipDir = try temporary()
        let skip = try cli.run(["fit", "configs/digits.json", "--quiet", "--out", skipDir.path, "--set", "training.epochs=3", "--set", "training.on_nonfinite=skip_batch"],
                               environment: ["DLTRAIN_FAULT": "nan_at_step=30"])
        #expect(skip.status == 0, "\(skip.stderr)")
        let skipSummary = try JSONSerialization.jsonObject(with: Data(contentsOf: skipDir.appendingPathComponent("summary.json"))) as! [String: Any]
        #expect((skipSummary["nonfinite"] as? [String: Any])?["skipped_batches"] as? Int == 1)

        let rollDir = try temporary()
        let roll = try cli.run(["fit", "configs/digits.json", "--out", rollDir.path, "--set", "training.epochs=3", "--set", "training.on_nonfinite=rollback"],
                               environment: ["DLTRAIN_FAULT": "nan_at_step=30"])
        #expect(roll.status == 0, "\(roll.stderr)")
        #expect(roll.stderr.contains("rolled back and halved the learning rate (rollback 1 of 3)"))
        let lr = try metrics(rollDir).dropFirst().map { Double($0[5])! }
        #expect(lr == [0.001, 0.0005, 0.0005])
    }

    /// The run directory's files and their columns, for a classification and a regression run.
    @Test func runDirectoryFilesAndColumns() throws {
        let out = try temporary()
        #expect(try cli.run(["fit", "configs/digits.json", "--quiet", "--out", out.path, "--set", "training.epochs=3"]).status == 0)
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: out.path))
        #expect(names.isSuperset(of: ["config.json", "metrics.csv", "curves.svg", "summary.json", "checkpoints"]))
        #expect(try metrics(out)[0] == ["epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "lr", "seconds", "train_loss_smoothed"])
        #expect(try metrics(out).count == 4)
        let svg = try String(contentsOf: out.appendingPathComponent("curves.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("Loss (cross_entropy)") && svg.contains("Accuracy") && svg.contains("Learning rate") && svg.contains("validation"))
        #expect(try XMLDocument(data: Data(svg.utf8)).rootElement()?.name == "svg")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as! [String: Any]
        #expect(Set(summary.keys).isSuperset(of: ["epochs", "best_epoch", "best", "final", "test", "wall_seconds", "monitor"]))
        #expect(((summary["test"] as! [String: Any])["accuracy"] as! Double) > 0.8)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("config.json"))) as! [String: Any]
        #expect(((config["training"] as! [String: Any])["epochs"] as! Int) == 3)

        let regression = try temporary()
        #expect(try cli.run(["fit", "configs/regression.json", "--quiet", "--out", regression.path, "--set", "training.epochs=2",
                             "--set", "data.validation={\"split\": 0.2}"]).status == 0)
        #expect(try metrics(regression)[0] == ["epoch", "train_loss", "val_loss", "val_mse", "val_mae", "lr", "seconds", "train_loss_smoothed"])
    }

    /// Schedules reach metrics.csv: step halves the rate every 2 epochs after 1 warmup epoch.
    @Test func scheduleInTheLearningRateColumn() throws {
        let out = try temporary()
        #expect(try cli.run(["fit", "configs/iris.json", "--quiet", "--out", out.path, "--set", "training.epochs=6",
                             "--set", "schedule={\"name\": \"step\", \"step_size\": 2, \"warmup_epochs\": 1}"]).status == 0)
        let rows = try metrics(out), lr = rows[0].firstIndex(of: "lr")!
        #expect(rows.dropFirst().map { Double($0[lr])! } == [0.01, 0.01, 0.01, 0.005, 0.005, 0.0025])
    }

    /// init_from loads the layers that match by name and shape; a new output layer trains from scratch.
    @Test func transferLearningLoadsMatchingLayers() throws {
        let source = try temporary()
        #expect(try cli.run(["fit", "configs/iris.json", "--quiet", "--out", source.path, "--set", "training.epochs=20"]).status == 0)
        let target = try temporary()
        let r = try cli.run(["fit", "configs/iris.json", "--out", target.path, "--set", "training.epochs=1", "--set", "optimizer.lr=1e-9",
                             "--set", "model.init_from=\(source.path)/checkpoints/last.h5", "--set", "model.layers.1.name=new_head"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("initialised 2 of 4 parameters") && r.stderr.contains("dense_0/kernel, dense_0/bias"))
        let a = try weights(source.appendingPathComponent("checkpoints/last.h5"))["parameters/dense_0/kernel"]!
        let b = try weights(target.appendingPathComponent("checkpoints/last.h5"))["parameters/dense_0/kernel"]!
        #expect(zip(a, b).allSatisfy { Swift.abs($0 - $1) < 1e-6 })
        let none = try cli.run(["fit", "configs/iris.json", "--quiet", "--set", "model.init_from=\(source.path)/checkpoints/last.h5",
                                "--set", "model.layers.0.name=other", "--set", "model.layers.1.name=head"])
        #expect(none.status == 2 && none.stderr.contains("model.init_from"))
    }

    @Test func lbfgsTrainsFullBatch() throws {
        let out = try temporary()
        let r = try cli.run(["fit", "configs/iris.json", "--quiet", "--out", out.path, "--set", "optimizer={\"name\": \"lbfgs\", \"lr\": 1}",
                             "--set", "training.epochs=30"])
        #expect(r.status == 0, "\(r.stderr)")
        let losses = try metrics(out).dropFirst().map { Double($0[1])! }
        #expect(losses.last! < 0.2 && losses.last! < losses.first!)
        #expect(zip(losses, losses.dropFirst()).allSatisfy { $1 <= $0 + 1e-6 }, "L-BFGS never increases the full-batch loss: \(losses)")
    }

    @Test func resumeRefusesAnotherConfig() throws {
        let out = try temporary()
        #expect(try cli.run(["fit", "configs/iris.json", "--quiet", "--out", out.path, "--set", "training.epochs=2"]).status == 0)
        let last = out.appendingPathComponent("checkpoints/last.h5").path
        let other = try cli.run(["fit", "configs/iris.json", "--resume", last, "--set", "training.epochs=4", "--set", "optimizer.lr=0.5"])
        #expect(other.status == 2 && other.stderr.contains("optimizer.lr") && other.stderr.contains("differs from the run"))
        // Resuming a finished run (killed before its summary, say) trains nothing and completes
        // the run directory.
        try FileManager.default.removeItem(at: out.appendingPathComponent("summary.json"))
        let done = try cli.run(["fit", "configs/iris.json", "--resume", last, "--set", "training.epochs=2"])
        #expect(done.status == 0 && done.stderr.contains("holds a finished run (all 2 epochs); nothing to train"), "\(done.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("summary.json").path))
        #expect(try metrics(out).count == 3)
        let fake = try cli.run(["fit", "configs/iris.json", "--resume", "configs/iris.json"])
        #expect(fake.status == 2 && fake.stderr.contains("not an HDF5 file"))
    }
}

/// A guard on learning quality: the shipped digits config, seed 1, one BLAS thread, reaches
/// the test accuracy the README reports for it (97.8%; 97.2–98.3% over seeds 1–5, scikit-learn's
/// MLPClassifier 97.5%). The run is deterministic, so this cannot flake; the bound leaves room
/// for another CPU's BLAS kernels.
@Suite struct LearningQualityTests {
    @Test func digitsReachesScikitLearnsAccuracy() throws {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-quality-\(UUID().uuidString.prefix(6))")
        let r = try CLITests().run(["fit", "configs/digits.json", "--quiet", "--set", "seed=1", "--set", "training.threads=1", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("summary.json"))) as! [String: Any]
        let accuracy = (summary["test"] as! [String: Any])["accuracy"] as! Double
        #expect(accuracy >= 0.97, "test accuracy \(accuracy)")
    }
}

/// Progress: a live bar on a terminal (run under a pseudo-terminal with `script`), plain lines
/// elsewhere, and no colour with NO_COLOR.
@Suite struct ProgressTests {
    @Test func plainLinesWhenNotATerminal() throws {
        let r = try CLITests().run(["fit", "configs/iris.json", "--set", "training.epochs=3", "--out", NSTemporaryDirectory() + "dltrain-plain-\(UUID().uuidString.prefix(6))"])
        #expect(r.status == 0 && !r.stderr.contains("\r") && !r.stderr.contains("\u{1B}["))
        #expect(r.stderr.split(separator: "\n").filter { $0.hasPrefix("epoch ") }.count == 3)
    }

    func underTerminal(_ environment: String) throws -> String {
        let out = NSTemporaryDirectory() + "dltrain-tty-\(UUID().uuidString.prefix(6))"
        let command = "\(environment) \(CLITests.binary) fit configs/iris.json --set training.epochs=40 --set training.batch_size=2 --out \(out)"
        let terminal = try runProgram("/usr/bin/script", ["-qefc", command, "/dev/null"], in: CLITests.packageRoot)
        #expect(terminal.status == 0, "\(terminal.stdout)")
        return terminal.stdout
    }

    @Test func liveBarOnATerminal() throws {
        let text = try underTerminal("env -u NO_COLOR")
        #expect(text.contains("\r\u{1B}[K") && text.contains("steps/s") && text.contains("ETA"))
        #expect(text.contains("epoch 40/40") && text.contains("\u{1B}[32m"))
        let noColor = try underTerminal("NO_COLOR=1")
        #expect(!noColor.contains("\u{1B}[32m") && !noColor.contains("\u{1B}[33m"))
        #expect(noColor.contains("steps/s"))
    }
}
