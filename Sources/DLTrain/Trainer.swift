import DLCore
import DLData
import DLNN
import DLOptim
import Foundation

/// A run that failed after it started (diverged, could not write): exit code 1.
public struct RunFailure: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Trains a model from a ``Config``: minibatches in a reshuffled order each epoch, forward,
/// backward, clipping, one optimizer step per batch (or one L-BFGS iteration over the whole
/// training set per epoch); the learning rate from the schedule; validation metrics, early
/// stopping and checkpoints each epoch; test metrics at the end.
///
/// Everything random draws from streams seeded by the config and saved in checkpoints, so a
/// run resumed from any checkpoint, even one written mid-epoch by Ctrl-C, continues exactly as
/// the uninterrupted run would have (with the same BLAS thread count).
public final class Trainer {
    public let config: Config
    public let data: TrainingData
    public let model: Model
    public let parameters: ParameterStore<Float>
    /// The metric columns of each epoch, in `metrics.csv` order (after `epoch`, before `lr`).
    public let metricColumns: [String]
    /// Wall time spent reading, splitting and fitting the preprocessing.
    public let dataSeconds: Double
    public private(set) var state = TrainingState()
    /// Metrics of the test split after training, when there is one.
    public private(set) var testMetrics: [String: Double]?
    /// Whether the last epoch improved the checkpoint monitor (best.h5 is then rewritten).
    public private(set) var improvedLastEpoch = false
    /// Lines for the console before training (transfer learning, resumption).
    public private(set) var notes: [String] = []
    /// Where the last checkpoint went (set by the checkpoint writer).
    public var lastCheckpoint: String?
    /// With training.snapshots: the snapshot files, the ensemble's validation metrics and the
    /// final model's, computed the same way (set by the checkpoint writer).
    public var snapshotEnsemble: (paths: [String], ensemble: [String: Double], single: [String: Double])?

    public var history: [EpochRecord] { state.history }

