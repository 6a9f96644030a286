import Foundation
import Testing

/// Faults and resource limits: scripts/kill-loop, sizes beyond the machine, a full disk.
@Suite(.serialized) struct HardeningTests {
    let cli = CLITests()
    static let release = CLITests.packageRoot.appendingPathComponent(".build/release/dltrain").path

    func shell(_ script: String, environment: [String: String] = [:]) throws -> CLITests.Result {
        try CLITests.execute("/bin/bash", ["-c", script], environment: environment)
    }

    /// 20 kill -9s of fit and 20 of sweep at random moments; every resume completes to the
    /// uninterrupted result (the script checks weights, metrics.csv, the journal).
    @Test func killLoopLosesNothing() throws {
        let binary = FileManager.default.isExecutableFile(atPath: Self.release) ? Self.release : CLITests.binary
        let r = try shell("scripts/kill-loop 20", environment: ["DLTRAIN_BIN": binary])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("fit: 20 kills survived") && r.stdout.contains("sweep: 20 kills survived"), "\(r.stdout)")
    }

    /// A layer or batch too large for the machine is a clear error before any allocation.
    @Test func sizesBeyondTheMachineAreRefused() throws {
        let huge = try cli.run(["fit", "configs/iris.json", "--set", "model.layers.0.units=100000000"])
        #expect(huge.status == 2 && huge.stderr.contains("model.layers[0].units") && huge.stderr.contains("16777216"), "\(huge.stderr)")
        // 4M units at 1,024 rows: 168 GB of activation windows (batch norm and dropout keep their
        // own), while the 0.5 G parameters with their state fit.
        let wide = try cli.run(["fit", "configs/digits.json", "--set", "model.layers.0.units=4000000", "--set", "training.batch_size=1024"])
        #expect(wide.status == 2 && wide.stderr.contains("a batch of 1024 rows needs") && wide.stderr.contains("more than this machine's"), "\(wide.stderr)")
        let parameters = try cli.run(["fit", "configs/digits.json", "--set", "model.layers.0.units=16000000"])
        #expect(parameters.status == 2 && parameters.stderr.contains("with gradients and optimizer state, more than this machine's"), "\(parameters.stderr)")
    }

    /// A disk that fills during a checkpoint write (a file-size limit: writes beyond it fail
    /// with EFBIG) is a clear error, exit 1, and the previous checkpoint stays whole: the run
    /// resumes from it once there is room.
    @Test func fullDiskKeepsThePreviousCheckpoint() throws {
        let dir = try cli.temporary("fulldisk")
        let run = dir.appendingPathComponent("run").path
        #expect(try cli.run(["fit", "configs/digits.json", "--quiet", "--set", "training.epochs=2", "--out", run]).status == 0)
        let last = run + "/checkpoints/last.h5"
        let before = try Data(contentsOf: URL(fileURLWithPath: last))
        // 64 KiB: the metrics lines fit, a 200 KB checkpoint does not.
        let limited = try shell("ulimit -f 64; exec '\(CLITests.binary)' fit configs/digits.json --quiet --set training.epochs=4 --resume '\(last)'")
        #expect(limited.status == 1, "\(limited.stderr)")
        #expect(limited.stderr.contains("last.h5") && (limited.stderr.contains("disk") || limited.stderr.contains("space")), "\(limited.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: last)) == before, "the previous checkpoint changed")
        let resumed = try cli.run(["fit", "configs/digits.json", "--quiet", "--set", "training.epochs=4", "--resume", last])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }

    /// A checkpoint whose stored config names paths outside its run (output.dir, the data)
    /// is data, never instructions: inspect, predict and resume write only where the user
    /// says (the run directory of the checkpoint, --out), never to the stored output.dir.
    @Test func storedPathsNeverChooseWhereToWrite() throws {
        let dir = try cli.temporary("storedpaths")
        let run = dir.appendingPathComponent("run").path, outside = dir.appendingPathComponent("outside").path
        #expect(try cli.run(["fit", "configs/iris.json", "--quiet", "--set", "training.epochs=2", "--out", run]).status == 0)
        let crafted = dir.appendingPathComponent("crafted.h5").path
        try FileManager.default.copyItem(atPath: run + "/checkpoints/last.h5", toPath: crafted)
        let edit = try shell("""
            python3 - '\(crafted)' '\(outside)' <<'PY'
            import h5py, json, sys, numpy as np
            path, outside = sys.argv[1:]
            with h5py.File(path, "r+") as f:
                config = json.loads(bytes(f["meta/config.json"][()]).decode())
                config["output"]["dir"] = outside
                del f["meta/config.json"]
                f["meta/config.json"] = np.frombuffer(json.dumps(config).encode(), dtype=np.uint8)
            PY
            """)
        #expect(edit.status == 0, "\(edit.stderr)")
        #expect(try cli.run(["inspect", crafted]).status == 0)
        #expect(try cli.run(["predict", crafted, "--data", "data/iris.csv", "--out", dir.appendingPathComponent("p.csv").path]).status == 0)
        let resumed = try cli.run(["fit", "configs/iris.json", "--quiet", "--set", "training.epochs=3", "--resume", crafted, "--out", dir.appendingPathComponent("continued").path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("continued/metrics.csv").path))
        #expect(!FileManager.default.fileExists(atPath: outside), "something was written to the stored output.dir")
    }
}
