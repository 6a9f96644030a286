import DLCore
import DLData
import DLNN
import Foundation

/// Predictions from one checkpoint or an ensemble of several (the lecture's "train multiple
/// independent models, average their predicted distributions").
///
/// Each member applies its own stored preprocessing to the raw features and runs in
/// evaluation mode (no dropout, batch-norm running statistics). Classification outputs are
/// probabilities (softmax of the logits; of the hinge loss's scores too; a sigmoid and its
/// complement for binary tasks), each member's divided by its fitted temperature
/// (``Decisions``), averaged over members; a binary task decides at the first member's
/// threshold unless told another (`--threshold`), and says so when the members' differ
/// (``thresholdNote``). Regression outputs are in the
/// target's own units, averaged; for gaussian_nll models also a standard deviation, the
/// ensemble's as a mixture's: √(mean(σ² + μ²) − mean(μ)²).
public final class Predictor {
    public struct Member {
        public let path: String
        public let config: Config
        public let model: Model
        public let checkpoint: Checkpoint
        let executor: Executor<Float>
    }

    public let members: [Member]
    public let task: Config.Task
    public let classNames: [String]
    /// Raw feature columns every member expects.
    public let inputColumns: Int
    public let featureNames: [String]
    public let targetWidth: Int
    public let batchCapacity: Int
    /// Whether every member predicts a spread (gaussian_nll).
    public let hasSpread: Bool
    /// Binary tasks: the decision threshold on p₁ (nil: the argmax).
    public var threshold: Double?
    /// A binary ensemble's members' stored thresholds (nil: the argmax) when they differ;
    /// nil when they agree, for one checkpoint and for other tasks.
    public let memberThresholds: [Double?]?
    /// Whether `--threshold` replaced the stored threshold.
    public private(set) var thresholdOverridden = false
    private var raw: [Float]
    private var squares: [Float]

    public init(paths: [String], batchCapacity: Int = 1024) throws {
        guard !paths.isEmpty else { throw DataError(file: "", "no checkpoint given") }
        var members: [Member] = []
        for path in paths {
            let checkpoint = try Checkpoint.read(path)
            let (config, model, store) = try checkpoint.restoredModel(path: path)
            let executor = try Executor(graph: model.graph, parameters: store, batchCapacity: batchCapacity, gradients: false)
            executor.training = false
            members.append(Member(path: path, config: config, model: model, checkpoint: checkpoint, executor: executor))
        }
        let first = members[0]
        for m in members.dropFirst() {
            func differ(_ what: String, _ a: String, _ b: String) -> DataError {
                DataError(file: m.path, "cannot join an ensemble with \(first.path): its \(what) (\(b)) differs from \(a)")
            }
            if m.config.task != first.config.task { throw differ("task", first.config.task.rawValue, m.config.task.rawValue) }
            if m.checkpoint.classNames != first.checkpoint.classNames {
                throw differ("classes", first.checkpoint.classNames.joined(separator: ", "), m.checkpoint.classNames.joined(separator: ", "))
            }
            if m.checkpoint.table != first.checkpoint.table {
                throw differ("table encoding (columns, levels, fitted statistics)", first.checkpoint.table == nil ? "none" : "its own", m.checkpoint.table == nil ? "none" : "another")
            }
            if m.checkpoint.preprocessor.inputColumns != first.checkpoint.preprocessor.inputColumns {
                throw differ("feature count", "\(first.checkpoint.preprocessor.inputColumns)", "\(m.checkpoint.preprocessor.inputColumns)")
            }
            if m.model.outputUnits / m.config.model.loss.kind.outputsPerTarget != first.model.outputUnits / first.config.model.loss.kind.outputsPerTarget {
                throw differ("number of targets", "\(first.model.outputUnits)", "\(m.model.outputUnits)")
            }
        }
        self.members = members
        task = first.config.task
        classNames = first.checkpoint.classNames
        inputColumns = first.checkpoint.preprocessor.inputColumns
        featureNames = first.checkpoint.featureNames
        targetWidth = task == .regression ? first.model.outputUnits / first.config.model.loss.kind.outputsPerTarget : 1
        hasSpread = members.allSatisfy { $0.config.model.loss.kind == .gaussianNLL }
        threshold = task == .binary ? first.checkpoint.decisions.threshold : nil
        let stored = members.map { $0.checkpoint.decisions.threshold }
        memberThresholds = task == .binary && stored.contains(where: { $0 != stored[0] }) ? stored : nil
        self.batchCapacity = batchCapacity
        raw = [Float](repeating: 0, count: batchCapacity * Swift.max(inputColumns, members.map { $0.checkpoint.preprocessor.outputColumns }.max()!))
        squares = [Float](repeating: 0, count: batchCapacity * targetWidth)
    }

