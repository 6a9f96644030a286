import DLCore
import DLData
import DLNN
import DLOptim
import Foundation

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
    public internal(set) var state = TrainingState()
    /// Metrics of the test split after training, when there is one.
    public private(set) var testMetrics: [String: Double]?
    /// Whether the last epoch improved the checkpoint monitor (best.h5 is then rewritten).
    public private(set) var improvedLastEpoch = false
    /// Lines for the console before training (transfer learning, resumption).
    public private(set) var notes: [String] = []
    /// Where the last checkpoint went (a callback's ``TrainingEvent/checkpointWritten(_:)``).
    public private(set) var lastCheckpoint: String?
    /// With training.snapshots: the snapshot files, the ensemble's validation metrics and the
    /// final model's, computed the same way (a callback's ``TrainingEvent/snapshotEnsemble(paths:ensemble:single:)``).
    public private(set) var snapshotEnsemble: (paths: [String], ensemble: [String: Double], single: [String: Double])?
    /// The temperature and threshold fitted after training (training.calibration, training.threshold).
    public internal(set) var decisions = Decisions()
    /// The validation split's probabilities before and after the decisions (for summary.json and calibration.svg).
    public internal(set) var validationCalibration: (before: ClassificationMetrics, after: ClassificationMetrics)?

    public var history: [EpochRecord] { state.history }

    /// The update rule: one optimizer step per batch, or one L-BFGS iteration per epoch.
    let optimizer: OptimizerFactory.Built
    let spans: [Range<Int>]
    /// The trainable parameters' pieces of the slab, for the gradient norm (``SlabPiece``).
    let trainablePieces: [SlabPiece]
    /// The training step's buffers, planned once for the batch size.
    let step: Executor<Float>
    let evaluation: Executor<Float>
    let trainLoader: BatchLoader
    let validationLoader: BatchLoader?
    private let testLoader: BatchLoader?
    var bestParameters: [Float]?
    var isClassification: Bool { config.task != .regression }
    var hooks = StepHooks()
    /// Data parallelism over MPI ranks; nil when this process trains alone.
    let replicaStep: ReplicaStep?
    /// The backward pass's seed: 1, or under MPI this rank's share of the batch.
    var backwardSeed: [Float] = [1]
    var callbacks: [TrainingCallback] = []

    /// Reads the data and builds everything; nothing trains until ``fit(callbacks:)``.
    /// `fold` makes the k-th of K folds the validation split; `resume` continues a checkpoint.
    /// `replicas` trains data-parallel over MPI ranks (every rank constructs its Trainer alike).
    /// `measuringProducts` times the step's product shapes for their route (``ProductPlan``);
    /// off, every shape takes the rule's route and results never depend on a timing.
    public init(config: Config, fold: (index: Int, count: Int)? = nil, resume: (checkpoint: Checkpoint, path: String)? = nil, replicas: MPI? = nil,
                measuringProducts: Bool = false) throws {
        self.config = config
        if let threads = config.threads {
            BLAS.threadCount = threads
        } else if replicas != nil {
            BLAS.threadCount = AvailableCPUs.perProcess(ranks: MPI.localRanks)
        }
        if replicas != nil && config.optimizer.name == "lbfgs" {
            throw ConfigError(file: config.file, path: "optimizer.name", "lbfgs takes full-batch steps and is not data-parallel in dltrain; run it in one process (without mpirun)")
        }
        let started = Date()
        data = try TrainingData(config: config, fold: fold)
        // Reading and splitting leave freed buffers (libhdf5's among them) that glibc would keep.
        returnFreeMemory()
        dataSeconds = Date().timeIntervalSince(started) + data.earlierReadSeconds
        notes += config.choices + data.notes
        let inputs = data.preprocessor.outputColumns
        if let image = config.data.augment.image, image.shape.reduce(1, *) != data.train.columns {
            throw ConfigError(file: config.file, path: "data.augment.image.shape",
                              "\(image.shape) holds \(image.shape.reduce(1, *)) pixels but the data has \(data.train.columns) features per row")
        }
        do {
            model = try Model(inputs: inputs, spec: config.model.embedding(data.table).weighted(data.classWeights))
        } catch let e as ModelError {
            let raw = (try? JSON.parse(String(contentsOfFile: config.file, encoding: .utf8))) ?? config.resolved
            throw config.error(at: "model.\(e.path)", e.message, in: raw)
        }
        let batch = Swift.min(config.batchSize, data.train.rows)
        // A rank holds its slice of a batch, or the whole of a batch smaller than the group.
        let ranks = replicas?.size ?? 1
        let stepCapacity = Swift.min(batch, Swift.max((batch + ranks - 1) / ranks, ranks - 1))
        let evaluationBatch = Swift.max(batch, 256)
        // Both executors' windows are checked before the parameters are made and filled.
        try WindowPlan(graph: model.graph, batchCapacity: stepCapacity, gradients: true).checkFitsInMemory(scalarSize: MemoryLayout<Float>.size)
        try WindowPlan(graph: model.graph, batchCapacity: evaluationBatch, gradients: false).checkFitsInMemory(scalarSize: MemoryLayout<Float>.size)
        var rng = RandomSource(seed: config.seed)
        parameters = try model.initialParameters(rng: &rng)
        spans = trainableSpans(of: model.graph)
        trainablePieces = model.graph.slabPieces(trainableOnly: true)
        step = try Executor(graph: model.graph, parameters: parameters, batchCapacity: stepCapacity)
        let targetsPerRow = model.graph.shape(model.target).count(rows: 1)
        replicaStep = replicas.map { ReplicaStep(replicas: $0, batch: batch, inputs: inputs, targetsPerRow: targetsPerRow) }
        // Dropout masks, data order and augmentation each draw from a stream of their own.
        step.rng = RandomSource(seed: config.seed &+ 0xD20F)
        evaluation = try Executor(graph: model.graph, parameters: parameters, batchCapacity: evaluationBatch, gradients: false)
        evaluation.training = false

        let encoding = Trainer.targetEncoding(config, classes: data.classNames.count, targetWidth: data.train.targetWidth)
        let augmenter = config.data.augment.isEmpty ? nil
            : Augmenter(spec: config.data.augment, seed: config.seed &+ 0xA09, batchCapacity: batch,
                        featureWidth: Swift.max(inputs, data.train.columns), targetWidth: encoding.width)
        let fullBatch = config.optimizer.name == "lbfgs"
        trainLoader = BatchLoader(producer: data.train, batchSize: batch, dropLast: config.dropLast && !fullBatch, shuffled: !fullBatch,
                                  preprocessor: data.preprocessor, encoding: encoding, augmenter: augmenter,
                                  seed: config.seed &+ 0x5EED, prefetching: config.prefetch && AvailableCPUs.count > 1)
        let preprocessor = data.preprocessor
        let heldOut = { (rows: RowProducer?) -> BatchLoader? in
            rows.map { BatchLoader(producer: $0, batchSize: evaluationBatch, shuffled: false, preprocessor: preprocessor,
                                   encoding: encoding, seed: 0, prefetching: false) }
        }
        validationLoader = heldOut(data.validation)
        testLoader = heldOut(data.test)
        metricColumns = config.metricNames

        optimizer = OptimizerFactory.make(config.optimizer, parameterCount: model.graph.parameterCount, spans: spans)

        if let path = config.initFrom, resume == nil {
            let source = try Checkpoint.read(path)
            let loaded = try source.load(into: parameters, graph: model.graph, onlyMatching: true, path: path)
            guard !loaded.isEmpty else {
                throw ConfigError(file: config.file, path: "model.init_from", "\(path) has no parameter matching this model by name and shape (it has \(source.parameters.keys.sorted().prefix(6).joined(separator: ", "))); name the layers alike")
            }
            notes.append("initialised \(loaded.count) of \(model.graph.parameters.count) parameters from \(path): \(loaded.joined(separator: ", "))")
        }
        if let (checkpoint, path) = resume { try restore(checkpoint, from: path) }
        if resume == nil { state.productPlan = measuringProducts && replicas == nil ? ProductPlan.measure(step.stepProducts()) : ProductPlan() }
        step.productPlan = state.productPlan
        if let replicas {
            notes.append("data-parallel over \(replicas.size) MPI ranks: \(batch) rows per step, about \(batch / replicas.size) per rank, \(BLAS.threadCount) BLAS thread\(BLAS.threadCount == 1 ? "" : "s") each; rank 0 writes the run directory")
        }
    }

    /// Whether `fit` measures a product plan: when `DLTRAIN_PRODUCT_PLAN=measure` is in the
    /// environment. Not by default: two fresh runs could time their shapes differently, route
    /// them differently and round differently, and the same config would no longer give the
    /// same metrics; on the machines measured so far it did not pay (README, Speed).
    /// Data-parallel ranks always take the rule.
    /// Any other value is refused (exit 2), before anything is written.
    public static func measuresProducts() throws -> Bool {
        switch ProcessInfo.processInfo.environment["DLTRAIN_PRODUCT_PLAN"] {
        case nil, "rule": return false
        case "measure": return true
        case let other?:
            throw DataError(file: "DLTRAIN_PRODUCT_PLAN (environment)", "is \"\(other)\"; expected \"rule\" (the default: small products in dltrain's register tiles, large ones split along C's longer side) or \"measure\" (time each shape's routes before training); set one of them or unset it")
        }
    }

    /// How each of the step's products is computed, a line per shape that is split or in
    /// dltrain's register tiles (`fit --verbose`).
    public var productPlanLines: [String] {
        let plan = step.productPlan
        let openBLAS = BLAS.threadCount == 2 ? "single-threaded OpenBLAS (\(BLAS.coreName) kernels), split over 2 threads where large"
            : "OpenBLAS (\(BLAS.coreName) kernels) on \(BLAS.threadCount) thread\(BLAS.threadCount == 1 ? "" : "s"), not split by dltrain"
        let tilesTaken = step.stepProducts().contains { (plan[$0] ?? BLAS.ruleRoute($0)) == .tiles }
        let tiles = tilesTaken ? "dltrain's \(BLAS.tilesInstructions) register tiles for small products, " : ""
        let header = "products: \(tiles)\(openBLAS); "
            + (plan.isEmpty ? "every shape by the rule"
               : plan.measuringSeconds > 0 ? String(format: "per shape as measured in %.2f s (GFLOP/s of each route):", plan.measuringSeconds)
               : "per shape as the checkpoint recorded:")
        var seen = Set<ProductShape>()
        let ruled = step.stepProducts().filter { seen.insert($0).inserted && plan[$0] == nil }
        return [header] + plan.lines.map { "  " + $0 } + ruled.map { "  \($0) \(BLAS.ruleRoute($0).rawValue) (the rule)" }
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
        for c in callbacks { try c.noticed(message, trainer: self) }
    }

    /// Records what the callbacks of one phase reported; the trainer's state is written here only.
    func record(_ events: [TrainingEvent]) throws {
        for event in events {
            switch event {
            case .checkpointWritten(let path): lastCheckpoint = path
            case .snapshotEnsemble(let paths, let ensemble, let single): snapshotEnsemble = (paths, ensemble, single)
            case .notice(let message): try notice(message)
            }
        }
    }

    /// Runs one phase on every callback and records what they report.
    func phase(_ body: (TrainingCallback) throws -> [TrainingEvent]) throws {
        var events: [TrainingEvent] = []
        for c in callbacks { events += try body(c) }
        try record(events)
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
    var optimizerState: [(name: String, buffer: UnsafeMutableBufferPointer<Float>)] {
        switch optimizer {
        case .firstOrder(let o): o.state
        case .lbfgs(let o): o.state
        }
    }
    var optimizerSteps: Int {
        get {
            switch optimizer {
            case .firstOrder(let o): o.steps
            case .lbfgs(let o): o.steps
            }
        }
        set {
            switch optimizer {
            case .firstOrder(let o): o.steps = newValue
            case .lbfgs(let o): o.steps = newValue
            }
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

    /// Runs the remaining epochs, then the test split, then the callbacks' `trainingEnded`.
    public func fit(callbacks: [TrainingCallback] = []) throws {
        self.callbacks = callbacks
        defer { self.callbacks = [] }
        for c in callbacks { try c.trainingBegan(self) }
        defer { trainLoader.finishEpoch() }
        InterruptSignal.received = 0
        var rollbackPoint: RollbackPoint? = nil
        var epoch = state.epoch + 1
        while epoch <= config.epochs && !state.stoppedEarly {
            let started = Date()
            let lr = config.schedule.rate(epoch: epoch - 1, base: config.optimizer.learningRate, reductions: state.plateau.reductions) * state.rateScale
            beginEpoch()
            if config.onNonFinite == .rollback { rollbackPoint = RollbackPoint(of: self) }
            do {
                switch optimizer {
                case .firstOrder(let o): try firstOrderEpoch(o, epoch: epoch, lr: lr)
                case .lbfgs(let o): try lbfgsEpoch(o, epoch: epoch, lr: lr)
                }
            } catch Divergence.retry {
                guard let rollbackPoint else { throw RunFailure("internal: rollback without a saved epoch start") }
                trainLoader.finishEpoch()
                rollbackPoint.restore(into: self)
                state.rollbacks += 1
                state.rateScale /= 2
                try notice("epoch \(epoch): the loss or gradient became non-finite; rolled back and halved the learning rate (rollback \(state.rollbacks) of \(config.maxRollbacks))")
                continue
            }
            try finishEpoch(epoch: epoch, lr: lr, seconds: Date().timeIntervalSince(started))
            epoch += 1
        }
        if let stopping = config.earlyStopping, stopping.restoreBest, let best = bestParameters {
            for i in 0..<parameters.count { parameters.values[i] = best[i] }
            try notice("restored the weights of epoch \(state.bestEpoch), the best by \(stopping.monitor)")
        }
        try fitDecisions()
        if let testLoader { testMetrics = try evaluate(testLoader) }
        try phase { try $0.trainingEnded(history, trainer: self) }
        for c in callbacks { try c.runFinished(self) }
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

    private func finishEpoch(epoch: Int, lr: Double, seconds: Double) throws {
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

        var stopMessage: String? = nil
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
                    stopMessage = ("stopped early after epoch \(epoch): \(stopping.monitor) has not improved for \(state.waited) epochs (best \(String(format: "%.5g", state.bestValue ?? .nan)) at epoch \(state.bestEpoch))")
                }
            }
        }
        if config.schedule.kind == .plateau {
            let value = metrics[config.plateauMonitor] ?? .nan
            state.plateau.observe(value, minimize: !config.plateauMonitor.hasSuffix("accuracy"), patience: config.schedule.patience)
        }
        try phase { try $0.epochEnded(record, trainer: self) }
        if let stopMessage { try notice(stopMessage) }
    }

    /// Everything a checkpoint saves, as views of the live buffers.
    var checkpointContents: Checkpoint.Contents {
        Checkpoint.Contents(config: config, graph: model.graph, parameters: parameters, optimizerState: optimizerState,
                            optimizerSteps: optimizerSteps, state: state, bestParameters: bestParameters, data: data, decisions: decisions)
    }
}
