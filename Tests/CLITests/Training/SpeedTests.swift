import DLCore
import Foundation
import TestSupport
import Testing

/// What the speed work promises that a test can check without timing anything.
@Suite(.serialized) struct SpeedTests {
    let cli = CLITests()

    /// dltrain picks OpenBLAS's kernel family for a CPU with AVX-512 by the width of its FMAs
    /// (``BLAS/preferredKernelFamily``: SkylakeX or Haswell), and keeps a user's own
    /// OPENBLAS_CORETYPE, saying what it costs where it is slower than dltrain's pick.
    @Test func openBLASKernelChoice() throws {
        let out = NSTemporaryDirectory() + "dltrain-blas-\(UUID().uuidString.prefix(6))"
        let chosen = try runProgram(CLITests.binary, ["fit", "configs/xor.json", "--set", "training.epochs=1", "--out", out],
                                    in: CLITests.packageRoot, removing: ["OPENBLAS_CORETYPE"])
        let text = chosen.stderr
        #expect(chosen.status == 0)
        let preferred = BLAS.preferredKernelFamily
        if let preferred { #expect(text.contains("BLAS: OpenBLAS \(preferred) kernels"), "\(text)") } else { #expect(text.contains("BLAS: OpenBLAS")) }
        #expect(!text.contains("keeps OpenBLAS on slower kernels"))
        let kept = try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=1", "--out", out, "--overwrite"], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(kept.stderr.contains("BLAS: OpenBLAS Haswell kernels"))
        let warned = kept.stderr.contains("OPENBLAS_CORETYPE=Haswell in the environment keeps OpenBLAS on slower kernels; unset it (dltrain then picks SkylakeX)")
        #expect(warned == (preferred == "SkylakeX"), "\(kept.stderr)")
        let version = try cli.run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("0.1.0"))
    }

    /// dltrain re-executes itself with glibc's malloc asking for transparent huge pages,
    /// beside the user's other tunables, and keeps a choice the user made for them; `--verbose`
    /// says what is in effect.
    @Test func hugePagesAskedForUnlessTheUserChose() throws {
        let out = NSTemporaryDirectory() + "dltrain-pages-\(UUID().uuidString.prefix(6))"
        defer { try? FileManager.default.removeItem(atPath: out) }
        func pagesLine(_ environment: [String: String], removing: [String] = []) throws -> String {
            let run = try runProgram(CLITests.binary, ["fit", "configs/xor.json", "--set", "training.epochs=1", "--out", out, "--overwrite", "--verbose"],
                                     in: CLITests.packageRoot, environment: environment, removing: removing)
            #expect(run.status == 0, "\(run.stderr)")
            return run.stderr.split(separator: "\n").first { $0.hasPrefix("memory: ") }.map(String.init) ?? "no memory line in: \(run.stderr)"
        }
        let plain = try pagesLine([:], removing: ["GLIBC_TUNABLES", "DLTRAIN_NO_REEXEC"])
        #expect(plain.hasSuffix("malloc asks for them (GLIBC_TUNABLES \"glibc.malloc.hugetlb=1\")"), "\(plain)")
        let beside = try pagesLine(["GLIBC_TUNABLES": "glibc.malloc.arena_max=2"], removing: ["DLTRAIN_NO_REEXEC"])
        #expect(beside.hasSuffix("(GLIBC_TUNABLES \"glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1\")"), "\(beside)")
        let declined = try pagesLine(["GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"], removing: ["DLTRAIN_NO_REEXEC"])
        #expect(declined.hasSuffix("malloc does not ask for them (GLIBC_TUNABLES \"glibc.malloc.hugetlb=0\")"), "\(declined)")
    }

