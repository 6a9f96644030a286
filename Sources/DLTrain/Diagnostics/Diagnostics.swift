import DLCore
import DLData
import DLNN
import DLOptim
import Foundation

/// The lectures' diagnostics as commands: gradient checking of the configured model, the
/// "babysitting the learning process" checks, and the sharpness of the loss.
public enum Diagnostics {
    /// A few rows of the configured data, preprocessed and encoded as training sees them, or
    /// random rows of the right width when the data cannot be read.
    struct Sample {
        var features: [Double], targets: [Double], rows: Int, inputs: Int, note: String?
    }

    /// Everything the checks need, built from a config.
    final class Context {
        let config: Config
        let data: TrainingData?
        let model: Model
        let encoding: TargetEncoding
        let classes: Int

        init(_ config: Config) throws {
            self.config = config
            var data: TrainingData? = nil, note: String? = nil
            do { data = try TrainingData(config: config) } catch let e as ConfigError { throw e } catch { note = "\(error)" }
            self.data = data
            unreadable = note
            let units = config.model.layers.last!.units
            classes = config.task == .regression ? 0 : (data?.classNames.count ?? (config.task == .binary ? 2 : units))
            let inputs = data?.preprocessor.outputColumns ?? 8
            do {
                model = try Model(inputs: inputs, spec: config.model.embedding(data?.table).weighted(data?.classWeights))
            } catch let e as ModelError {
                throw ConfigError(file: config.file, path: "model.\(e.path)", e.message)
            }
            let targetWidth = data?.train.targetWidth ?? (config.task == .regression ? units / config.model.loss.kind.outputsPerTarget : 1)
            encoding = Trainer.targetEncoding(config, classes: classes, targetWidth: targetWidth)
        }

        /// Why the data could not be read, when it could not.
        let unreadable: String?

        /// A loader over the training rows, shuffled from the seed, preprocessed, no augmentation.
        func loader(batch: Int, shuffled: Bool = true) -> BatchLoader? {
            guard let data else { return nil }
            return BatchLoader(producer: data.train, batchSize: Swift.min(batch, data.train.rows), shuffled: shuffled,
                               preprocessor: data.preprocessor, encoding: encoding, seed: config.seed &+ 0xC8EC, prefetching: false)
        }

        func sample(rows wanted: Int) throws -> Sample {
            let width = encoding.width
            if let loader = loader(batch: wanted, shuffled: false) {
                loader.startEpoch()
                var x = [Float](repeating: 0, count: loader.batchSize * model.inputs), y = [Float](repeating: 0, count: loader.batchSize * width)
                let n = try loader.next(features: &x, targets: &y)
                return Sample(features: x.prefix(n * model.inputs).map(Double.init), targets: y.prefix(n * width).map(Double.init), rows: n, inputs: model.inputs, note: nil)
            }
            var rng = RandomSource(seed: config.seed)
            let x = (0..<(wanted * model.inputs)).map { _ in rng.normal() }
            var y = [Double](repeating: 0, count: wanted * width)
            for r in 0..<wanted {
                switch encoding {
                case .oneHot(let c): y[r * c + Int(rng.next() % UInt64(c))] = 1
                case .indices: y[r] = Double(rng.next() % UInt64(Swift.max(classes, 1)))
                case .values(let w): for k in 0..<w { y[r * w + k] = config.task == .binary ? Double(rng.next() % 2) : rng.normal() }
                }
            }
            return Sample(features: x, targets: y, rows: wanted, inputs: model.inputs,
                          note: "the data could not be read (\(unreadable ?? "?")); checking on \(wanted) random rows of \(model.inputs) features instead")
        }

        /// A float64 executor of the model, initialised as fit would, fed `sample`.
        func doubleExecutor(_ sample: Sample) throws -> Executor<Double> {
            var rng = RandomSource(seed: config.seed)
            let store: ParameterStore<Double> = try model.initialParameters(rng: &rng)
            let e = try Executor(graph: model.graph, parameters: store, batchCapacity: sample.rows)
            e.rng = RandomSource(seed: config.seed &+ 0xD20F)
            try e.setInput(model.features, Tensor(shape: [sample.rows, sample.inputs], scalars: sample.features))
            let targetShape = model.graph.shape(model.target).dims.map { $0 == Shape.batch ? sample.rows : $0 }
            try e.setInput(model.target, Tensor(shape: targetShape, scalars: sample.targets))
            return e
        }
    }

