import Foundation
import TestSupport
import Testing

/// Bad data through `dltrain fit`: each case exits 2 with a message naming the file and
/// the place, and nothing trains.
@Suite struct DataErrorTests {
    /// Writes `files` and a config whose data section is `data` into a fresh directory, runs fit.
    func fit(data: String, files: [String: String], loss: String = "cross_entropy", units: Int = 2, extra: [String] = [], in existing: URL? = nil) throws -> CLITests.Result {
        let dir = existing ?? URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-data-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, text) in files { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let config = """
            {"data": \(data), "model": {"layers": [{"units": 4, "activation": "relu"}, {"units": \(units)}], "loss": "\(loss)"},
             "training": {"epochs": 1, "batch_size": 2}}
            """
        try config.write(to: dir.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)
        return try CLITests().run(["fit", "c.json", "--quiet", "--out", "run"] + extra, in: dir)
    }

    static let good = "a,b,y\n1,2,x\n3,4,z\n5,6,x\n7,8,z\n"

    @Test(arguments: [
        ("ragged row", "a,b,y\n1,2,x\n3,z\n", ["d.csv:3", "expected 3 fields", "found 2"]),
        ("non-numeric cell", "a,b,y\n1,2,x\n3,oops,z\n", ["d.csv:3:3", "\"oops\"", "column \"b\" holds numbers", "data.missing_values"]),
        ("NaN feature", "a,b,y\n1,2,x\n3,nan,z\n", ["d.csv:3:3", "\"nan\"", "\"drop\""]),
        ("empty cell", "a,b,y\n1,,x\n3,4,z\n", ["d.csv:2:3", "empty"]),
        ("infinite feature", "a,b,y\n1,inf,x\n3,4,z\n", ["d.csv:2:3", "\"inf\""]),
        ("empty file", "", ["d.csv", "empty"]),
        ("header only", "a,b,y\n", ["no data rows"]),
        ("unclosed quote", "a,b,y\n1,2,\"x\n", ["quoted field is not closed"]),
    ])
    func badCSV(what: String, text: String, expected: [String]) throws {
        let r = try fit(data: "{\"train\": {\"path\": \"d.csv\", \"target\": \"y\"}, \"task\": \"classification\"}", files: ["d.csv": text])
        #expect(r.status == 2, "\(what): \(r.stderr)")
        for fragment in expected { #expect(r.stderr.contains(fragment), "\(what): \(r.stderr)") }
    }

    @Test func missingFileAndMissingTarget() throws {
        let missing = try fit(data: "{\"train\": {\"path\": \"none.csv\", \"target\": \"y\"}, \"task\": \"classification\"}", files: [:])
        #expect(missing.status == 2 && missing.stderr.contains("none.csv: no such file"))
        let noTarget = try fit(data: "{\"train\": {\"path\": \"d.csv\", \"target\": \"label\"}, \"task\": \"classification\"}", files: ["d.csv": Self.good])
        #expect(noTarget.status == 2 && noTarget.stderr.contains("no column named \"label\"; the columns are a, b, y"))
    }

    @Test func labelOutsideTheDeclaredClasses() throws {
        let r = try fit(data: "{\"train\": {\"path\": \"d.csv\", \"target\": \"y\"}, \"task\": \"classification\", \"classes\": [\"x\", \"q\"]}", files: ["d.csv": Self.good])
        #expect(r.status == 2 && r.stderr.contains("d.csv:3") && r.stderr.contains("label \"z\" is not one of the 2 classes (x, q)"))
    }

    @Test func validationFileDisagreesWithTraining() throws {
        let wider = try fit(data: "{\"train\": {\"path\": \"d.csv\", \"target\": \"y\"}, \"validation\": {\"path\": \"v.csv\"}, \"task\": \"classification\"}",
                            files: ["d.csv": Self.good, "v.csv": "a,b,c,y\n1,2,3,x\n"])
        #expect(wider.status == 2 && wider.stderr.contains("v.csv: has 3 feature columns but the training data has 2"))
        let unseen = try fit(data: "{\"train\": {\"path\": \"d.csv\", \"target\": \"y\"}, \"validation\": {\"path\": \"v.csv\"}, \"task\": \"classification\"}",
                             files: ["d.csv": Self.good, "v.csv": "a,b,y\n1,2,w\n"])
        #expect(unseen.status == 2 && unseen.stderr.contains("v.csv:2") && unseen.stderr.contains("label \"w\""))
    }

    @Test func hdf5Problems() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-h5-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let python = """
            import h5py, numpy as np, sys
            with h5py.File(sys.argv[1], "w") as f:
                f["X"] = np.arange(8, dtype=np.int16).reshape(4, 2)
                f["y"] = np.array([0, 1, 0], dtype=np.int64)
            """
        let written = try runProgram("/usr/bin/env", ["python3", "-c", python, dir.appendingPathComponent("d.h5").path])
        try #require(written.status == 0, "h5py is installed by scripts/setup: \(written.stderr)")
        let missing = try fit(data: "{\"train\": {\"path\": \"d.h5\", \"features\": \"features\", \"target\": \"y\"}, \"task\": \"classification\"}", files: [:], in: dir)
        #expect(missing.status == 2 && missing.stderr.contains("no dataset \"features\"; the file has \"X\", \"y\""))
        let mismatch = try fit(data: "{\"train\": {\"path\": \"d.h5\", \"features\": \"X\", \"target\": \"y\"}, \"task\": \"classification\"}", files: [:], in: dir)
        #expect(mismatch.status == 2 && mismatch.stderr.contains("have 4 rows but targets \"y\" have 3"))
        let noFeatures = try fit(data: "{\"train\": {\"path\": \"d.h5\", \"target\": \"y\"}, \"task\": \"classification\"}", files: [:], in: dir)
        #expect(noFeatures.status == 2 && noFeatures.stderr.contains("data.train") && noFeatures.stderr.contains("\"features\""))
        let bytes = try Data(contentsOf: dir.appendingPathComponent("d.h5"))
        try bytes.prefix(100).write(to: dir.appendingPathComponent("cut.h5"))
        let truncated = try fit(data: "{\"train\": {\"path\": \"cut.h5\", \"features\": \"X\", \"target\": \"y\"}, \"task\": \"classification\"}",
                                files: [:], in: dir)
        #expect(truncated.status == 2 && truncated.stderr.contains("cut.h5"))
    }

    @Test func foldsReportMeanAndSpread() throws {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-folds-\(UUID().uuidString.prefix(8))")
        let r = try CLITests().run(["fit", "configs/iris.json", "--folds", "3", "--quiet", "--set", "training.epochs=5", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("3-fold cross-validation: val_accuracy"))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("folds.json"))) as! [String: Any]
        let values = summary["values"] as! [Double]
        #expect(values.count == 3)
        #expect(Swift.abs((summary["mean"] as! Double) - values.reduce(0, +) / 3) < 1e-12)
        for k in 1...3 { #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("fold-\(k)/metrics.csv").path)) }
        #expect(try CLITests().run(["fit", "configs/iris.json", "--folds", "1"]).status == 2)
    }
}