    /// No heap allocation in dltrain's steady-state training step, with one BLAS thread and
    /// with two (dltrain's own split of each product; OpenBLAS's threading, which allocates job
    /// buffers on every call, is not used), counted by scripts/malloc-count.c preloaded, on the
    /// release build (users run that; a debug build's unspecialised generics box temporaries),
    /// with the kernels dltrain picks itself (the machine's OPENBLAS_CORETYPE removed). The
    /// third case is a classifier with 3 classes after 64 units, the product for which
    /// OpenBLAS's AVX-512 small-matrix kernel mallocs on every call.
    /// scripts/test builds the release binary; this builds it if missing.
    @Test(arguments: [
        (1, "configs/digits.json", ["training.batch_size=16", "model.layers.0.units=2048"]),
        // 2,048 units: products of 2 million multiply-adds, which two threads split.
        (2, "configs/digits.json", ["training.batch_size=16", "model.layers.0.units=2048"]),
        (2, "configs/iris.json", ["training.batch_size=1", "model.layers.0.units=64"]),
    ])
    func trainingStepDoesNotAllocate(threads: Int, config: String, settings: [String]) throws {
        let release = CLITests.packageRoot.appendingPathComponent(".build/release/dltrain").path
        if !FileManager.default.isExecutableFile(atPath: release) {
            _ = try runProgram("/usr/bin/env", ["swift", "build", "-c", "release", "--product", "dltrain"], in: CLITests.packageRoot)
        }
        try #require(FileManager.default.isExecutableFile(atPath: release))
        let library = NSTemporaryDirectory() + "dltrain-malloc-count-\(UUID().uuidString.prefix(6)).so"
        let cc = try runProgram("/usr/bin/env", ["cc", "-O2", "-shared", "-fPIC", "-o", library, CLITests.packageRoot.appendingPathComponent("scripts/malloc-count.c").path, "-ldl"])
        try #require(cc.status == 0, "\(cc.stderr)")
        let sets = (["training.epochs=2", "training.threads=\(threads)"] + settings).flatMap { ["--set", $0] }
        let r = try runProgram(release, ["fit", config, "--quiet"] + sets + ["--out", NSTemporaryDirectory() + "dltrain-alloc-\(UUID().uuidString.prefix(6))"],
                               in: CLITests.packageRoot, environment: ["LD_PRELOAD": library, "DLTRAIN_COUNT_ALLOCATIONS": "1", "DLTRAIN_PRODUCT_PLAN": "measure"],
                               removing: ["OPENBLAS_CORETYPE"])
        #expect(r.status == 0, "\(r.stderr)")
        let match = try #require(r.stderr.firstMatch(of: /allocations in (\d+) steady-state steps of epoch 2: (\d+)/))
        let steps = Int(match.1)!, allocations = Int(match.2)!
        #expect(steps >= 40)
        #expect(allocations == 0, "\(allocations) allocations in \(steps) steps")
    }

