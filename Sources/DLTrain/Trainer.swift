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
/// backward, one optimizer step per batch; validation metrics each epoch, test metrics at the end.
public final class Trainer {
    public let config: Config
    public let data: TrainingData
    public let model: Model
    public let parameters: ParameterStore<Float>
    public let optimizer: Optimizer
    public private(set) var history: [EpochRecord] = []
    /// Metrics of the test split after training, when there is one.
    public private(set) var testMetrics: [String: Double]?
    /// Wall time spent reading, splitting and fitting the preprocessing.
    public let dataSeconds: Double
    /// The metric columns of each epoch, in `metrics.csv` order (after `epoch`, before `lr`).
    public let metricColumns: [String]

    private let step: Executor<Float>
    private let evaluation: Executor<Float>
    private let trainLoader: BatchLoader
    private let validationLoader: BatchLoader?
    private let testLoader: BatchLoader?
    private var isClassification: Bool { config.task != .regression }

    /// Reads the data and builds everything; nothing trains until ``fit(callbacks:)``.
    /// `fold` makes the k-th of K folds the validation split.
    public init(config: Config, fold: (index: Int, count: Int)? = nil) throws {
        self.config = config
        let started = Date()
        data = try TrainingData(config: config, fold: fold)
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
        let batch = Swift.min(config.batchSize, data.train.rows)
        step = try Executor(graph: model.graph, parameters: parameters, batchCapacity: batch)
        // Dropout masks, data order and augmentation each draw from a stream of their own.
        step.rng = RandomSource(seed: config.seed &+ 0xD20F)
        let evaluationBatch = Swift.max(batch, 256)
        evaluation = try Executor(graph: model.graph, parameters: parameters, batchCapacity: evaluationBatch)
        evaluation.training = false

        let encoding: TargetEncoding = switch config.model.loss.kind {
        case .crossEntropy: .oneHot(classes: data.classNames.count)
        case .hinge: .indices
        default: .values(width: data.train.targetWidth)
        }
        let augmenter = config.data.augment.isEmpty ? nil
            : Augmenter(spec: config.data.augment, seed: config.seed &+ 0xA09, batchCapacity: batch,
                        featureWidth: Swift.max(inputs, data.train.columns), targetWidth: encoding.width)
        trainLoader = BatchLoader(producer: data.train, batchSize: batch, dropLast: config.dropLast, shuffled: true,
                                  preprocessor: data.preprocessor, encoding: encoding, augmenter: augmenter,
                                  seed: config.seed &+ 0x5EED, prefetching: config.prefetch)
        let preprocessor = data.preprocessor
        let heldOut = { (rows: RowProducer?) -> BatchLoader? in
            rows.map { BatchLoader(producer: $0, batchSize: evaluationBatch, shuffled: false, preprocessor: preprocessor,
                                   encoding: encoding, seed: 0, prefetching: false) }
        }
        validationLoader = heldOut(data.validation)
        testLoader = heldOut(data.test)

        var columns = ["train_loss"]
        let validating = data.validation != nil
        if validating { columns.append("val_loss") }
        if config.task != .regression {
            columns.append("train_accuracy")
            if validating { columns.append("val_accuracy") }
        } else if validating {
            columns += ["val_mse", "val_mae"]
        }
        metricColumns = columns

        let o = config.optimizer
        switch o.name {
        case "sgd": optimizer = SGD(parameterCount: model.graph.parameterCount, momentum: Float(o.momentum), nesterov: o.nesterov)
        default: optimizer = Adam(parameterCount: model.graph.parameterCount, beta1: Float(o.betas.0), beta2: Float(o.betas.1), epsilon: Float(o.epsilon))
        }
    }

    /// Runs every epoch, then the test split, then the callbacks' `trainingEnded`.
    public func fit(callbacks: [TrainingCallback] = []) throws {
        for c in callbacks { try c.trainingBegan(self) }
        defer { trainLoader.finishEpoch() }
        let schedule = ConstantSchedule()
        let features = model.features, target = model.target, objective = model.objective
        for epoch in 1...config.epochs {
            let started = Date()
            let lr = schedule.learningRate(epoch: epoch, base: config.optimizer.learningRate)
            trainLoader.startEpoch()
            var lossSum = 0.0, rowsSeen = 0, correct = 0
            for b in 0..<trainLoader.batchCount {
                step.rows = trainLoader.batchSize  // the window the loader may fill
                let n = try trainLoader.next(features: step.buffer(features).baseAddress!, targets: step.buffer(target).baseAddress!)
                step.rows = n
                step.forward()
                let loss = step.scalar(objective)
                guard loss.isFinite else {
                    throw RunFailure("the loss became \(loss) at epoch \(epoch), step \(b + 1); the learning rate (\(lr)) is likely too high, or the inputs need standardizing (data.preprocess.standardize)")
                }
                lossSum += Double(loss) * Double(n)
                rowsSeen += n
                if isClassification { correct += countCorrect(step, rows: n) }
                step.backward(from: objective)
                optimizer.step(parameters, learningRate: Float(lr))
            }
            var metrics = ["train_loss": lossSum / Double(rowsSeen)]
            if isClassification { metrics["train_accuracy"] = Double(correct) / Double(rowsSeen) }
            if let validationLoader {
                for (name, value) in try evaluate(validationLoader) { metrics["val_" + name] = value }
            }
            let record = EpochRecord(epoch: epoch, metrics: metrics, learningRate: lr, seconds: Date().timeIntervalSince(started))
            history.append(record)
            for c in callbacks { try c.epochEnded(record, trainer: self) }
        }
        if let testLoader { testMetrics = try evaluate(testLoader) }
        for c in callbacks { try c.trainingEnded(history, trainer: self) }
    }

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
            lossSum += Double(evaluation.scalar(model.objective)) * Double(n)
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
