import Foundation
import Testing

/// Every input the fuzzers found (fuzz/regressions/TARGET/) and every seed (fuzz/corpus/),
/// replayed through the same loaders (`dltrain-fuzz TARGET FILE...`, the plain build):
/// each is loaded or refused with an error, none crashes.
@Suite struct FuzzRegressionTests {
    static let root = CLITests.packageRoot.appendingPathComponent("fuzz")

    static var replayer: String {
        URL(fileURLWithPath: CLITests.binary).deletingLastPathComponent().appendingPathComponent("dltrain-fuzz").path
    }

    func files(_ folder: String, _ target: String) -> [String] {
        let directory = Self.root.appendingPathComponent("\(folder)/\(target)")
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).sorted().map { directory.appendingPathComponent($0).path }
    }

    @Test(arguments: ["config", "sweep", "csv", "hdf5", "checkpoint"])
    func inputsAreLoadedOrRefused(target: String) throws {
        let regressions = files("regressions", target), seeds = files("corpus", target)
        #expect(!seeds.isEmpty)
        let r = try CLITests.execute(Self.replayer, [target] + regressions + seeds)
        let text = r.stdout
        #expect(r.status == 0, "the replayer crashed: \(text.suffix(500))")
        let lines = text.split(separator: "\n")
        #expect(lines.count == regressions.count + seeds.count, "\(text)")
        // A damaged input must be refused (a damaged HDF5 file may still open, with
        // fewer datasets: libhdf5 skips what it cannot parse).
        for (line, file) in zip(lines, regressions) where target != "hdf5" {
            #expect(line.hasPrefix("\(file): refused,"), "a damaged input must be refused: \(line)")
        }
    }
}
