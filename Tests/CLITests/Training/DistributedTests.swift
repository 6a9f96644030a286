@testable import DLTrain
import Foundation
import Testing

/// `mpirun -np 2 dltrain fit` and `sweep` (Open MPI from scripts/setup), against one process.
@Suite(.serialized) struct DistributedTests {
    let cli = CLITests()

    func mpirun(_ arguments: [String]) throws -> CLITests.Result {
        // Open MPI refuses root unless told; CI containers run as root.
        try CLITests.execute("/usr/bin/env", ["mpirun", "-np", "2", "--oversubscribe", CLITests.binary] + arguments,
                             environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"])
    }

    /// The digits example (batch norm and dropout included) for 5 epochs, in one process and
    /// over two ranks with the same global batch of 64. Tolerance: 1e-5 absolute on every
    /// weight (they are of order 1; float32 rounding differs because each rank sums half the
    /// batch). One exception, under Adam: the bias of a layer followed by batch norm (and
    /// the running mean that tracks it) has a gradient that is exactly zero in exact arithmetic,
    /// so it is rounding noise, which Adam divides by its own magnitude into ±lr steps; that
    /// bias has no effect on the outputs (batch norm subtracts it), so it is compared through
    /// the test loss instead. With SGD every parameter is compared.
    @Test(arguments: [("adam", 0.001), ("sgd", 0.05)])
    func fitMatchesOneProcess(optimizer: String, lr: Double) throws {
        let dir = try cli.temporary("mpifit")
        let common = ["configs/digits.json", "--set", "training.epochs=5", "--set", "training.threads=1",
                      "--set", "optimizer.name=\(optimizer)", "--set", "optimizer.lr=\(lr)"]
        let single = dir.appendingPathComponent("single").path, parallel = dir.appendingPathComponent("mpi").path
        let one = try cli.run(["fit"] + common + ["--out", single])
        #expect(one.status == 0, "\(one.stderr)")
        let two = try mpirun(["fit"] + common + ["--out", parallel])
        #expect(two.status == 0, "\(two.stderr)")
        #expect(two.stderr.contains("data-parallel over 2 MPI ranks"))
        // Rank 0 alone reports and writes.
        #expect(two.stderr.components(separatedBy: "epoch 5/5").count == 2, "\(two.stderr)")
        let metrics = try String(contentsOfFile: parallel + "/metrics.csv", encoding: .utf8).split(separator: "\n")
        #expect(metrics.count == 6)

        let a = try Checkpoint.read(single + "/checkpoints/last.h5"), b = try Checkpoint.read(parallel + "/checkpoints/last.h5")
        #expect(a.parameters.count == b.parameters.count && a.parameters.count == 10)
        for (name, mine) in a.parameters.sorted(by: { $0.key < $1.key }) {
            let theirs = try #require(b.parameters[name])
            let worst = zip(mine.values, theirs.values).map { Swift.abs($0 - $1) }.max() ?? .infinity
            if optimizer == "adam" && (name == "dense_0/bias" || name == "dense_0/moving_mean") { continue }
            #expect(worst < 1e-5, "\(name): max |difference| \(worst)")
        }
        var losses: [Double] = [], accuracies: [Double] = []
        for run in [single, parallel] {
            let r = try cli.run(["eval", run + "/checkpoints/last.h5", "--data", "data/digits.csv", "--split", "test", "--json"])
            let metrics = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
            losses.append(metrics["loss"] as! Double)
            accuracies.append(metrics["accuracy"] as! Double)
        }
        #expect(Swift.abs(losses[0] - losses[1]) < 1e-5 && accuracies[0] == accuracies[1], "\(losses) \(accuracies)")
    }

    /// Six trials over two ranks: each runs exactly once, both ranks take part, rank 0 writes
    /// the journal and the leaderboard.
    @Test func sweepRunsEveryTrialOnce() throws {
        let dir = try cli.temporary("mpisweep")
        let spec = try String(contentsOf: CLITests.packageRoot.appendingPathComponent("configs/iris-sweep.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"iris.json\"", with: "\"\(CLITests.packageRoot.path)/configs/iris.json\"")
            .replacingOccurrences(of: "\"runs/iris-sweep\"", with: "\"\(dir.path)/out\"")
        try spec.write(to: dir.appendingPathComponent("sweep.json"), atomically: true, encoding: .utf8)
        let r = try mpirun(["sweep", dir.appendingPathComponent("sweep.json").path])
        #expect(r.status == 0, "\(r.stderr)")
        let events = try String(contentsOfFile: dir.path + "/out/journal.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        for kind in ["start", "finish"] {
            let trials = events.filter { $0["event"] as? String == kind }.map { $0["trial"] as! Int }.sorted()
            #expect(trials == [1, 2, 3, 4, 5, 6], "\(kind): \(trials)")
        }
        #expect(Set(events.compactMap { $0["rank"] as? Int }) == [0, 1])
        let leaderboard = try String(contentsOfFile: dir.path + "/out/leaderboard.csv", encoding: .utf8).split(separator: "\n")
        #expect(leaderboard.count == 7)
        #expect(r.stderr.components(separatedBy: "best: trial").count == 2, "\(r.stderr)")
    }
}
