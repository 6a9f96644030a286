import DLCore
import DLData
import DLNN
import Foundation

/// A checkpoint: an HDF5 file with everything needed to evaluate, predict, export or resume.
///
///     parameters/LAYER/NAME    float32, the parameter's shape (dense_0/kernel (in, out), dense_0/bias (out), ...)
///     optimizer/NAME           float32 (P): the optimizer's state buffers over the flat parameter vector
///     best_parameters          float32 (P): the best epoch's weights, for restore_best (when recorded)
///     preprocessing/NAME       float32: fill, shift, scale, pca_mean, projection (D, k), target_shift, target_scale
///     meta/config.json         uint8 (UTF-8 text): the resolved config
///     meta/state.json          uint8 (UTF-8 text): epoch, random states, early-stopping state... (``TrainingState``)
///     history/NAME             float64 (epochs): epoch, lr, seconds, smoothed_loss, metrics/METRIC per epoch
///     meta/model.json          uint8 (UTF-8 text): feature names, class names, preprocessing settings, dltrain version, date
///
/// Writes are atomic (``HDF5File/writeAtomically(_:_:)``): a crash leaves the previous file.
public struct Checkpoint {
    public var config: JSON
    public var state: TrainingState
    public var parameters: [String: (shape: [Int], values: [Float])]
    public var optimizer: [String: [Float]]
    public var bestParameters: [Float]?
    public var preprocessor: Preprocessor
    public var classNames: [String]
    public var featureNames: [String]
    public var targetNames: [String]
    public var dltrainVersion: String
    public var created: String
    /// A table's column encoding (meta/table.json), when the model was trained on one.
    public var table: TableEncoder? = nil
    /// The temperature and threshold fitted after training (meta/model.json "decisions").
    public var decisions = Decisions()

