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

/// Trains a model from a ``Config``: minibatches in a reshuffled order each epoch,
/// forward, backward, one optimizer step per batch, metrics per epoch.
public final class Trainer {
    public let config: Config
    public let data: Dataset
    public let model: Model
    public let parameters: ParameterStore<Float>
    public let optimizer: Optimizer
    public private(set) var history: [EpochRecord] = []

    private let step: Executor<Float>
    private let evaluation: Executor<Float>
    private let loader: MinibatchLoader

    /// Reads the data and builds everything; nothing trains until ``fit(callbacks:)``.
    public init(config: Config) throws {
        self.config = config
        data = try CSVReader().read(config.trainPath, target: config.target, classification: config.task != .regression)
        try Trainer.checkData(data, against: config)

        do {
            model = try Model(inputs: data.columns, spec: config.model)
        } catch let e as ModelError {
            let raw = (try? JSON.parse(String(contentsOfFile: config.file, encoding: .utf8))) ?? config.resolved
            throw config.error(at: "model.\(e.path)", e.message, in: raw)
        }
        var rng = RandomSource(seed: config.seed)
        parameters = try model.initialParameters(rng: &rng)
        let batch = Swift.min(config.batchSize, data.rows)
        step = try Executor(graph: model.graph, parameters: parameters, batchCapacity: batch)
        // Dropout masks draw from a stream of their own, like the data order.
        step.rng = RandomSource(seed: config.seed &+ 0xD20F)
        evaluation = try Executor(graph: model.graph, parameters: parameters, batchCapacity: Swift.min(data.rows, 1024))
        evaluation.training = false
        // Shuffling draws from its own stream, so changing the model does not change the data order.
        loader = MinibatchLoader(dataset: data, batchSize: batch, seed: config.seed &+ 0x5EED)

        let o = config.optimizer
        switch o.name {
        case "sgd": optimizer = SGD(parameterCount: model.graph.parameterCount, momentum: Float(o.momentum), nesterov: o.nesterov)
        default: optimizer = Adam(parameterCount: model.graph.parameterCount, beta1: Float(o.betas.0), beta2: Float(o.betas.1), epsilon: Float(o.epsilon))
        }
    }

    private static func checkData(_ data: Dataset, against config: Config) throws {
        let last = config.model.layers.count - 1, units = config.model.layers[last].units
        let classes = data.classNames
        if let weights = config.model.loss.classWeights, weights.count != classes.count {
            throw ConfigError(file: config.file, path: "model.class_weights",
                              "\(weights.count) weights given, but the training data has \(classes.count) classes (\(classes.prefix(12).joined(separator: ", "))); give one weight per class in this order")
        }
        switch config.task {
        case .classification where classes.count != units:
            throw ConfigError(file: config.file, path: "model.layers[\(last)].units",
                              "the training data has \(classes.count) classes (\(classes.prefix(12).joined(separator: ", "))\(classes.count > 12 ? ", ..." : "")) but the last layer has \(units) units; set it to \(classes.count)")
        case .binary where classes.count != 2:
            throw DataError(file: config.trainPath, "data.task is \"binary\" but the target column holds \(classes.count) distinct values (\(classes.prefix(12).joined(separator: ", "))); a binary target has exactly 2")
        default: break
        }
    }

    /// Runs every epoch, then the callbacks' `trainingEnded`.
    public func fit(callbacks: [TrainingCallback] = []) throws {
        for c in callbacks { try c.trainingBegan(self) }
        let schedule = ConstantSchedule()
        let features = model.features, target = model.target, objective = model.objective
        for epoch in 1...config.epochs {
            let started = Date()
            let lr = schedule.learningRate(epoch: epoch, base: config.optimizer.learningRate)
            loader.shuffle()
            var lossSum = 0.0
            for b in 0..<loader.batchCount {
                step.rows = Swift.min(loader.batchSize, data.rows - b * loader.batchSize)
                loader.gather(batch: b, features: step.buffer(features).baseAddress!, targets: step.buffer(target).baseAddress!)
                step.forward()
                let loss = step.scalar(objective)
                guard loss.isFinite else {
                    throw RunFailure("the loss became \(loss) at epoch \(epoch), step \(b + 1); the learning rate (\(lr)) is likely too high, or the inputs need standardizing")
                }
                lossSum += Double(loss) * Double(step.rows)
                step.backward(from: objective)
                optimizer.step(parameters, learningRate: Float(lr))
            }
            let accuracy = config.task == .regression ? nil : evaluateAccuracy()
            let record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(data.rows), trainAccuracy: accuracy,
                                     learningRate: lr, seconds: Date().timeIntervalSince(started))
            history.append(record)
            for c in callbacks { try c.epochEnded(record, trainer: self) }
        }
        for c in callbacks { try c.trainingEnded(history, trainer: self) }
    }

    /// Fraction of training rows classified correctly, in evaluation batches.
    public func evaluateAccuracy() -> Double {
        let batch = evaluation.batchCapacity, classes = model.outputUnits
        var correct = 0
        var start = 0
        let x = model.features, y = model.outputs
        while start < data.rows {
            let n = Swift.min(batch, data.rows - start)
            evaluation.rows = n
            let window = evaluation.buffer(x)
            data.features.withUnsafeBufferPointer { all in
                window.baseAddress!.update(from: all.baseAddress! + start * data.columns, count: n * data.columns)
            }
            evaluation.forward()
            let logits = evaluation.buffer(y)
            for r in 0..<n {
                let predicted: Int
                if config.task == .binary {
                    predicted = logits[r] > 0 ? 1 : 0
                } else {
                    var best = 0
                    for c in 1..<Swift.max(classes, 1) where logits[r * classes + c] > logits[r * classes + best] { best = c }
                    predicted = best
                }
                if Float(predicted) == data.targets[start + r] { correct += 1 }
            }
            start += n
        }
        return Double(correct) / Double(data.rows)
    }
}
