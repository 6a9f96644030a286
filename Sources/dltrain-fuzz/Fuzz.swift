import DLData
import DLTrain
import Foundation

/// Fuzz targets for every parser that reads a user's file: the config, the sweep file, CSV,
/// HDF5 (opening, listing, reading each dataset) and checkpoints. Each writes the input to a
/// file and calls the loader a user's command would; an error thrown is the right answer to
/// bad input, a crash, hang or runaway allocation is a finding.
///
/// Built by scripts/fuzz with `-sanitize=fuzzer,address -DFUZZING` (libFuzzer drives
/// `LLVMFuzzerTestOneInput`; the target is named by DLTRAIN_FUZZ_TARGET). Built plainly, it is
/// a replayer: `dltrain-fuzz TARGET FILE...` runs files (the regression inputs under
/// fuzz/regressions/) through a target and reports each outcome.
enum FuzzTarget: String, CaseIterable {
    case config, sweep, csv, hdf5, checkpoint

    var fileExtension: String {
        switch self {
        case .config, .sweep: "json"
        case .csv: "csv"
        case .hdf5, .checkpoint: "h5"
        }
    }

    /// Loads `path` as this kind of file; returns a one-line account of what was read.
    func load(_ path: String) throws -> String {
        switch self {
        case .config:
            let config = try Config.load(path)
            return "config: \(config.model.layers.count) layers"
        case .sweep:
            let spec = try SweepSpec.load(path)
            return "sweep: \(spec.parameters.count) parameters"
        case .csv:
            var spec = SourceSpec(path: path, target: [])
            spec.missing = .mean
            let columns = try CSVReader.columns(spec)
            spec.target = [.index(columns.count - 1)]
            let data = try CSVReader.read(spec, kind: .categorical(classes: nil))
            return "csv: \(data.rows) rows of \(data.columns)"
        case .hdf5:
            let file = try HDF5File.open(path)
            var scalars = 0
            for name in file.datasetNames {
                scalars += (try? file.read(name, as: Float.self).values.count) ?? 0
                _ = try? file.readText(name)
            }
            return "hdf5: \(file.datasetNames.count) datasets, \(scalars) values"
        case .checkpoint:
            let description = try Inspection.describe(path)
            return "checkpoint: \(description.count) characters described"
        }
    }
}

/// The input's file: in /dev/shm when there is one (a file per execution, so memory-backed).
private let scratchDirectory = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()

#if FUZZING
private let target: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["DLTRAIN_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        fatalError("set DLTRAIN_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()
private let inputPath = "\(scratchDirectory)/dltrain-fuzz-\(getpid()).\(target.fileExtension)"

private func fuzzOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    guard let bytes, FileManager.default.createFile(atPath: inputPath, contents: Data(bytes: bytes, count: count)) else { return 0 }
    _ = try? target.load(inputPath)
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                             _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// SwiftPM names an executable module's entry point after the module (it links `main` to
/// it), so libFuzzer's own `main` cannot be used: the entry point hands over to its driver.
@_cdecl("dltrain_fuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc, vector = argv
    return runFuzzerDriver(&count, &vector, fuzzOneInput)
}
#else
@main
struct Replay {
    static func main() {
        // HDF5 files are read as dltrain reads them: vetted first in a child process.
        HDF5Isolation.runTrialIfAsked()
        Checkpoint.runTrialIfAsked()
        HDF5Isolation.executable = "/proc/self/exe"
        Checkpoint.isolatedTrial = { try Checkpoint.spawnTrial(of: $0, executable: "/proc/self/exe") }
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: dltrain-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...")
            exit(2)
        }
        for file in arguments.dropFirst() {
            // Through a copy with the target's extension, as the fuzzer feeds it.
            let copy = "\(scratchDirectory)/dltrain-replay-\(getpid()).\(target.fileExtension)"
            try? FileManager.default.removeItem(atPath: copy)
            do {
                try FileManager.default.copyItem(atPath: file, toPath: copy)
                print("\(file): ok, \(try target.load(copy))")
            } catch {
                print("\(file): refused, \(String(describing: error).prefix(160))")
            }
            try? FileManager.default.removeItem(atPath: copy)
        }
    }
}
#endif
