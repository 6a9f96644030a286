import DLCore
import DLData
import DLOptim
import Foundation

/// Everything besides weights and optimizer buffers that an exact resume needs, saved in
/// every checkpoint as `meta/state.json` (the history as numeric datasets beside it, see
/// ``Checkpoint``). Random-generator states are four 64-bit words written as decimal strings
/// (JSON numbers would round them).
public struct TrainingState: Sendable {
    /// Epochs completed.
    public var epoch = 0
    /// Batches completed of epoch `epoch + 1` (0 at an epoch boundary; more after an interrupt).
    public var stepInEpoch = 0
    /// The shuffling and augmentation generators as they were when epoch `epoch + 1` began.
    public var shuffleAtEpochStart: RandomSource?
    public var augmentAtEpochStart: RandomSource?
    /// The dropout generator now.
    public var dropout: RandomSource?
    public var history: [EpochRecord] = []
    /// Early stopping: the best monitored value and its epoch, epochs waited since.
    public var bestValue: Double?
    public var bestEpoch = 0
    public var waited = 0
    /// The best value of the checkpoint monitor (decides best.h5) and its epoch.
    public var checkpointBest: Double?
    public var checkpointBestEpoch = 0
    public var plateau = PlateauState()
    /// Moving average of the per-step training loss, bias-corrected (the lectures' tip).
    public var lossAverage = 0.0
    public var averagedSteps = 0
    /// The unfinished epoch's sums (for its metrics after a mid-epoch resume).
    public var partialLoss = 0.0
    public var partialRows = 0
    public var partialCorrect = 0
    /// Non-finite handling: rollbacks so far, the learning-rate factor they left, batches skipped.
    public var rollbacks = 0
    public var rateScale = 1.0
    public var skippedBatches = 0
    public var stoppedEarly = false
    /// Optimizer updates so far (Adam's bias correction depends on it).
    public var optimizerSteps = 0
    /// How the step's products are computed; a resume reuses it, since the route decides the
    /// rounding. Empty: the rule's route for every shape (as in checkpoints written before plans
    /// were measured).
    public var productPlan = ProductPlan()

    public init() {}

    static let smoothing = 0.98

    /// Adds a step's loss to the moving average; returns the bias-corrected average.
    mutating func average(_ loss: Double) -> Double {
        averagedSteps += 1
        lossAverage = TrainingState.smoothing * lossAverage + (1 - TrainingState.smoothing) * loss
        return smoothedLoss
    }

    var smoothedLoss: Double { lossAverage / (1 - pow(TrainingState.smoothing, Double(averagedSteps))) }

    // MARK: JSON

    func json() -> JSON {
        func rng(_ r: RandomSource?) -> JSON {
            guard let r else { return .null }
            let s = r.state
            return .array([s.0, s.1, s.2, s.3].map { JSON.string(String($0)) })
        }
        func number(_ x: Double?) -> JSON { x.map { JSON.number($0) } ?? .null }
        return .object([
            ("format", .string("dltrain-checkpoint")), ("version", .number(1)),
            ("epoch", .number(Double(epoch))), ("step_in_epoch", .number(Double(stepInEpoch))),
            ("rng_shuffle_at_epoch_start", rng(shuffleAtEpochStart)), ("rng_augment_at_epoch_start", rng(augmentAtEpochStart)),
            ("rng_dropout", rng(dropout)),
            ("best_value", number(bestValue)), ("best_epoch", .number(Double(bestEpoch))), ("waited", .number(Double(waited))),
            ("checkpoint_best", number(checkpointBest)), ("checkpoint_best_epoch", .number(Double(checkpointBestEpoch))),
            ("plateau", .object([("best", number(plateau.best)), ("waited", .number(Double(plateau.waited))), ("reductions", .number(Double(plateau.reductions)))])),
            ("loss_average", .number(lossAverage)), ("averaged_steps", .number(Double(averagedSteps))),
            ("partial", .object([("loss", .number(partialLoss)), ("rows", .number(Double(partialRows))), ("correct", .number(Double(partialCorrect)))])),
            ("rollbacks", .number(Double(rollbacks))), ("rate_scale", .number(rateScale)), ("skipped_batches", .number(Double(skippedBatches))),
            ("stopped_early", .bool(stoppedEarly)), ("optimizer_steps", .number(Double(optimizerSteps))),
            ("product_plan", .object(productPlan.entries.map { ($0.shape.description, .string($0.route.rawValue)) })),
        ])
    }