    // MARK: gradcheck

    /// Compares autodiff and central differences for every parameter of the configured model
    /// (its layers, loss and penalties) in float64 on a few rows of the configured data.
    /// Batch norm uses training-mode statistics and dropout one fixed mask, so the function
    /// checked is the one training differentiates.
    public static func gradcheck(_ config: Config, rows: Int = 8, maxScalars: Int? = 2000) throws -> (text: String, passed: Bool) {
        let context = try Context(config)
        let sample = try context.sample(rows: rows)
        let executor = try context.doubleExecutor(sample)
        FaultInjection.breakDerivative(in: executor)
        let reports = GradientCheck.check(executor, loss: context.model.objective, maxScalars: maxScalars)
        var lines: [String] = []
        if let note = sample.note { lines.append(note) }
        lines.append("gradient check of \(config.file) on \(sample.rows) rows in float64: central differences (h = \(GradientCheck.defaultStep)), pass when the relative error < \(GradientCheck.defaultTolerance)")
        let width = Swift.max(9, reports.map(\.name.count).max() ?? 0)
        lines.append("parameter".padding(width) + "  checked  max relative error  verdict" + (maxScalars.map { "   (at most \($0) entries each, chosen at random; --all checks every one)" } ?? ""))
        for r in reports {
            lines.append(r.name.padding(width) + String(format: "  %7d  %18.3e  %@", r.count, r.maxRelativeError, r.passed ? "pass" : "FAIL"))
        }
        let failed = reports.filter { !$0.passed }
        if failed.isEmpty {
            lines.append("all \(reports.count) parameters pass")
        } else {
            for r in failed {
                lines.append("FAIL \(r.name)[\(r.worstIndex)]: autodiff \(r.analytic), finite differences \(r.numeric)")
            }
            lines.append("\(failed.count) of \(reports.count) parameters fail: their backward rules disagree with the forward pass")
        }
        return (lines.joined(separator: "\n"), failed.isEmpty)
    }

    // MARK: sharpness

    /// The largest eigenvalue of the Hessian of `loss` with respect to the trainable
    /// parameters, by power iteration on exact Hessian-vector products (forward-over-reverse
    /// on dual numbers), starting from a seeded random direction. Stops when the estimate
    /// changes by less than `tolerance` (relative) or after `iterations`.
    public static func sharpness(graph: Graph, parameters: ParameterStore<Double>, inputs: [NodeID: Tensor<Double>], loss: NodeID,
                                 rows: Int, iterations: Int = 100, tolerance: Double = 1e-6, seed: UInt64 = 7) throws -> (eigenvalue: Double, iterations: Int) {
        let trainable = trainableSpans(of: graph)
        var rng = RandomSource(seed: seed)
        var v = [Double](repeating: 0, count: graph.parameterCount)
        for span in trainable { for i in span { v[i] = rng.normal() } }
        func normalize(_ x: inout [Double]) {
            let norm = x.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if norm > 0 { for i in x.indices { x[i] /= norm } }
        }
        normalize(&v)
        var eigenvalue = 0.0
        for k in 1...iterations {
            var hv = try ForwardMode.hvp(graph: graph, parameters: parameters, direction: v, inputs: inputs, loss: loss, batchCapacity: rows)
            for spec in graph.parameters where !spec.trainable { for i in spec.offset..<(spec.offset + spec.count) { hv[i] = 0 } }
            let estimate = zip(v, hv).reduce(0) { $0 + $1.0 * $1.1 }  // Rayleigh quotient vᵀHv
            v = hv
            normalize(&v)
            if k > 1 && Swift.abs(estimate - eigenvalue) <= tolerance * Swift.max(Swift.abs(estimate), 1e-12) { return (estimate, k) }
            eigenvalue = estimate
        }
        return (eigenvalue, iterations)
    }
}

extension String {
    func padding(_ width: Int) -> String { self + String(repeating: " ", count: Swift.max(0, width - count)) }
}