    /// Decides binary rows at `threshold` instead of the checkpoint's (`--threshold`).
    public func override(threshold: Double?) throws {
        guard let threshold else { return }
        guard task == .binary else {
            throw DataError(file: members[0].path, "--threshold applies to binary tasks, but this model's task is \"\(task.rawValue)\" (its decision is the most probable class)")
        }
        guard threshold > 0 && threshold < 1 else {
            throw DataError(file: members[0].path, "--threshold \(threshold) is outside (0, 1); it is the probability of \"\(classNames[1])\" at which a row is decided positive")
        }
        self.threshold = threshold
        thresholdOverridden = true
    }

    /// What `eval` and `predict` say when a binary ensemble's members stored different
    /// thresholds and `--threshold` did not choose one: which decides. Nil otherwise.
    public var thresholdNote: String? {
        guard let memberThresholds, !thresholdOverridden else { return nil }
        let listed = memberThresholds.map { $0.map { String(format: "%g", $0) } ?? "the argmax" }
        return "the members' stored thresholds differ (\(listed.joined(separator: ", "))): the ensemble decides at the first's (\(listed[0])); --threshold T decides at T"
    }

    /// The decided class of row `r` of probabilities `out` (rows × outputWidth).
    public func decided(_ out: UnsafePointer<Float>, row r: Int) -> Int {
        decidedClass(out + r * outputWidth, width: outputWidth, threshold: threshold)
    }

    /// Values per row: one probability per class, or one value per target.
    public var outputWidth: Int { task == .regression ? targetWidth : classNames.count }

    /// Predicts `rows` (at most ``batchCapacity``) rows of raw features (rows × inputColumns)
    /// into `out` (rows × outputWidth) and, with a spread, `spread` (rows × targetWidth).
    public func predict(_ features: UnsafePointer<Float>, rows n: Int, into out: UnsafeMutablePointer<Float>, spread: UnsafeMutablePointer<Float>? = nil) {
        precondition(n <= batchCapacity, "\(n) rows exceed the batch capacity \(batchCapacity)")
        let width = outputWidth
        out.update(repeating: 0, count: n * width)
        squares.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        for member in members {
            let e = member.executor, p = member.checkpoint.preprocessor
            e.rows = n
            raw.withUnsafeMutableBufferPointer { scratch in
                scratch.baseAddress!.update(from: features, count: n * inputColumns)
                p.transform(scratch.baseAddress!, rows: n, into: e.buffer(member.model.features).baseAddress!)
            }
            e.forward()
            let z = e.buffer(member.model.outputs), units = member.model.outputUnits
            switch member.config.model.loss.kind {
            case .crossEntropy, .hinge, .binaryCrossEntropy:
                member.checkpoint.decisions.addProbabilities(outputs: UnsafePointer(z.baseAddress!), rows: n, units: units, into: out)
            case .gaussianNLL:
                for r in 0..<n {
                    for k in 0..<targetWidth {
                        var mean = z[(r * targetWidth + k) * 2], variance = softplus(z[(r * targetWidth + k) * 2 + 1]) + 1e-6
                        if let shift = p.targetShift, let scale = p.targetScale {
                            mean = mean / scale[k] + shift[k]
                            variance /= scale[k] * scale[k]
                        }
                        out[r * width + k] += mean
                        squares[r * targetWidth + k] += variance + mean * mean
                    }
                }
            default:
                for r in 0..<n {
                    for k in 0..<targetWidth {
                        var value = z[r * targetWidth + k]
                        if let shift = p.targetShift, let scale = p.targetScale { value = value / scale[k] + shift[k] }
                        out[r * width + k] += value
                    }
                }
            }
        }
        let m = Float(members.count)
        for i in 0..<(n * width) { out[i] /= m }
        if hasSpread, let spread {
            for r in 0..<n {
                for k in 0..<targetWidth {
                    let mean = out[r * width + k]
                    spread[r * targetWidth + k] = Swift.max(0, squares[r * targetWidth + k] / m - mean * mean).squareRoot()
                }
            }
        }
    }

    private func softplus(_ x: Float) -> Float { Swift.max(x, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(x))) }

    /// The source to read a data file as the first member's training data was read: target
    /// column(s), features dataset, CSV dialect, missing-value policy; `path` relative to the
    /// working directory. `withTarget` false drops the target (prediction inputs).
    public func source(for path: String, withTarget: Bool) -> SourceSpec {
        let train = members[0].config.data.train
        var spec = SourceSpec(path: path, target: withTarget ? train.target : [], features: train.features)
        spec.header = train.header
        spec.delimiter = train.delimiter
        spec.missing = train.missing == .drop ? .drop : (train.missing == .mean ? .mean : .error)
        return spec
    }

    /// How target cells are read: with the checkpoint's classes, strictly.
    public var targetKind: TargetKind { task == .regression ? .numeric : .categorical(classes: classNames) }
}