    init(json j: JSON, file: String) throws {
        func fail(_ what: String) -> DataError { DataError(file: file, "meta/state.json: \(what); the checkpoint is damaged or not dltrain's") }
        guard j["format"]?.string == "dltrain-checkpoint" else { throw fail("no \"format\": \"dltrain-checkpoint\"") }
        guard j["version"]?.number == 1 else { throw fail("version \(j["version"].map { "\($0)" } ?? "missing") is not one this dltrain reads (1)") }
        func int(_ key: String, in node: JSON? = nil) throws -> Int {
            guard let x = (node ?? j)[key]?.number, x == x.rounded(), x >= 0, x < 1e15 else { throw fail("\(key) is missing or not a count") }
            return Int(x)
        }
        func double(_ key: String, in node: JSON? = nil) throws -> Double {
            guard let x = (node ?? j)[key]?.number else { throw fail("\(key) is missing") }
            return x
        }
        func optionalDouble(_ key: String, in node: JSON? = nil) -> Double? { (node ?? j)[key]?.number }
        func rng(_ key: String) throws -> RandomSource? {
            guard let node = j[key], node != .null else { return nil }
            guard let words = node.items?.compactMap({ $0.string.flatMap { UInt64($0) } }), words.count == 4 else { throw fail("\(key) is not four 64-bit words") }
            return RandomSource(state: (words[0], words[1], words[2], words[3]))
        }
        epoch = try int("epoch")
        stepInEpoch = try int("step_in_epoch")
        shuffleAtEpochStart = try rng("rng_shuffle_at_epoch_start")
        augmentAtEpochStart = try rng("rng_augment_at_epoch_start")
        dropout = try rng("rng_dropout")
        bestValue = optionalDouble("best_value")
        bestEpoch = try int("best_epoch")
        waited = try int("waited")
        checkpointBest = optionalDouble("checkpoint_best")
        checkpointBestEpoch = try int("checkpoint_best_epoch")
        guard let p = j["plateau"] else { throw fail("plateau is missing") }
        plateau.best = optionalDouble("best", in: p)
        plateau.waited = try int("waited", in: p)
        plateau.reductions = try int("reductions", in: p)
        lossAverage = try double("loss_average")
        averagedSteps = try int("averaged_steps")
        guard let partial = j["partial"] else { throw fail("partial is missing") }
        partialLoss = try double("loss", in: partial)
        partialRows = try int("rows", in: partial)
        partialCorrect = try int("correct", in: partial)
        rollbacks = try int("rollbacks")
        rateScale = try double("rate_scale")
        skippedBatches = try int("skipped_batches")
        stoppedEarly = j["stopped_early"]?.bool ?? false
        optimizerSteps = try int("optimizer_steps")
        if let plan = j["product_plan"] {
            guard let members = plan.members else { throw fail("product_plan is not an object") }
            productPlan = ProductPlan(entries: try members.map { member in
                guard let shape = ProductShape(text: member.key), let route = member.value.string.flatMap(ProductRoute.init(rawValue:)) else {
                    throw fail("product_plan entry \"\(member.key)\": \(member.value) is not a product shape (such as \"NT 128x512x256\") with a route (\(ProductRoute.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                return (shape, route)
            })
        }
    }
}

/// The per-epoch history as columns: one float64 dataset each for the epoch numbers,
/// learning rates, seconds, smoothed losses and every metric (NaN where an epoch has none).
/// Numbers, not text: a long run's checkpoint stays cheap to write and to hold in memory.
extension TrainingState {
    static let historyGroup = "history"

    func writeHistory(to file: HDF5File) throws {
        let n = history.count
        func column(_ name: String, _ value: (EpochRecord) -> Double) throws {
            try file.write("\(TrainingState.historyGroup)/\(name)", shape: [n], values: history.map(value), type: .float64)
        }
        try column("epoch") { Double($0.epoch) }
        try column("lr") { $0.learningRate }
        try column("seconds") { $0.seconds }
        try column("smoothed_loss") { $0.smoothedLoss ?? .nan }
        for name in Set(history.flatMap(\.metrics.keys)).sorted() {
            try column("metrics/\(name)") { $0.metrics[name] ?? .nan }
        }
    }

    mutating func readHistory(from file: HDF5File) throws {
        func fail(_ what: String) -> DataError { DataError(file: file.path, "\(TrainingState.historyGroup)/: \(what); the checkpoint is damaged or not dltrain's") }
        func column(_ name: String) throws -> [Double] {
            let path = "\(TrainingState.historyGroup)/\(name)"
            guard file.contains(path) else { throw fail("\(name) is missing") }
            return try file.read(path, as: Double.self).values
        }
        let epochs = try column("epoch"), rates = try column("lr"), seconds = try column("seconds"), smoothed = try column("smoothed_loss")
        let n = epochs.count
        guard rates.count == n, seconds.count == n, smoothed.count == n else { throw fail("its columns differ in length") }
        guard epochs.allSatisfy({ $0 >= 1 && $0 < 1e15 && $0 == $0.rounded() }) else { throw fail("epoch holds something that is not an epoch number") }
        var metrics: [(String, [Double])] = []
        let prefix = "\(TrainingState.historyGroup)/metrics/"
        for path in file.datasetNames where path.hasPrefix(prefix) {
            let values = try column("metrics/" + path.dropFirst(prefix.count))
            guard values.count == n else { throw fail("\(path) has \(values.count) values for \(n) epochs") }
            metrics.append((String(path.dropFirst(prefix.count)), values))
        }
        history = (0..<n).map { k in
            var values: [String: Double] = [:]
            for (name, column) in metrics where !column[k].isNaN { values[name] = column[k] }
            return EpochRecord(epoch: Int(epochs[k]), metrics: values, learningRate: rates[k], seconds: seconds[k],
                               smoothedLoss: smoothed[k].isNaN ? nil : smoothed[k])
        }
    }
}