    /// What a checkpoint saves, as views of the trainer's buffers: nothing is copied.
    struct Contents {
        let config: Config
        let graph: Graph
        let parameters: ParameterStore<Float>
        let optimizerState: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)]
        let optimizerSteps: Int
        let state: TrainingState
        let bestParameters: [Float]?
        let data: TrainingData
        let decisions: Decisions
    }

    /// Saves `contents` to `path`.
    static func write(_ path: String, _ trainer: Contents) throws {
        let state = trainer.state, bestParameters = trainer.bestParameters
        // The texts grow with the history, so each write frees buffers a little smaller than
        // the next one needs: glibc keeps them, and the resident size would creep up by a few
        // KB an epoch over a long run. Returning free memory to the system keeps it flat.
        defer { returnFreeMemory() }
        try HDF5File.writeAtomically(path) { file in
            let graph = trainer.graph, store = trainer.parameters
            for spec in graph.parameters {
                try file.write("parameters/\(spec.name)", shape: spec.shape, values: UnsafeBufferPointer(store.values(of: spec)))
            }
            for (name, buffer) in trainer.optimizerState {
                try file.write("optimizer/\(name)", shape: [buffer.count], values: UnsafeBufferPointer(buffer))
            }
            if let bestParameters { try file.write("best_parameters", shape: [bestParameters.count], values: bestParameters) }
            if let pause = FaultInjection.fromEnvironment().checkpointPauseMilliseconds {
                file.flush()
                usleep(UInt32(pause) * 1000)  // a test kills the process here, mid-write
            }
            let p = trainer.data.preprocessor
            let arrays: [(String, [Float]?, [Int]?)] = [
                ("fill", p.fill, nil), ("shift", p.shift, nil), ("scale", p.scale, nil), ("pca_mean", p.pcaMean, nil),
                ("projection", p.projection, [p.transformedColumns, p.components ?? 0]), ("target_shift", p.targetShift, nil), ("target_scale", p.targetScale, nil),
            ]
            for (name, values, shape) in arrays {
                guard let values else { continue }
                try file.write("preprocessing/\(name)", shape: shape ?? [values.count], values: values)
            }
            try file.writeText("meta/config.json", trainer.config.resolved.rendered())
            var saved = state
            saved.optimizerSteps = trainer.optimizerSteps
            try file.writeText("meta/state.json", saved.json().rendered())
            try saved.writeHistory(to: file)
            let model = JSON.object([
                ("task", .string(trainer.config.task.rawValue)),
                ("classes", .array(trainer.data.classNames.map(JSON.string))),
                ("features", .array(trainer.data.featureNames.map(JSON.string))),
                ("targets", .array(trainer.data.targetNames.map(JSON.string))),
                ("image_shape", trainer.data.imageShape.map { .array($0.map { JSON.number(Double($0)) }) } ?? .null),
                ("preprocessing", .object([
                    ("scaling", .string(p.spec.scaling.rawValue)), ("pca_components", .number(Double(p.components ?? 0))),
                    ("whiten", .bool(p.spec.whiten)), ("input_columns", .number(Double(p.inputColumns))),
                    ("passthrough_columns", .number(Double(p.passthroughColumns))),
                    ("explained_variance", .array(p.explainedVariance.map(JSON.number))),
                    ("kept_variance_fraction", p.keptVarianceFraction.map(JSON.number) ?? .null),
                ])),
                ("decisions", trainer.decisions.json()),
                ("optimizer", .object([("name", .string(trainer.config.optimizer.name)), ("steps", .number(Double(trainer.optimizerSteps)))])),
                ("dltrain_version", .string(DLTrain.dltrainVersion)),
                ("created", .string(utcTimestamp())),
            ])
            try file.writeText("meta/model.json", model.rendered())
            if let table = trainer.data.table {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try file.writeText("meta/table.json", String(decoding: try encoder.encode(table), as: UTF8.self))
            }
        }
    }


    /// Now as ISO 8601 UTC ("2026-11-23T02:42:41Z"), from the C library: Foundation's
    /// ISO8601DateFormatter loads ICU's calendar and time-zone data, about 5 MiB of resident
    /// memory for one string per checkpoint.
    static func utcTimestamp() -> String {
        var seconds = time(nil)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ x: Int32) -> String { x < 10 ? "0\(x)" : "\(x)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }

    /// Installed by the executable: reads `path` as ``read(_:)`` does, in a child process,
    /// the same reads in the same order (a libhdf5 crash on a damaged file can depend on the
    /// order, so the generic vetting of ``HDF5Isolation`` may miss one that this catches).
    /// Nil (library use, tests): read in-process.
    nonisolated(unsafe) public static var isolatedTrial: ((String) throws -> Void)?

    /// The environment variable that makes a dltrain process the isolated reader of one checkpoint.
    public static let trialVariable = "DLTRAIN_CHECKPOINT_TRIAL"

    /// In a process started by ``spawnTrial(of:executable:)``: reads the checkpoint and exits
    /// (0 read, 2 refused; a crash ends it by its signal). Returns when this is not such a process.
    public static func runTrialIfAsked() {
        guard let path = ProcessInfo.processInfo.environment[trialVariable] else { return }
        do {
            _ = try readInProcess(path)
            exit(0)
        } catch {
            exit(2)
        }
    }

    /// Runs `executable` as the isolated reader of `path`; throws when libhdf5 crashed on it.
    public static func spawnTrial(of path: String, executable: String) throws {
        if let signal = try HDF5Isolation.crashSignal(running: executable, with: trialVariable, set: path) {
            throw DataError(file: path, "not a dltrain checkpoint: reading it crashed libhdf5 (signal \(signal)); the file is damaged or crafted")
        }
        HDF5Isolation.vouch(forFile: path)
    }

    /// Reads and checks `path`: a file that is not one of ours, or is damaged, is a clear error.
    public static func read(_ path: String) throws -> Checkpoint {
        try isolatedTrial?(path)
        return try readInProcess(path)
    }

    private static func readInProcess(_ path: String) throws -> Checkpoint {
        let file = try HDF5File.open(path)
        func notOurs(_ why: String) -> DataError { DataError(file: path, "not a dltrain checkpoint (\(why))") }
        for required in ["meta/config.json", "meta/state.json", "meta/model.json"] where !file.contains(required) {
            throw notOurs("it has no \(required)")
        }
        func json(_ name: String) throws -> JSON {
            do { return try JSON.parse(try file.readText(name)) } catch { throw notOurs("\(name) does not parse: \(error)") }
        }
        let model = try json("meta/model.json"), config: JSON
        do {
            // Never trusted: a damaged or crafted file must fail here, not deep in the config's readers.
            config = try ConfigSchema.root.validate(try json("meta/config.json"), file: "\(path):meta/config.json")
        } catch let error as ConfigError {
            throw notOurs("its stored config is not valid for this dltrain: \(error)")
        }
        var state = try TrainingState(json: try json("meta/state.json"), file: path)
        try state.readHistory(from: file)
        var parameters: [String: (shape: [Int], values: [Float])] = [:]
        for name in file.datasetNames where name.hasPrefix("parameters/") {
            let (shape, values) = try file.read(name, as: Float.self)
            parameters[String(name.dropFirst("parameters/".count))] = (shape, values)
        }
        var optimizer: [String: [Float]] = [:]
        for name in file.datasetNames where name.hasPrefix("optimizer/") {
            optimizer[String(name.dropFirst("optimizer/".count))] = try file.read(name, as: Float.self).values
        }
        let best = file.contains("best_parameters") ? try file.read("best_parameters", as: Float.self).values : nil
        func array(_ name: String) throws -> [Float]? {
            file.contains("preprocessing/\(name)") ? try file.read("preprocessing/\(name)", as: Float.self).values : nil
        }
        let passthrough = model["preprocessing"]?["passthrough_columns"]?.number ?? 0
        guard let pre = model["preprocessing"], let columns = pre["input_columns"]?.number, columns >= 1, passthrough >= 0, passthrough <= columns,
              let shift = try array("shift"), let scale = try array("scale"), shift.count == Int(columns - passthrough), scale.count == shift.count else {
            throw notOurs("its preprocessing is incomplete")
        }
        let transformed = Int(columns - passthrough)
        var spec = PreprocessSpec()
        spec.scaling = PreprocessSpec.Scaling(rawValue: pre["scaling"]?.string ?? "none") ?? .none
        spec.whiten = pre["whiten"]?.bool ?? false
        let projection = try array("projection")
        if let projection, transformed == 0 || projection.count % transformed != 0 { throw notOurs("preprocessing/projection does not fit \(transformed) inputs") }
        spec.pcaComponents = projection.map { $0.count / transformed }
        let targetShift = try array("target_shift")
        spec.standardizeTargets = targetShift != nil
        let preprocessor = Preprocessor(spec: spec, inputColumns: Int(columns), passthroughColumns: Int(passthrough), fill: try array("fill"), shift: shift, scale: scale,
                                        pcaMean: try array("pca_mean"), projection: projection,
                                        explainedVariance: pre["explained_variance"]?.items?.compactMap(\.number) ?? [],
                                        keptVarianceFraction: pre["kept_variance_fraction"]?.number, targetShift: targetShift,
                                        targetScale: try array("target_scale"))
        var decoded: TableEncoder? = nil
        if file.contains("meta/table.json") {
            let table: TableEncoder?
            do {
                table = try JSONDecoder().decode(TableEncoder.self, from: Data(try file.readText("meta/table.json").utf8))
            } catch {
                throw notOurs("meta/table.json does not decode: \(error)")
            }
            // Before layouts were stored, inputs were in column order: the same order when no one-hot block precedes a number.
            let oneHot = table?.columns.firstIndex { $0.kind == .category && !$0.isEmbedded }
            let lastNumber = table?.columns.lastIndex { $0.kind != .category }
            let sameOrder = oneHot == nil || lastNumber == nil || oneHot! > lastNumber!
            guard var table, table.layout == TableEncoder.currentLayout || (table.layout == nil && sameOrder) else {
                throw DataError(file: path, "was written by an earlier dltrain that laid a table's inputs out in column order; this one puts the numeric block first. Retrain it (the run's config.json reproduces it)")
            }
            guard table.isConsistent, table.width == Int(columns), table.width - table.numericWidth == Int(passthrough) else {
                throw notOurs("meta/table.json does not describe its \(Int(columns)) inputs")
            }
            table.layout = TableEncoder.currentLayout
            decoded = table
        }
        var checkpoint = Checkpoint(config: config, state: state, parameters: parameters, optimizer: optimizer, bestParameters: best,
                          preprocessor: preprocessor, classNames: model["classes"]?.items?.compactMap(\.string) ?? [],
                          featureNames: model["features"]?.items?.compactMap(\.string) ?? [],
                          targetNames: model["targets"]?.items?.compactMap(\.string) ?? [],
                          dltrainVersion: model["dltrain_version"]?.string ?? "?", created: model["created"]?.string ?? "?")
        checkpoint.table = decoded
        checkpoint.decisions = Decisions(json: model["decisions"])
        let (temperature, threshold) = (checkpoint.decisions.temperature, checkpoint.decisions.threshold)
        guard temperature.isFinite && temperature > 0, threshold.map({ $0 > 0 && $0 < 1 }) ?? true else {
            throw notOurs("its decisions (temperature \(temperature), threshold \(threshold.map { "\($0)" } ?? "none")) are out of range")
        }
        return checkpoint
    }

    /// The stored config, the model it describes (on the preprocessed width) and a store
    /// holding the checkpoint's weights, every parameter checked by name and shape.
    func restoredModel(path: String) throws -> (config: Config, model: Model, parameters: ParameterStore<Float>) {
        let config: Config
        do {
            config = try Config(resolved: self.config, file: path, raw: self.config, validated: true)
        } catch {
            throw DataError(file: path, "its stored config is not valid for this dltrain (\(error)); it was written by dltrain \(dltrainVersion)")
        }
        let model = try Model(inputs: preprocessor.outputColumns, spec: config.model.embedding(table))
        let store = ParameterStore<Float>(for: model.graph)
        try load(into: store, graph: model.graph, path: path)
        return (config, model, store)
    }

    /// Copies the checkpoint's parameters into `store` for `graph`: every parameter by name,
    /// shapes checked. `onlyMatching` (transfer learning) skips absent or differently shaped
    /// ones instead of failing, and returns the names loaded.
    @discardableResult
    func load(into store: ParameterStore<Float>, graph: Graph, onlyMatching: Bool = false, path: String) throws -> [String] {
        var loaded: [String] = []
        for spec in graph.parameters {
            guard let saved = parameters[spec.name] else {
                if onlyMatching { continue }
                throw DataError(file: path, "has no parameter \(spec.name); it was saved from a different model (its parameters: \(parameters.keys.sorted().prefix(8).joined(separator: ", ")))")
            }
            guard saved.shape == spec.shape, saved.values.count == spec.count else {
                if onlyMatching { continue }
                throw DataError(file: path, "parameter \(spec.name) has shape \(Shape(saved.shape)) but the model's is \(Shape(spec.shape)); the model changed since the checkpoint")
            }
            let window = store.values(of: spec)
            for i in 0..<spec.count { window[i] = saved.values[i] }
            loaded.append(spec.name)
        }
        return loaded
    }
}
