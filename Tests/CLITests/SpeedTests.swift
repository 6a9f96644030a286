import Foundation
import Testing

/// What the speed work promises that a test can check without timing anything.
@Suite(.serialized) struct SpeedTests {
    let cli = CLITests()

    /// dltrain picks OpenBLAS's AVX-512 kernels on a CPU that has them, and keeps a user's own
    /// OPENBLAS_CORETYPE, saying what it costs.
    @Test func openBLASKernelChoice() throws {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy { cpuinfo.contains(" \($0)") }
        let out = NSTemporaryDirectory() + "dltrain-blas-\(UUID().uuidString.prefix(6))"
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "OPENBLAS_CORETYPE")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = ["fit", "configs/xor.json", "--set", "training.epochs=1", "--out", out]
        p.currentDirectoryURL = CLITests.packageRoot
        p.environment = environment
        let err = Pipe()
        p.standardError = err
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        if avx512 { #expect(text.contains("BLAS: OpenBLAS SkylakeX kernels"), "\(text)") } else { #expect(text.contains("BLAS: OpenBLAS")) }
        let kept = try cli.run(["fit", "configs/xor.json", "--set", "training.epochs=1", "--out", out], environment: ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(kept.stderr.contains("BLAS: OpenBLAS Haswell kernels"))
        if avx512 { #expect(kept.stderr.contains("OPENBLAS_CORETYPE=Haswell in the environment keeps OpenBLAS on slower kernels")) }
        let version = try cli.run(["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("0.1.0"))
    }

    /// No heap allocation in dltrain's steady-state training step: with one BLAS thread (so
    /// OpenBLAS's threaded GEMM, which allocates job buffers, is not involved), counted by
    /// scripts/malloc-count.c preloaded, on the release build (users run that; a debug build's
    /// unspecialised generics box temporaries). scripts/test builds it; this builds it if missing.
    @Test func trainingStepDoesNotAllocate() throws {
        let release = CLITests.packageRoot.appendingPathComponent(".build/release/dltrain").path
        if !FileManager.default.isExecutableFile(atPath: release) {
            let build = Process()
            build.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            build.arguments = ["swift", "build", "-c", "release", "--product", "dltrain"]
            build.currentDirectoryURL = CLITests.packageRoot
            try build.run()
            build.waitUntilExit()
        }
        try #require(FileManager.default.isExecutableFile(atPath: release))
        let library = NSTemporaryDirectory() + "dltrain-malloc-count-\(UUID().uuidString.prefix(6)).so"
        let cc = Process()
        cc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cc.arguments = ["cc", "-O2", "-shared", "-fPIC", "-o", library, CLITests.packageRoot.appendingPathComponent("scripts/malloc-count.c").path, "-ldl"]
        try cc.run()
        cc.waitUntilExit()
        try #require(cc.terminationStatus == 0)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: release)
        p.arguments = ["fit", "configs/digits.json", "--quiet", "--set", "training.epochs=2", "--set", "training.threads=1", "--set", "training.batch_size=16",
                       "--out", NSTemporaryDirectory() + "dltrain-alloc-\(UUID().uuidString.prefix(6))"]
        p.currentDirectoryURL = CLITests.packageRoot
        p.environment = ProcessInfo.processInfo.environment.merging(["LD_PRELOAD": library, "DLTRAIN_COUNT_ALLOCATIONS": "1"]) { $1 }
        let err = Pipe()
        p.standardError = err
        try p.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let r = CLITests.Result(status: p.terminationStatus, stdout: "", stderr: stderr)
        #expect(r.status == 0, "\(r.stderr)")
        let match = try #require(r.stderr.firstMatch(of: /allocations in (\d+) steady-state steps of epoch 2: (\d+)/))
        let steps = Int(match.1)!, allocations = Int(match.2)!
        #expect(steps >= 40)
        #expect(allocations * 10 < steps, "\(allocations) allocations in \(steps) steps")
    }
}
