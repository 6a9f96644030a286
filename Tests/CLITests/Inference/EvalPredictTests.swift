@testable import DLTrain
import Foundation
import TestSupport
import Testing

/// `dltrain eval`, `predict` and `inspect` end to end.
@Suite(.serialized) struct EvalPredictTests {
    let cli = CLITests()

    func train(_ config: String = "configs/digits.json", seed: Int = 1, _ extra: [String] = []) throws -> URL {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-ep-\(UUID().uuidString.prefix(6))")
        let r = try cli.run(["fit", config, "--quiet", "--set", "seed=\(seed)", "--set", "training.threads=1", "--out", out.path] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return out
    }

    func json(_ text: String) throws -> [String: Any] { try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any] }

    /// eval on the test split gives exactly the test accuracy fit reported.
    @Test func evalReproducesFitsTestAccuracy() throws {
        let run = try train()
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as! [String: Any]
        let fitAccuracy = (summary["test"] as! [String: Any])["accuracy"] as! Double
        let r = try cli.run(["eval", run.appendingPathComponent("checkpoints/last.h5").path, "--data", "data/digits.csv", "--split", "test", "--json", "--top-k", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let metrics = try json(r.stdout)
        #expect(metrics["accuracy"] as! Double == fitAccuracy)
        #expect(metrics["n"] as! Int == 360)
        #expect((metrics["top_3_accuracy"] as! Double) >= fitAccuracy)
        let fitLoss = (summary["test"] as! [String: Any])["loss"] as! Double
        #expect(Swift.abs((metrics["loss"] as! Double) - fitLoss) < 1e-4)
        let table = try cli.run(["eval", run.appendingPathComponent("checkpoints/last.h5").path, "--data", "data/digits.csv", "--split", "test"])
        #expect(table.stdout.contains("confusion matrix (rows: true class, columns: predicted class)") && table.stdout.contains("weighted avg"))
        #expect(table.stderr.isEmpty)
    }

    /// predict: a row per input row, the class by name and a probability per class summing to
    /// 1, the predicted class the most probable; the input's target column is ignored, and a
    /// file without one works the same.
    @Test func predictWritesOneRowPerInputRow() throws {
        let run = try train("configs/iris.json")
        let checkpoint = run.appendingPathComponent("checkpoints/last.h5").path
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-pred-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let r = try cli.run(["predict", checkpoint, "--data", "data/iris.csv", "--out", dir.appendingPathComponent("p.csv").path])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try String(contentsOf: dir.appendingPathComponent("p.csv"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 151)
        #expect(lines[0] == "predicted,probability_setosa,probability_versicolor,probability_virginica")
        var correct = 0
        let truth = try String(contentsOf: CLITests.packageRoot.appendingPathComponent("data/iris.csv"), encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",").last! }
        for (line, label) in zip(lines.dropFirst(), truth) {
            let fields = line.split(separator: ",")
            let p = fields.dropFirst().map { Double($0)! }
            #expect(Swift.abs(p.reduce(0, +) - 1) < 1e-5)
            #expect(["setosa", "versicolor", "virginica"][p.firstIndex(of: p.max()!)!] == fields[0])
            if fields[0] == label { correct += 1 }
        }
        #expect(correct > 130)
        // The same rows without the species column: identical predictions.
        let bare = (["sepal_length,sepal_width,petal_length,petal_width"] + (try String(contentsOf: CLITests.packageRoot.appendingPathComponent("data/iris.csv"), encoding: .utf8))
            .split(separator: "\n").dropFirst().map { $0.split(separator: ",").dropLast().joined(separator: ",") }).joined(separator: "\n")
        try bare.write(to: dir.appendingPathComponent("bare.csv"), atomically: true, encoding: .utf8)
        #expect(try cli.run(["predict", checkpoint, "--data", dir.appendingPathComponent("bare.csv").path, "--out", dir.appendingPathComponent("q.csv").path]).status == 0)
        #expect(try String(contentsOf: dir.appendingPathComponent("q.csv"), encoding: .utf8) == String(contentsOf: dir.appendingPathComponent("p.csv"), encoding: .utf8))
    }

    /// Regression: predictions in the target's units; eval's MSE is the one computed from them.
    @Test func regressionPredictionsAreInTargetUnits() throws {
        let run = try train("configs/regression.json")
        let checkpoint = run.appendingPathComponent("checkpoints/last.h5").path
        let out = NSTemporaryDirectory() + "dltrain-reg-\(UUID().uuidString.prefix(6)).csv"
        #expect(try cli.run(["predict", checkpoint, "--data", "data/iris-petal-width.csv", "--out", out]).status == 0)
        let predictions = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(predictions[0] == "petal_width")
        let truth = try String(contentsOf: CLITests.packageRoot.appendingPathComponent("data/iris-petal-width.csv"), encoding: .utf8).split(separator: "\n").dropFirst().map { Double($0.split(separator: ",").last!)! }
        let values = predictions.dropFirst().map { Double($0)! }
        let mse = zip(values, truth).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Double(truth.count)
        let r = try cli.run(["eval", checkpoint, "--data", "data/iris-petal-width.csv", "--json"])
        let metrics = try json(r.stdout)
        #expect(Swift.abs((metrics["mse"] as! Double) - mse) < 1e-6 * Swift.max(1, mse))
        #expect(Set(metrics.keys).isSuperset(of: ["loss", "mse", "mae", "r2", "rmse", "n"]) && (metrics["r2"] as! Double) > 0.8)
    }

    /// An ensemble of three differently seeded digits models is at least as accurate as the
    /// mean of its members on the test split.
    @Test func ensembleBeatsTheMeanMember() throws {
        let members = try [1, 2, 3].map { try train(seed: $0).appendingPathComponent("checkpoints/last.h5").path }
        func accuracy(_ paths: [String]) throws -> Double {
            let r = try cli.run(["eval"] + paths + ["--data", "data/digits.csv", "--split", "test", "--json"])
            #expect(r.status == 0, "\(r.stderr)")
            return try json(r.stdout)["accuracy"] as! Double
        }
        let single = try members.map { try accuracy([$0]) }
        let ensemble = try accuracy(members)
        #expect(ensemble >= single.reduce(0, +) / 3, "ensemble \(ensemble), members \(single)")
        print("digits test accuracy: members \(single), ensemble \(ensemble)")
    }

    /// cosine_restarts with snapshots keeps a checkpoint per cycle and scores them as an ensemble.
    @Test func snapshotEnsembleInFit() throws {
        let run = try train("configs/iris.json", seed: 1, ["--set", "data.validation={\"split\": 0.3, \"stratify\": true}", "--set", "training.epochs=30",
                                                           "--set", "schedule={\"name\": \"cosine_restarts\", \"period\": 10}", "--set", "training.snapshots=true"])
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as! [String: Any]
        let snapshots = try #require(summary["snapshot_ensemble"] as? [String: Any])
        #expect((snapshots["members"] as! [String]).map { ($0 as NSString).lastPathComponent } == ["snapshot-10.h5", "snapshot-20.h5", "snapshot-30.h5"])
        let ensemble = snapshots["ensemble"] as! [String: Double], single = snapshots["single_model"] as! [String: Double]
        #expect(ensemble["val_accuracy"] != nil && single["val_accuracy"] != nil)
        // The ensemble's score is the one eval computes for the same checkpoints on the same rows.
        let r = try cli.run(["eval"] + (snapshots["members"] as! [String]) + ["--data", "data/iris.csv", "--split", "validation", "--json"])
        #expect(try json(r.stdout)["accuracy"] as? Double == ensemble["val_accuracy"])
    }

    @Test func inspectDescribesTheCheckpoint() throws {
        let run = try train("configs/iris.json")
        let r = try cli.run(["inspect", run.appendingPathComponent("checkpoints/best.h5").path])
        #expect(r.status == 0)
        for fragment in ["written by dltrain 0.1.0", "dense_0", "classes (index order): setosa, versicolor, virginica", "with adam", "\"seed\": 1"] {
            #expect(r.stdout.contains(fragment), "\(fragment)")
        }
    }

    @Test func badCheckpointsAndData() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-badckpt-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "not a checkpoint".write(to: dir.appendingPathComponent("text.h5"), atomically: true, encoding: .utf8)
        let text = try cli.run(["eval", dir.appendingPathComponent("text.h5").path, "--data", "data/iris.csv"])
        #expect(text.status == 2 && text.stderr.contains("not an HDF5 file"))
        // An HDF5 file that is not ours.
        let foreign = dir.appendingPathComponent("foreign.h5").path
        try #require(try runProgram("/usr/bin/env", ["python3", "-c", "import h5py, sys; h5py.File(sys.argv[1], 'w')['w'] = [1.0, 2.0]", foreign]).status == 0)
        let notOurs = try cli.run(["predict", foreign, "--data", "data/iris.csv", "--out", dir.appendingPathComponent("x.csv").path])
        #expect(notOurs.status == 2 && notOurs.stderr.contains("not a dltrain checkpoint"))
        // Truncated.
        let run = try train("configs/iris.json")
        let bytes = try Data(contentsOf: run.appendingPathComponent("checkpoints/last.h5"))
        try bytes.prefix(bytes.count / 2).write(to: dir.appendingPathComponent("cut.h5"))
        let cut = try cli.run(["inspect", dir.appendingPathComponent("cut.h5").path])
        #expect(cut.status == 2 && cut.stderr.contains("cut.h5"))
        // Data with a different feature count, both counts in the message.
        let wide = try cli.run(["eval", run.appendingPathComponent("checkpoints/last.h5").path, "--data", "data/digits.csv"])
        #expect(wide.status == 2 && wide.stderr.contains("no column named \"species\""))
        try "a,b,c,species\n1,2,3,setosa\n".write(to: dir.appendingPathComponent("three.csv"), atomically: true, encoding: .utf8)
        let three = try cli.run(["eval", run.appendingPathComponent("checkpoints/last.h5").path, "--data", dir.appendingPathComponent("three.csv").path])
        #expect(three.status == 2 && three.stderr.contains("has 3 feature columns but the model was trained on 4"))
        // A class the model does not know.
        try "sepal_length,sepal_width,petal_length,petal_width,species\n1,2,3,4,rose\n".write(to: dir.appendingPathComponent("rose.csv"), atomically: true, encoding: .utf8)
        let rose = try cli.run(["eval", run.appendingPathComponent("checkpoints/last.h5").path, "--data", dir.appendingPathComponent("rose.csv").path])
        #expect(rose.status == 2 && rose.stderr.contains("label \"rose\" is not one of the 3 classes"))
        let split = try cli.run(["eval", run.appendingPathComponent("checkpoints/last.h5").path, "--data", "data/iris.csv", "--split", "test"])
        #expect(split.status == 2 && split.stderr.contains("makes no test split"))
        // An ensemble of models that disagree.
        let digits = try train()
        let mixed = try cli.run(["eval", run.appendingPathComponent("checkpoints/last.h5").path, digits.appendingPathComponent("checkpoints/last.h5").path, "--data", "data/iris.csv"])
        #expect(mixed.status == 2 && mixed.stderr.contains("cannot join an ensemble"))
    }
}