    /// The same with a table: one-hot and embedded category columns (the embedding lookups
    /// and their scatter-add backward in the step), from the bare file and its target.
    @Test func tableStepWithEmbeddingsDoesNotAllocate() throws {
        let dir = try temporaryDirectory()
        var text = "y,x,c4,c60\n"
        for r in 0..<4000 { text += "\(r % 3 == 0 ? "yes" : "no"),\(Double(r % 97) / 10),k\(r % 4),level\(r % 60)\n" }
        _ = try writeFile(dir, "table.csv", text)
        let config = try writeFile(dir, "table.json", #"{"data": {"train": {"path": "table.csv", "target": "y"}}}"#)
        try trainingStepDoesNotAllocate(threads: 2, config: config, settings: ["training.batch_size=32"])
    }
    /// The batch loader projects each batch on PCA components with a product big enough to be
    /// split across the two threads, while the training step splits its own: both want the one
    /// helper thread. Before the helper was claimed, runs of this hung (3 in 4) or, with the
    /// older helper, lost halves of products and gave a different loss every run. Three runs
    /// must finish and agree bit for bit (every column of metrics.csv but the seconds).
    @Test func loaderAndStepShareTheHelperThread() throws {
        let release = CLITests.packageRoot.appendingPathComponent(".build/release/dltrain").path
        if !FileManager.default.isExecutableFile(atPath: release) {
            _ = try runProgram("/usr/bin/env", ["swift", "build", "-c", "release", "--product", "dltrain"], in: CLITests.packageRoot)
        }
        let dir = try temporaryDirectory()
        var rng = SystemRandomNumberGenerator()
        var csv = (0..<256).map { "x\($0)" }.joined(separator: ",") + ",y\n"
        for row in 0..<2048 {
            csv += (0..<256).map { _ in String(Int.random(in: -999...999, using: &rng)) }.joined(separator: ",") + ",\(row % 3)\n"
        }
        _ = try writeFile(dir, "wide.csv", csv)
        // PCA: a 256-row batch times (256, 64), 4.2 million multiply-adds; the step's 256 × 64 × 256 likewise.
        let config = try writeFile(dir, "pca.json", """
            {"seed": 1, "data": {"train": {"path": "wide.csv", "target": "y"}, "task": "classification",
                                 "preprocess": {"pca": {"components": 64}}},
             "model": {"layers": [{"units": 256, "activation": "relu"}, {"units": 3}], "loss": "cross_entropy"},
             "optimizer": {"name": "adam", "lr": 0.001}, "training": {"epochs": 10, "batch_size": 256, "threads": 2}}
            """)
        var histories: [[String]] = []
        for run in 0..<3 {
            let out = dir + "/run\(run)"
            let r = try runProgram("/usr/bin/timeout", ["-s", "KILL", "120", release, "fit", config, "--quiet", "--out", out],
                                   removing: ["OPENBLAS_CORETYPE"])
            #expect(r.status == 0, "exit \(r.status) (137: killed after 120 s, a deadlock): \(r.stderr)")
            if r.status != 0 { return }
            histories.append(try Self.metricsWithoutSeconds(out))
        }
        #expect(histories.count == 3 && histories[1] == histories[0] && histories[2] == histories[0], "\(histories.map { $0.last ?? "" })")
    }

    /// A run's metrics.csv, row by row, without the column that differs between equal runs.
    static func metricsWithoutSeconds(_ runDirectory: String) throws -> [String] {
        let lines = try String(contentsOfFile: runDirectory + "/metrics.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let seconds = try #require(lines.first?.firstIndex(of: "seconds"))
        return lines.map { row in row.enumerated().filter { $0.offset != seconds }.map { String($0.element) }.joined(separator: ",") }
    }

    /// On one CPU (the affinity mask `taskset -c 0` sets) the loader prepares each batch between
    /// steps rather than on a second thread that could only take turns with training, and the
    /// console says so; it is the same run, every metric as with prefetching. The unpinned run
    /// prefetches when this process may use more than one CPU (`nproc` reads the same mask).
    @Test func oneCPUPreparesBatchesBetweenSteps() throws {
        let taskset = "/usr/bin/taskset"
        try #require(FileManager.default.isExecutableFile(atPath: taskset), "taskset (util-linux) is needed")
        let dir = try temporaryDirectory()
        let run = ["fit", "configs/digits.json"] + ["training.epochs=2", "training.threads=1"].flatMap { ["--set", $0] }
        let pinned = try CLITests.execute(taskset, ["-c", "0", CLITests.binary] + run + ["--out", dir + "/pinned"])
        let unpinned = try cli.run(run + ["--out", dir + "/unpinned"])
        #expect(pinned.status == 0 && unpinned.status == 0, "\(pinned.stderr)\n\(unpinned.stderr)")
        let notice = "batches prepared between steps, not prefetched: the process may run on 1 CPU"
        #expect(pinned.stderr.contains(notice), "\(pinned.stderr)")
        let cpus = Int(try runProgram("/usr/bin/env", ["nproc"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1
        if cpus > 1 { #expect(!unpinned.stderr.contains(notice), "\(unpinned.stderr)") }
        let history = try Self.metricsWithoutSeconds(dir + "/pinned"), prefetched = try Self.metricsWithoutSeconds(dir + "/unpinned")
        #expect(history.count == 3 && history == prefetched, "\(history)\n\(prefetched)")
    }

    /// By default every product takes the rule's route (small ones in the register tiles where
    /// the CPU has them, large ones split along C's longer side) and the checkpoint records no
    /// plan. With `DLTRAIN_PRODUCT_PLAN=measure`, `fit --verbose` prints the plan it measured,
    /// the checkpoint records the same, and a resume keeps the recorded plan whatever a new
    /// timing would pick: the test flips every recorded route before resuming. A damaged plan,
    /// and an unknown DLTRAIN_PRODUCT_PLAN, are refused with exit 2.
    @Test func productPlanIsRecordedAndReused() throws {
        let out = try temporaryDirectory() + "/run"
        let checkpoint = out + "/checkpoints/last.h5"
        let sets = ["training.threads=2", "training.batch_size=16", "model.layers.0.units=2048"].flatMap { ["--set", $0] }
        let ruled = try cli.run(["fit", "configs/digits.json", "--verbose", "--quiet", "--set", "training.epochs=1"] + sets + ["--out", out])
        try #require(ruled.status == 0, "\(ruled.stderr)")
        #expect(ruled.stderr.contains("every shape by the rule"), "\(ruled.stderr)")
        // The 10-class output layer: its forward and weight-gradient products have too few
        // columns for the tiles; its input gradient (64 columns, 10 deep) is small enough.
        // The rule takes the tiles beside the OpenBLAS kernels the binary runs, which it may
        // choose itself at start (a re-execution), so they are read from its header.
        let family = try #require(ruled.stderr.firstMatch(of: /OpenBLAS \((\w+) kernels\)/)?.1, "\(ruled.stderr)")
        let tilesByRule = BLAS.tilesAvailable && BLAS.ruleTakesTiles(transposeA: false, transposeB: true, besideAVX512Kernels: BLAS.isAVX512Family(String(family)))
        let tiny = "NT 16x64x10", tinyRule = tilesByRule ? "tiles" : "whole"
        let wholes = ["NN 16x10x64": "whole", "TN 64x10x16": "whole"]
        #expect(Self.planLines(ruled.stderr) == ["NN 16x2048x64": "columns", "NN 16x64x2048": "columns", "TN 2048x64x16": "rows",
                                                  "NT 16x2048x64": "columns", "TN 64x2048x16": "columns", tiny: tinyRule].merging(wholes) { $1 },
                "\(ruled.stderr)")
        let folds = try cli.run(["fit", "configs/digits.json", "--verbose", "--quiet", "--folds", "2", "--set", "training.epochs=1"] + sets
                                + ["--out", try temporaryDirectory() + "/folds"])
        #expect(folds.status == 0 && Self.planLines(folds.stderr) == Self.planLines(ruled.stderr), "\(folds.stderr)")
        let readPlan = "import h5py, json, sys; print(json.dumps(json.loads(bytes(h5py.File(sys.argv[1], 'r')['meta/state.json'][()]))['product_plan']))"
        let empty = try runProgram("/usr/bin/env", ["python3", "-c", readPlan, checkpoint])
        #expect(empty.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "{}", "\(empty.stdout) \(empty.stderr)")

        let first = try cli.run(["fit", "configs/digits.json", "--verbose", "--quiet", "--set", "training.epochs=1"] + sets + ["--out", out, "--overwrite"],
                                environment: ["DLTRAIN_PRODUCT_PLAN": "measure"])
        try #require(first.status == 0, "\(first.stderr)")
        let printed = Self.planLines(first.stderr)
        let recorded = try runProgram("/usr/bin/env", ["python3", "-c", readPlan, checkpoint])
        try #require(recorded.status == 0, "\(recorded.stderr)")
        let plan = try JSONSerialization.jsonObject(with: Data(recorded.stdout.utf8)) as! [String: String]
        let tinyPlanned: Set<String> = BLAS.tilesAvailable ? [tiny] : []
        guard ProcessInfo.processInfo.activeProcessorCount >= 2 else {
            #expect(Set(plan.keys) == tinyPlanned, "\(first.stderr)")
            return
        }
        #expect(first.stderr.contains("split over 2 threads") && first.stderr.contains("as measured in"), "\(first.stderr)")
        #expect(Set(plan.keys) == Set(["NN 16x2048x64", "NN 16x64x2048", "TN 2048x64x16", "NT 16x2048x64", "TN 64x2048x16"]).union(tinyPlanned), "\(plan)")
        let unplanned = wholes.merging(BLAS.tilesAvailable ? [:] : [tiny: "whole"]) { $1 }
        #expect(printed == plan.merging(unplanned) { $1 }, "printed \(printed), recorded \(plan)")

        let flipped = Dictionary(uniqueKeysWithValues: plan.map { shape, route in
            (shape, shape == tiny ? (route == "tiles" ? "whole" : "tiles") : route == "columns" ? "rows" : "columns")
        })
        let flipPlan = "import h5py, json, numpy, sys; f = h5py.File(sys.argv[1], 'r+'); s = json.loads(bytes(f['meta/state.json'][()])); "
            + "s['product_plan'] = json.loads(sys.argv[2]); del f['meta/state.json']; f['meta/state.json'] = numpy.frombuffer(json.dumps(s).encode(), dtype=numpy.uint8)"
        let flippedText = String(decoding: try JSONSerialization.data(withJSONObject: flipped), as: UTF8.self)
        try #require(try runProgram("/usr/bin/env", ["python3", "-c", flipPlan, checkpoint, flippedText]).status == 0)
        let resumed = try cli.run(["fit", "configs/digits.json", "--verbose", "--quiet", "--set", "training.epochs=2"] + sets + ["--resume", checkpoint],
                                  environment: ["DLTRAIN_PRODUCT_PLAN": "measure"])
        try #require(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("as the checkpoint recorded"), "\(resumed.stderr)")
        #expect(Self.planLines(resumed.stderr) == flipped.merging(unplanned) { $1 }, "\(resumed.stderr)")
        let kept = try runProgram("/usr/bin/env", ["python3", "-c", readPlan, checkpoint])
        #expect((try JSONSerialization.jsonObject(with: Data(kept.stdout.utf8)) as? [String: String]) == flipped)

        let damaged = "{\"NN 16x2048x64\": \"diagonal\"}"
        try #require(try runProgram("/usr/bin/env", ["python3", "-c", flipPlan, checkpoint, damaged]).status == 0)
        let refused = try cli.run(["fit", "configs/digits.json", "--quiet", "--set", "training.epochs=3"] + sets + ["--resume", checkpoint])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("product_plan entry \"NN 16x2048x64\": \"diagonal\" is not a product shape"), "\(refused.stderr)")

        let misspelt = try temporaryDirectory() + "/misspelt"
        let unknown = try cli.run(["fit", "configs/digits.json", "--quiet", "--set", "training.epochs=1", "--out", misspelt],
                                  environment: ["DLTRAIN_PRODUCT_PLAN": "measured"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("DLTRAIN_PRODUCT_PLAN (environment): is \"measured\"; expected \"rule\""), "\(unknown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: misspelt), "a refused run wrote its directory")
    }

    /// The "SHAPE route (...)" lines of `fit --verbose` as shape -> route.
    static func planLines(_ text: String) -> [String: String] {
        var plan: [String: String] = [:]
        for line in text.split(separator: "\n") {
            if let m = line.wholeMatch(of: /\ \ ([NT]{2} \d+x\d+x\d+) (columns|rows|whole|tiles) \(.*\)/) { plan[String(m.1)] = String(m.2) }
        }
        return plan
    }
}