    private let firstOrder: Optimizer?
    private let lbfgs: LBFGS?
    private let spans: [Range<Int>]
    private let step: Executor<Float>
    private let evaluation: Executor<Float>
    private let trainLoader: BatchLoader
    private let validationLoader: BatchLoader?
    private let testLoader: BatchLoader?
    private var bestParameters: [Float]?
    private var isClassification: Bool { config.task != .regression }
    private let faults = FaultInjection.fromEnvironment()
    private var globalStep = 0
    /// With DLTRAIN_COUNT_ALLOCATIONS and scripts/malloc-count.so preloaded: the allocation
    /// counter, read around the steady-state steps of epoch 2.
    private let allocationCounter: (@convention(c) () -> Int)? = {
        guard ProcessInfo.processInfo.environment["DLTRAIN_COUNT_ALLOCATIONS"] != nil,
              let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "dltrain_malloc_count") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) () -> Int).self)
    }()
    private var allocationsAtStart = 0

    /// Data parallelism over MPI: the ranks, the global batch every rank gathers (so shuffling
    /// and augmentation are one process's) before computing on its slice, the per-step sums
    /// (loss, correct predictions, a pending interrupt), the backward seed (this slice's share).
    private let replicas: MPI?
    private let globalBatch: (features: UnsafeMutableBufferPointer<Float>, targets: UnsafeMutableBufferPointer<Float>)?
    private let targetsPerRow: Int
    private let stepSums = UnsafeMutablePointer<Double>.allocate(capacity: 3)
    private var seed: [Float] = [1]

    deinit {
        stepSums.deallocate()
        globalBatch?.features.deallocate()
        globalBatch?.targets.deallocate()
    }

    /// Reads the data and builds everything; nothing trains until ``fit(callbacks:)``.
    /// `fold` makes the k-th of K folds the validation split; `resume` continues a checkpoint.
    /// `replicas` trains data-parallel over MPI ranks (every rank constructs its Trainer alike).
    public init(config: Config, fold: (index: Int, count: Int)? = nil, resume: (checkpoint: Checkpoint, path: String)? = nil, replicas: MPI? = nil) throws {
        self.config = config
        self.replicas = replicas
        if let threads = config.threads {
            BLAS.threadCount = threads
        } else if replicas != nil {
            BLAS.threadCount = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount / MPI.localRanks)
        }
        if replicas != nil && config.optimizer.name == "lbfgs" {
            throw ConfigError(file: config.file, path: "optimizer.name", "lbfgs takes full-batch steps and is not data-parallel in dltrain; run it in one process (without mpirun)")
        }
        let started = Date()
        data = try TrainingData(config: config, fold: fold)
        // Reading and splitting leave freed buffers (libhdf5's among them) that glibc would keep.
        returnFreeMemory()
        dataSeconds = Date().timeIntervalSince(started)
        let inputs = data.preprocessor.outputColumns
        if let image = config.data.augment.image, image.shape.reduce(1, *) != data.train.columns {
            throw ConfigError(file: config.file, path: "data.augment.image.shape",
                              "\(image.shape) holds \(image.shape.reduce(1, *)) pixels but the data has \(data.train.columns) features per row")
        }
        do {
            model = try Model(inputs: inputs, spec: config.model)
        } catch let e as ModelError {
            let raw = (try? JSON.parse(String(contentsOfFile: config.file, encoding: .utf8))) ?? config.resolved
            throw config.error(at: "model.\(e.path)", e.message, in: raw)
        }
        var rng = RandomSource(seed: config.seed)
        parameters = try model.initialParameters(rng: &rng)
        spans = trainableSpans(of: model.graph)
        let batch = Swift.min(config.batchSize, data.train.rows)
        // A rank holds its slice of a batch, or the whole of a batch smaller than the group.
        let ranks = replicas?.size ?? 1
        step = try Executor(graph: model.graph, parameters: parameters,
                            batchCapacity: Swift.min(batch, Swift.max((batch + ranks - 1) / ranks, ranks - 1)))
        targetsPerRow = model.graph.shape(model.target).count(rows: 1)
        globalBatch = replicas == nil ? nil : (.allocate(capacity: batch * inputs), .allocate(capacity: batch * targetsPerRow))
        // Dropout masks, data order and augmentation each draw from a stream of their own.
        step.rng = RandomSource(seed: config.seed &+ 0xD20F)
        let evaluationBatch = Swift.max(batch, 256)
        evaluation = try Executor(graph: model.graph, parameters: parameters, batchCapacity: evaluationBatch, gradients: false)
        evaluation.training = false

        let encoding = Trainer.targetEncoding(config, classes: data.classNames.count, targetWidth: data.train.targetWidth)
        let augmenter = config.data.augment.isEmpty ? nil
            : Augmenter(spec: config.data.augment, seed: config.seed &+ 0xA09, batchCapacity: batch,
                        featureWidth: Swift.max(inputs, data.train.columns), targetWidth: encoding.width)
        let fullBatch = config.optimizer.name == "lbfgs"
        trainLoader = BatchLoader(producer: data.train, batchSize: batch, dropLast: config.dropLast && !fullBatch, shuffled: !fullBatch,
                                  preprocessor: data.preprocessor, encoding: encoding, augmenter: augmenter,
                                  seed: config.seed &+ 0x5EED, prefetching: config.prefetch)
        let preprocessor = data.preprocessor
        let heldOut = { (rows: RowProducer?) -> BatchLoader? in
            rows.map { BatchLoader(producer: $0, batchSize: evaluationBatch, shuffled: false, preprocessor: preprocessor,
                                   encoding: encoding, seed: 0, prefetching: false) }
        }
        validationLoader = heldOut(data.validation)
        testLoader = heldOut(data.test)
        metricColumns = config.metricNames

        let o = config.optimizer, count = model.graph.parameterCount, decay = Float(o.weightDecay)
        lbfgs = fullBatch ? LBFGS(parameterCount: count, spans: spans, history: o.history) : nil
        switch o.name {
        case "sgd": firstOrder = SGD(parameterCount: count, spans: spans, momentum: Float(o.momentum), nesterov: o.nesterov, weightDecay: decay)
        case "adagrad": firstOrder = AdaGrad(parameterCount: count, spans: spans, epsilon: Float(o.epsilon ?? 1e-10), weightDecay: decay)
        case "rmsprop": firstOrder = RMSProp(parameterCount: count, spans: spans, decay: Float(o.decay), epsilon: Float(o.epsilon ?? 1e-8), weightDecay: decay)
        case "adam", "adamw":
            firstOrder = Adam(parameterCount: count, spans: spans, beta1: Float(o.betas.0), beta2: Float(o.betas.1), epsilon: Float(o.epsilon ?? 1e-8),
                              weightDecay: decay, decoupled: o.name == "adamw")
        default: firstOrder = nil
        }

        if let path = config.initFrom, resume == nil {
            let source = try Checkpoint.read(path)
            let loaded = try source.load(into: parameters, graph: model.graph, onlyMatching: true, path: path)
            guard !loaded.isEmpty else {
                throw ConfigError(file: config.file, path: "model.init_from", "\(path) has no parameter matching this model by name and shape (it has \(source.parameters.keys.sorted().prefix(6).joined(separator: ", "))); name the layers alike")
            }
            notes.append("initialised \(loaded.count) of \(model.graph.parameters.count) parameters from \(path): \(loaded.joined(separator: ", "))")
        }
        if let (checkpoint, path) = resume { try restore(checkpoint, from: path) }
        if let replicas {
            notes.append("data-parallel over \(replicas.size) MPI ranks: \(batch) rows per step, about \(batch / replicas.size) per rank, \(BLAS.threadCount) BLAS thread\(BLAS.threadCount == 1 ? "" : "s") each; rank 0 writes the run directory")
        }
    }

    /// How targets reach the configured loss: one-hot rows, class indices, or values.
    static func targetEncoding(_ config: Config, classes: Int, targetWidth: Int) -> TargetEncoding {
        switch config.model.loss.kind {
        case .crossEntropy: .oneHot(classes: classes)
        case .hinge: .indices
        default: .values(width: targetWidth)
        }
    }

    /// The last training batch's output of layer `k` (rows × width), for diagnostics.
    public func lastActivations(ofLayer k: Int) -> (values: UnsafeMutableBufferPointer<Float>, rows: Int, width: Int) {
        let (node, width) = model.layerOutputs[k]
        return (step.buffer(node), step.rows, width)
    }

    /// Tells the callbacks something the user should know.
    func notice(_ message: String) throws {
        notes.append(message)
        for c in currentCallbacks { try c.noticed(message, trainer: self) }
    }
    private var currentCallbacks: [TrainingCallback] = []

    /// Seconds since this process started (its re-exec included), from /proc.
    static func processAge() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let uptime = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let start = Double(fields[19]), let now = Double(uptime.split(separator: " ")[0]) else { return nil }
        return now - start / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The Hessian's top eigenvalue on the last training batch, in float64.
    func sharpnessOnLastBatch() throws -> Double {
        let store = ParameterStore<Double>(for: model.graph)
        for i in 0..<parameters.count { store.values[i] = Double(parameters.values[i]) }
        let rows = step.rows
        let batch = lastBatch
        let targetDims = model.graph.shape(model.target).dims.map { $0 == Shape.batch ? rows : $0 }
        let inputs: [NodeID: Tensor<Double>] = [
            model.features: try Tensor(shape: [rows, model.inputs], scalars: Array(batch.features.prefix(rows * model.inputs)).map(Double.init)),
            model.target: try Tensor(shape: targetDims, scalars: Array(batch.targets.prefix(targetDims.reduce(1, *))).map(Double.init)),
        ]
        return try Diagnostics.sharpness(graph: model.graph, parameters: store, inputs: inputs, loss: model.objective, rows: rows,
                                         iterations: 50, tolerance: 1e-4).eigenvalue
    }

    /// The last training batch's raw features and targets as the graph saw them.
    var lastBatch: (features: UnsafeMutableBufferPointer<Float>, targets: UnsafeMutableBufferPointer<Float>, rows: Int) {
        (step.buffer(model.features), step.buffer(model.target), step.rows)
    }

    /// The optimizer's state buffers, for checkpoints.
    var optimizerState: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] { firstOrder?.state ?? lbfgs?.state ?? [] }
    var optimizerSteps: Int {
        get { firstOrder?.steps ?? lbfgs?.steps ?? 0 }
        set {
            firstOrder?.steps = newValue
            lbfgs?.steps = newValue
        }
    }

    private func restore(_ checkpoint: Checkpoint, from path: String) throws {
        try checkpoint.load(into: parameters, graph: model.graph, path: path)
        if let saved = checkpoint.config["optimizer"]?["name"]?.string, saved != config.optimizer.name {
            throw DataError(file: path, "was written by optimizer \"\(saved)\" but the config says \"\(config.optimizer.name)\"; resume with the same optimizer")
        }
        for (name, buffer) in optimizerState {
            guard let saved = checkpoint.optimizer[name], saved.count == buffer.count else {
                throw DataError(file: path, "has no optimizer state \"\(name)\" of \(buffer.count) values; it was written with another optimizer (optimizer.name must match to resume)")
            }
            for i in 0..<buffer.count { buffer[i] = saved[i] }
        }
        state = checkpoint.state
        optimizerSteps = state.optimizerSteps
        bestParameters = checkpoint.bestParameters
        if state.stoppedEarly || (state.epoch >= config.epochs && state.stepInEpoch == 0) {
            // A run killed between its last checkpoint and its summary: nothing to train, the
            // run directory is completed from the checkpoint.
            notes.append("\(path) holds a finished run (\(state.stoppedEarly ? "stopped early after" : "all") \(state.epoch) epochs); nothing to train, the run directory is brought up to date. To train on, raise training.epochs\(state.stoppedEarly ? " and relax early stopping, or start a new run" : " (for example --set training.epochs=\(state.epoch + 10))")")
        } else {
            notes.append(state.stepInEpoch > 0
                ? "resuming \(path): epoch \(state.epoch + 1), after step \(state.stepInEpoch)"
                : "resuming \(path) after epoch \(state.epoch)")
        }
    }

    // MARK: Training

    /// What `fit` does with a non-finite loss or gradient.
    private enum Recovery { case skipBatch, retryEpoch }

    /// Runs the remaining epochs, then the test split, then the callbacks' `trainingEnded`.
    public func fit(callbacks: [TrainingCallback] = []) throws {
        currentCallbacks = callbacks
        defer { currentCallbacks = [] }
        for c in callbacks { try c.trainingBegan(self) }
        defer { trainLoader.finishEpoch() }
        InterruptSignal.received = 0
        var snapshot: Snapshot? = nil
        var epoch = state.epoch + 1
        while epoch <= config.epochs && !state.stoppedEarly {
            let started = Date()
            let lr = config.schedule.rate(epoch: epoch - 1, base: config.optimizer.learningRate, reductions: state.plateau.reductions) * state.rateScale
            beginEpoch()
            if config.onNonFinite == .rollback { snapshot = Snapshot(of: self) }
            do {
                if lbfgs != nil { try lbfgsEpoch(epoch: epoch, lr: lr) } else { try firstOrderEpoch(epoch: epoch, lr: lr, callbacks: callbacks) }
            } catch Divergence.retry {
                guard let snapshot else { throw RunFailure("internal: rollback without a snapshot") }
                trainLoader.finishEpoch()
                snapshot.restore(into: self)
                state.rollbacks += 1
                state.rateScale /= 2
                notes.append("epoch \(epoch): the loss or gradient became non-finite; rolled back and halved the learning rate (rollback \(state.rollbacks) of \(config.maxRollbacks))")
                for c in callbacks { try c.noticed(notes.last!, trainer: self) }
                continue
            }
            try finishEpoch(epoch: epoch, lr: lr, seconds: Date().timeIntervalSince(started), callbacks: callbacks)
            epoch += 1
        }
        if let stopping = config.earlyStopping, stopping.restoreBest, let best = bestParameters {
            for i in 0..<parameters.count { parameters.values[i] = best[i] }
            notes.append("restored the weights of epoch \(state.bestEpoch), the best by \(stopping.monitor)")
            for c in callbacks { try c.noticed(notes.last!, trainer: self) }
        }
        if let testLoader { testMetrics = try evaluate(testLoader) }
        for c in callbacks { try c.trainingEnded(history, trainer: self) }
    }

    /// Positions the data for the next epoch: fresh, or (after a resume) exactly where the
    /// checkpoint left it.
    private func beginEpoch() {
        if let shuffle = state.shuffleAtEpochStart { trainLoader.rng = shuffle }
        if let augment = state.augmentAtEpochStart { trainLoader.augmenter?.rng = augment }
        if let dropout = state.dropout { step.rng = dropout }
        state.shuffleAtEpochStart = trainLoader.rng
        state.augmentAtEpochStart = trainLoader.augmenter?.rng
        if state.stepInEpoch == 0 {
            state.partialLoss = 0
            state.partialRows = 0
            state.partialCorrect = 0
        }
        trainLoader.startEpoch()
    }

    private enum Divergence: Error { case retry }

    private func firstOrderEpoch(epoch: Int, lr: Double, callbacks: [TrainingCallback]) throws {
        let features = model.features, target = model.target, objective = model.objective
        let x = step.buffer(features).baseAddress!, y = step.buffer(target).baseAddress!
        let (gatherX, gatherY) = globalBatch.map { ($0.features.baseAddress!, $0.targets.baseAddress!) } ?? (x, y)
        let batches = trainLoader.batchCount
        // After a mid-epoch resume: replay the batches already trained (the pipeline's
        // generators advance exactly as they did), without training on them.
        for _ in 0..<state.stepInEpoch { _ = try trainLoader.next(features: gatherX, targets: gatherY) }
        for b in state.stepInEpoch..<batches {
            if b == 0 && epoch == 1 && ProcessInfo.processInfo.environment["DLTRAIN_TIMING"] != nil, let age = Trainer.processAge() {
                printError(String(format: "first step began %.3f s after the process started (reading and preparing the data took %.3f s)", age, dataSeconds))
            }
            if let counter = allocationCounter, epoch == 2, batches > 30 {
                if b == 10 { allocationsAtStart = counter() }
                if b == batches - 10 {
                    // Read before the message is built: the message's own string is an allocation.
                    let allocations = counter() - allocationsAtStart
                    printError("allocations in \(batches - 20) steady-state steps of epoch 2: \(allocations)")
                }
            }
            let n: Int
            if replicas != nil {
                n = try trainLoader.next(features: gatherX, targets: gatherY)
                takeSlice(of: n, x: x, y: y)
            } else {
                step.rows = trainLoader.batchSize
                n = try trainLoader.next(features: x, targets: y)
                step.rows = n
            }
            step.forward()
            globalStep += 1
            var loss = faults.nanAtStep == globalStep ? Float.nan : step.scalar(objective)
            step.backward(from: objective, seed: seed)
            var correct = isClassification ? countCorrect(step, rows: step.rows) : 0
            var interrupted = InterruptSignal.pending != 0
            if let replicas {
                // The gradients of every slice, each already weighted by its share: their sum
                // is the global batch's gradient; then the step's loss, accuracy and interrupts.
                replicas.sum(parameters.gradients.baseAddress!, count: parameters.count)
                let replicated = step.share?.group == nil
                stepSums[0] = Double(loss) * Double(seed[0])
                stepSums[1] = Double(correct) / (replicated ? Double(replicas.size) : 1)
                stepSums[2] = interrupted ? 1 : 0
                replicas.sum(stepSums, count: 3)
                loss = Float(stepSums[0])
                correct = Int(stepSums[1].rounded())
                interrupted = stepSums[2] > 0
            }
            let norm = gradientNorm()
            if !loss.isFinite || !norm.isFinite {
                switch try nonFinite(loss: Double(loss), norm: norm, epoch: epoch, step: b + 1, lr: lr) {
                case .skipBatch:
                    state.stepInEpoch = b + 1
                    continue
                case .retryEpoch: throw Divergence.retry
                }
            }
            clip(norm: norm)
            firstOrder!.step(parameters, learningRate: Float(lr))
            state.partialLoss += Double(loss) * Double(n)
            state.partialRows += n
            state.partialCorrect += correct
            let smoothed = state.average(Double(loss))
            state.stepInEpoch = b + 1
            for c in callbacks { c.stepEnded(epoch: epoch, step: b + 1, of: batches, smoothedLoss: smoothed, trainer: self) }
            if interrupted { try interrupt(callbacks) }
        }
    }

    /// This rank's rows of the gathered global batch of `n` rows into the executor: ranks take
    /// contiguous slices (the first n mod size one row more); a batch smaller than the group is
    /// computed whole by every rank, each weighted 1/size.
    private func takeSlice(of n: Int, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
        let replicas = replicas!, size = replicas.size, rank = replicas.rank
        var first = 0, rows = n, group: ReplicaGroup? = nil
        if n >= size {
            let base = n / size, extra = n % size
            first = rank * base + Swift.min(rank, extra)
            rows = base + (rank < extra ? 1 : 0)
            group = replicas
            seed[0] = Float(Double(rows) / Double(n))
        } else {
            seed[0] = Float(1 / Double(size))
        }
        step.rows = rows
        step.share = BatchShare(rowsBefore: first, globalRows: n, group: group)
        x.update(from: globalBatch!.features.baseAddress! + first * model.inputs, count: rows * model.inputs)
        y.update(from: globalBatch!.targets.baseAddress! + first * targetsPerRow, count: rows * targetsPerRow)
    }

    /// One L-BFGS iteration on the whole training set: each evaluation is a full pass,
    /// gradients accumulated over the batches, each weighted by its share of the rows.
    private func lbfgsEpoch(epoch: Int, lr: Double) throws {
        let features = model.features, target = model.target, objective = model.objective
        let x = step.buffer(features).baseAddress!, y = step.buffer(target).baseAddress!
        let total = Double(data.train.rows)
        var correct = 0
        var seed: [Float] = [1]
        let loss = try lbfgs!.iterate(parameters, learningRate: Float(lr)) {
            parameters.zeroGradients()
            trainLoader.startEpoch()
            var sum = 0.0
            correct = 0
            while true {
                step.rows = trainLoader.batchSize
                let n = try trainLoader.next(features: x, targets: y)
                if n == 0 { break }
                step.rows = n
                step.forward()
                sum += Double(step.scalar(objective)) * Double(n)
                if isClassification { correct += countCorrect(step, rows: n) }
                seed[0] = Float(Double(n) / total)
                step.backward(from: objective, seed: seed, zeroingParameterGradients: false)
            }
            return sum / total
        }
        guard loss.isFinite else {
            switch try nonFinite(loss: loss, norm: gradientNorm(), epoch: epoch, step: 1, lr: lr) {
            case .skipBatch: return
            case .retryEpoch: throw Divergence.retry
            }
        }
        state.partialLoss = loss * total
        state.partialRows = Int(total)
        state.partialCorrect = correct
        _ = state.average(loss)
        state.stepInEpoch = 1
        if InterruptSignal.pending != 0 { try interrupt([]) }
    }

    /// The global L2 norm of the trainable gradients (infinite or NaN when any entry is).
    private func gradientNorm() -> Double {
        let g = parameters.gradients.baseAddress!
        var total = 0.0
        for span in spans {
            var lanes = SIMD16<Float>(), i = span.lowerBound
            while i + 16 <= span.upperBound {
                let x = UnsafeRawPointer(g + i).loadUnaligned(as: SIMD16<Float>.self)
                lanes += x * x
                i += 16
            }
            var rest: Float = 0
            while i < span.upperBound { rest += g[i] * g[i]; i += 1 }
            total += Double(lanes.sum()) + Double(rest)
        }
        return total.squareRoot()
    }

    private func clip(norm: Double) {
        let g = parameters.gradients
        if let limit = config.optimizer.clipValue.map(Float.init) {
            for span in spans { for i in span { g[i] = Swift.min(Swift.max(g[i], -limit), limit) } }
        }
        if let limit = config.optimizer.clipNorm {
            let current = config.optimizer.clipValue == nil ? norm : gradientNorm()
            if current > limit {
                let factor = Float(limit / current)
                for span in spans { for i in span { g[i] *= factor } }
            }
        }
    }

    private func nonFinite(loss: Double, norm: Double, epoch: Int, step b: Int, lr: Double) throws -> Recovery {
        let what = !loss.isFinite ? "the loss became \(loss)" : "the gradient norm became \(norm)"
        let place = "at epoch \(epoch), step \(b)"
        switch config.onNonFinite {
        case .skipBatch:
            state.skippedBatches += 1
            restoreRunningStatistics()
            if state.skippedBatches > 10 * Swift.max(1, trainLoader.batchCount) {
                throw RunFailure("\(what) \(place), after \(state.skippedBatches) batches skipped for the same reason; the run is diverging. Lower optimizer.lr (now \(lr)) or standardize the inputs")
            }
            return .skipBatch
        case .rollback where state.rollbacks < config.maxRollbacks:
            return .retryEpoch
        default:
            let kept = lastCheckpoint.map { "; the last good checkpoint is \($0) (epoch \(state.epoch))" } ?? ""
            throw RunFailure("\(what) \(place) (learning rate \(lr)). Likely causes: a learning rate too high for this model (try a tenth), inputs that need data.preprocess.standardize, or an exploding deep network (try optimizer.clip_norm or batchnorm); training.on_nonfinite \"rollback\" retries with half the rate\(kept)")
        }
    }

    /// After a skipped batch: batch-norm running statistics may have taken in the bad batch;
    /// set any that are no longer finite back to their initial values.
    private func restoreRunningStatistics() {
        for spec in model.graph.parameters where !spec.trainable && (spec.name.hasSuffix("/moving_mean") || spec.name.hasSuffix("/moving_variance")) {
            let window = parameters.values(of: spec), initial: Float = spec.name.hasSuffix("mean") ? 0 : 1
            for i in 0..<spec.count where !window[i].isFinite { window[i] = initial }
        }
    }

    private func interrupt(_ callbacks: [TrainingCallback]) throws {
        trainLoader.finishEpoch()
        state.dropout = step.rng
        for c in callbacks { try c.trainingInterrupted(self) }
        // Under MPI another rank may have received it: report it as Ctrl-C's.
        throw Interrupted(signal: InterruptSignal.pending != 0 ? InterruptSignal.pending : SIGINT, checkpoint: lastCheckpoint)
    }

    private func finishEpoch(epoch: Int, lr: Double, seconds: Double, callbacks: [TrainingCallback]) throws {
        var metrics = ["train_loss": state.partialRows > 0 ? state.partialLoss / Double(state.partialRows) : .nan]
        if isClassification { metrics["train_accuracy"] = state.partialRows > 0 ? Double(state.partialCorrect) / Double(state.partialRows) : .nan }
        if let validationLoader {
            for (name, value) in try evaluate(validationLoader) { metrics["val_" + name] = value }
        }
        let record = EpochRecord(epoch: epoch, metrics: metrics, learningRate: lr, seconds: seconds,
                                 smoothedLoss: state.averagedSteps > 0 ? state.smoothedLoss : nil)
        state.history.append(record)
        state.epoch = epoch
        state.stepInEpoch = 0
        state.dropout = step.rng
        state.shuffleAtEpochStart = trainLoader.rng
        state.augmentAtEpochStart = trainLoader.augmenter?.rng

        func better(_ value: Double, than best: Double?, maximize: Bool, by delta: Double = 0) -> Bool {
            guard let best else { return value.isFinite }
            return maximize ? value > best + delta : value < best - delta
        }
        let monitored = metrics[config.checkpointMonitor] ?? .nan
        improvedLastEpoch = better(monitored, than: state.checkpointBest, maximize: config.checkpointMaximize)
        if improvedLastEpoch {
            state.checkpointBest = monitored
            state.checkpointBestEpoch = epoch
        }
        if let stopping = config.earlyStopping {
            let value = metrics[stopping.monitor] ?? .nan
            if better(value, than: state.bestValue, maximize: stopping.maximize, by: stopping.minDelta) {
                state.bestValue = value
                state.bestEpoch = epoch
                state.waited = 0
                if stopping.restoreBest { bestParameters = Array(parameters.values) }
            } else {
                state.waited += 1
                if state.waited > stopping.patience {
                    state.stoppedEarly = true
                    notes.append("stopped early after epoch \(epoch): \(stopping.monitor) has not improved for \(state.waited) epochs (best \(String(format: "%.5g", state.bestValue ?? .nan)) at epoch \(state.bestEpoch))")
                }
            }
        }
        if config.schedule.kind == .plateau {
            let value = metrics[config.plateauMonitor] ?? .nan
            state.plateau.observe(value, minimize: !config.plateauMonitor.hasSuffix("accuracy"), patience: config.schedule.patience)
        }
        for c in callbacks { try c.epochEnded(record, trainer: self) }
        if state.stoppedEarly { for c in callbacks { try c.noticed(notes.last!, trainer: self) } }
    }

    /// The best epoch's weights kept for restore_best (also saved in checkpoints).
    var bestWeights: [Float]? { bestParameters }

    // MARK: Evaluation

    /// Rows of the executor's current batch whose predicted class matches the target's.
    private func countCorrect(_ e: Executor<Float>, rows n: Int) -> Int {
        let z = e.buffer(model.outputs), y = e.buffer(model.target)
        let c = model.outputUnits
        var correct = 0
        for r in 0..<n {
            switch config.model.loss.kind {
            case .binaryCrossEntropy:
                if (z[r] > 0) == (y[r] > 0.5) { correct += 1 }
            case .hinge:
                if Trainer.argmax(z, row: r, width: c) == Int(y[r]) { correct += 1 }
            default:
                if Trainer.argmax(z, row: r, width: c) == Trainer.argmax(y, row: r, width: c) { correct += 1 }
            }
        }
        return correct
    }

    static func argmax(_ x: UnsafeMutableBufferPointer<Float>, row r: Int, width c: Int) -> Int {
        var best = 0
        for k in 1..<Swift.max(c, 1) where x[r * c + k] > x[r * c + best] { best = k }
        return best
    }

    /// Loss and accuracy (classification) or loss, MSE and MAE in the target's own units
    /// (regression) over every row of `loader`, in evaluation mode.
    public func evaluate(_ loader: BatchLoader) throws -> [String: Double] {
        loader.startEpoch()
        var lossSum = 0.0, rows = 0, correct = 0, squared = 0.0, absolute = 0.0
        let features = model.features, target = model.target
        while true {
            evaluation.rows = evaluation.batchCapacity
            let n = try loader.next(features: evaluation.buffer(features).baseAddress!, targets: evaluation.buffer(target).baseAddress!)
            if n == 0 { break }
            evaluation.rows = n
            evaluation.forward()
            lossSum += Double(evaluation.scalar(model.dataLoss)) * Double(n)
            rows += n
            if isClassification {
                correct += countCorrect(evaluation, rows: n)
            } else {
                let z = evaluation.buffer(model.outputs), y = evaluation.buffer(target)
                let width = y.count / n, perTarget = config.model.loss.kind.outputsPerTarget
                // Predictions are the means (every other output for gaussian_nll), in the user's units.
                for r in 0..<n {
                    for k in 0..<width {
                        var prediction = z[(r * width + k) * perTarget], truth = y[r * width + k]
                        if let shift = data.preprocessor.targetShift, let scale = data.preprocessor.targetScale {
                            prediction = prediction / scale[k] + shift[k]
                            truth = truth / scale[k] + shift[k]
                        }
                        let e = Double(prediction - truth)
                        squared += e * e
                        absolute += Swift.abs(e)
                    }
                }
            }
        }
        var metrics = ["loss": lossSum / Double(rows)]
        if isClassification {
            metrics["accuracy"] = Double(correct) / Double(rows)
        } else {
            let count = Double(rows * data.train.targetWidth)
            metrics["mse"] = squared / count
            metrics["mae"] = absolute / count
        }
        return metrics
    }
}

/// The state at an epoch's start, kept in memory for `on_nonfinite: "rollback"`.
private struct Snapshot {
    let parameters: [Float]
    let optimizer: [[Float]]
    let steps: Int
    let state: TrainingState

    init(of trainer: Trainer) {
        parameters = Array(trainer.parameters.values)
        optimizer = trainer.optimizerState.map { Array($0.buffer) }
        steps = trainer.optimizerSteps
        state = trainer.stateForSnapshot
    }

    func restore(into trainer: Trainer) {
        for i in parameters.indices { trainer.parameters.values[i] = parameters[i] }
        for (k, (_, buffer)) in trainer.optimizerState.enumerated() { for i in 0..<buffer.count { buffer[i] = optimizer[k][i] } }
        trainer.optimizerSteps = steps
        trainer.restoreForSnapshot(state)
    }
}

extension Trainer {
    fileprivate var stateForSnapshot: TrainingState { state }
    fileprivate func restoreForSnapshot(_ saved: TrainingState) {
        let rollbacks = state.rollbacks, scale = state.rateScale
        state = saved
        state.rollbacks = rollbacks
        state.rateScale = scale
    }
}
