import DLCore
import DLData
import DLNN
import DLOptim
import Foundation

/// `dltrain check`: the lectures' "babysitting the learning process" slides as checks with
/// verdicts. Each builds a fresh model initialised as fit would (same seed).
public enum Checks {
    public enum Verdict: String { case pass, warn, fail }

    public struct Result {
        public var name: String
        public var result: String
        public var verdict: Verdict
        public var hint: String?
    }

    /// Runs every check; writes `lr_range.svg` into `directory`.
    public static func run(_ config: Config, directory: String) throws -> (text: String, results: [Result]) {
        let context = try Diagnostics.Context(config)
        var notes: [String] = []
        if let why = context.unreadable { notes.append("the data could not be read (\(why)); checks use random rows") }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let results = [
            try initialLoss(context),
            try regularization(context),
            try overfit(context),
            try learningRateRange(context, svg: "\(directory)/lr_range.svg"),
            try activations(context),
            try sharpness(context),
        ]
        var lines = notes
        let nameWidth = results.map(\.name.count).max()!, resultWidth = Swift.min(70, results.map(\.result.count).max()!)
        lines.append("check".padding(nameWidth) + "  " + "result".padding(resultWidth) + "  verdict")
        for r in results {
            lines.append(r.name.padding(nameWidth) + "  " + r.result.padding(resultWidth) + "  " + r.verdict.rawValue)
            if let hint = r.hint, r.verdict != .pass { lines.append(String(repeating: " ", count: nameWidth + 2) + "hint: " + hint) }
        }
        let failed = results.filter { $0.verdict == .fail }.count, warned = results.filter { $0.verdict == .warn }.count
        lines.append(failed == 0 && warned == 0 ? "all \(results.count) checks pass" : "\(failed) failed, \(warned) warnings, \(results.count - failed - warned) passed")
        return (lines.joined(separator: "\n"), results)
    }

    /// A float32 executor of `model` initialised from the config's seed, with `capacity` rows.
    static func executor(_ context: Diagnostics.Context, model: Model? = nil, capacity: Int) throws -> Executor<Float> {
        let model = model ?? context.model
        var rng = RandomSource(seed: context.config.seed)
        let store: ParameterStore<Float> = try model.initialParameters(rng: &rng)
        let e = try Executor(graph: model.graph, parameters: store, batchCapacity: capacity)
        e.rng = RandomSource(seed: context.config.seed &+ 0xD20F)
        return e
    }

    static func feed(_ e: Executor<Float>, _ model: Model, _ sample: Diagnostics.Sample) {
        e.rows = sample.rows
        let x = e.buffer(model.features), y = e.buffer(model.target)
        for i in 0..<x.count { x[i] = Float(sample.features[i]) }
        for i in 0..<y.count { y[i] = Float(sample.targets[i]) }
    }

    /// (1) With regularisation off, the first loss should be what guessing gives: ln C for
    /// softmax over C classes, ln 2 for a sigmoid, C − 1 for the multiclass hinge, about 1
    /// for the squared error of standardized targets.
    static func initialLoss(_ c: Diagnostics.Context) throws -> Result {
        let sample = try c.sample(rows: 256)
        let e = try executor(c, capacity: sample.rows)
        feed(e, c.model, sample)
        e.forward()
        let loss = Double(e.scalar(c.model.dataLoss))
        let classes = Double(c.classes)
        let expected: (value: Double, what: String)? = switch c.config.model.loss.kind {
        case .crossEntropy: (Foundation.log(classes), "ln \(c.classes)")
        case .binaryCrossEntropy: (Foundation.log(2), "ln 2")
        case .hinge: (classes - 1, "C − 1")
        case .mse: (1, "1, the variance of standardized targets")
        default: nil
        }
        guard let expected else {
            return Result(name: "initial loss", result: String(format: "%.4f (no reference value for %@)", loss, c.config.model.loss.kind.rawValue), verdict: .pass)
        }
        let off = Swift.abs(loss - expected.value) / expected.value
        let text = String(format: "%.4f, expected about %.4f (%@)", loss, expected.value, expected.what)
        return Result(name: "initial loss", result: text, verdict: !loss.isFinite || off > 0.5 ? .fail : (off > 0.25 ? .warn : .pass),
                      hint: "the untrained network is far from guessing: the output layer's initial weights may be too large, or the inputs need data.preprocess.standardize")
    }

    /// (2) Turning regularisation on must raise the loss (the configured L1/L2, or an L2 of 0.01
    /// when none is configured).
    static func regularization(_ c: Diagnostics.Context) throws -> Result {
        var spec = c.model.spec
        let configured = spec.l1 > 0 || spec.l2 > 0 || spec.layers.contains { ($0.l1 ?? 0) > 0 || ($0.l2 ?? 0) > 0 }
        if !configured { spec.l2 = 0.01 }
        let model = try Model(inputs: c.model.inputs, spec: spec)
        let sample = try c.sample(rows: 64)
        let e = try executor(c, model: model, capacity: sample.rows)
        feed(e, model, sample)
        e.forward()
        let without = Double(e.scalar(model.dataLoss)), with = Double(e.scalar(model.objective))
        let text = String(format: "%.4f without, %.4f with %@", without, with, configured ? "the configured penalty" : "L2 0.01")
        return Result(name: "regularisation raises the loss", result: text, verdict: with > without ? .pass : .fail,
                      hint: "the penalty does not reach the loss; a bug in the penalty wiring")
    }

    /// (3) A small sample (20 rows) must be learnt to 100% training accuracy (or, for
    /// regression, to 1% of its initial loss) within 500 steps, regularisation and dropout off.
    static func overfit(_ c: Diagnostics.Context) throws -> Result {
        var spec = c.model.spec
        spec.l1 = 0
        spec.l2 = 0
        for k in spec.layers.indices {
            spec.layers[k].l1 = nil
            spec.layers[k].l2 = nil
            spec.layers[k].dropout = 0
        }
        let model = try Model(inputs: c.model.inputs, spec: spec)
        let sample = try c.sample(rows: 20)
        let e = try executor(c, model: model, capacity: sample.rows)
        feed(e, model, sample)
        // Regularisation off here includes the optimizer's weight decay.
        var o = c.config.optimizer
        o.weightDecay = 0
        let lr = o.learningRate
        let optimizer = OptimizerFactory.firstOrderOrAdam(o, parameterCount: model.graph.parameterCount, spans: trainableSpans(of: model.graph))
        let budget = 500
        var first = Double.nan, last = Double.nan
        for step in 1...budget {
            e.forward()
            let loss = Double(e.scalar(model.dataLoss))
            if step == 1 { first = loss }
            last = loss
            if !loss.isFinite { break }
            if learnt(e, model: model, context: c, loss: loss, initial: first) {
                return Result(name: "overfit a small sample", result: "20 rows learnt in \(step - 1) steps (loss \(String(format: "%.3g → %.3g", first, loss)))", verdict: .pass)
            }
            e.backward(from: model.dataLoss)
            optimizer.step(e.parameters, learningRate: Float(o.name == "lbfgs" ? 0.01 : lr))
        }
        let drop = (first - last) / first
        let hint: String
        if !last.isFinite || last > first {
            hint = "the loss grew (\(String(format: "%.3g → %.3g", first, last))): the learning rate (\(lr)) is likely too high"
        } else if drop < 0.1 {
            hint = "the loss barely moved (\(String(format: "%.3g → %.3g", first, last))): the learning rate (\(lr)) is likely too low; try 10 to 100 times higher"
        } else {
            hint = "the loss fell (\(String(format: "%.3g → %.3g", first, last))) but not far enough: a higher learning rate, or check the initialisation (too small weights learn slowly)"
        }
        return Result(name: "overfit a small sample", result: "20 rows not learnt in \(budget) steps", verdict: .fail, hint: hint)
    }

    static func learnt(_ e: Executor<Float>, model: Model, context c: Diagnostics.Context, loss: Double, initial: Double) -> Bool {
        guard c.config.task != .regression else { return loss < 0.01 * initial }
        return correctPredictions(outputs: e.buffer(model.outputs), targets: e.buffer(model.target), rows: e.rows,
                                  classes: model.outputUnits, loss: c.config.model.loss.kind) == e.rows
    }

    /// (4) Learning-rate range test (Smith 2017): 200 steps with the rate growing from 1e-7 to
    /// 10 geometrically, from a fresh initialisation; the smoothed loss against the rate goes
    /// to `svg`; the suggestion is the rate of the lowest smoothed loss divided by 10.
    static func learningRateRange(_ c: Diagnostics.Context, svg: String) throws -> Result {
        let batch = c.config.batchSize, steps = 200, low = 1e-7, high = 10.0
        let e = try executor(c, capacity: batch)
        let model = c.model
        let optimizer = OptimizerFactory.firstOrderOrAdam(c.config.optimizer, parameterCount: model.graph.parameterCount, spans: trainableSpans(of: model.graph))
        let loader = c.loader(batch: batch)
        loader?.startEpoch()
        let x = e.buffer(model.features).baseAddress!, y = e.buffer(model.target).baseAddress!
        var points: [(x: Double, y: Double)] = [], average = 0.0, best = (loss: Double.infinity, lr: low)
        for k in 0..<steps {
            let lr = low * Foundation.pow(high / low, Double(k) / Double(steps - 1))
            if let loader {
                e.rows = batch
                var rows = try loader.next(features: x, targets: y)
                if rows == 0 { loader.startEpoch(); rows = try loader.next(features: x, targets: y) }
                e.rows = rows
            } else {
                feed(e, model, try c.sample(rows: Swift.min(batch, 64)))
            }
            e.forward()
            let loss = Double(e.scalar(model.objective))
            if !loss.isFinite { break }
            average = 0.98 * average + 0.02 * loss
            let smoothed = average / (1 - Foundation.pow(0.98, Double(k + 1)))
            points.append((lr, smoothed))
            if smoothed < best.loss { best = (smoothed, lr) }
            if k > 10 && smoothed > 4 * best.loss { break }
            e.backward(from: model.objective)
            optimizer.step(e.parameters, learningRate: Float(lr))
        }
        let suggestion = best.lr / 10
        let chart = Chart(title: "Learning-rate range test: \((c.config.file as NSString).lastPathComponent)", xLabel: "learning rate (log scale)", panels: [
            Chart.Panel(title: String(format: "Smoothed training loss; suggested lr %.2g (lowest loss at %.2g, ÷10)", suggestion, best.lr), yLabel: "loss",
                        series: [Chart.Series(name: "loss", points: points, color: "#1f77b4")], logY: false, logX: true),
        ])
        try chart.svg().write(toFile: svg, atomically: true, encoding: .utf8)
        let configured = c.config.optimizer.learningRate
        let verdict: Verdict = configured > best.lr * 3 ? .warn : .pass
        return Result(name: "learning-rate range test", result: String(format: "suggested lr %.2g (configured %.2g); %@", suggestion, configured, svg), verdict: verdict,
                      hint: String(format: "the configured rate is past the loss minimum of the range test (%.2g); it may diverge", best.lr))
    }

    /// (5) Activations per layer at initialisation on a batch: mean, standard deviation and the
    /// fraction of dead units (never positive in the batch, for the ReLU family). Layers whose
    /// spread collapses (std below 1% of the first hidden layer's) or explodes (100 times it)
    /// are flagged, as in the lecture's experiment with 0.01·randn in deep networks.
    static func activations(_ c: Diagnostics.Context) throws -> Result {
        let sample = try c.sample(rows: 256)
        let e = try executor(c, capacity: sample.rows)
        feed(e, c.model, sample)
        e.forward()
        var parts: [String] = [], verdict = Verdict.pass, reference: Double? = nil, hint: String? = nil
        for (k, layer) in c.model.spec.layers.enumerated().dropLast() {
            let (node, width) = c.model.layerOutputs[k]
            let values = e.buffer(node), rows = e.rows
            var sum = 0.0, squares = 0.0, dead = 0
            for j in 0..<width {
                var alive = false
                for r in 0..<rows {
                    let v = Double(values[r * width + j])
                    sum += v
                    squares += v * v
                    if v > 0 { alive = true }
                }
                if !alive { dead += 1 }
            }
            let count = Double(rows * width), mean = sum / count, std = Swift.max(0, squares / count - mean * mean).squareRoot()
            let relu = [.relu, .leakyRelu, .prelu, .elu, .selu, .gelu, .swish, .silu, .softplus].contains(layer.activation)
            parts.append(String(format: "%@ mean %.3g std %.3g", layer.name, mean, std) + (layer.activation == .relu ? String(format: " dead %.0f%%", 100 * Double(dead) / Double(width)) : ""))
            if let reference {
                if std < 0.01 * reference { verdict = .warn; hint = "activations shrink layer by layer (\(layer.name) std \(String(format: "%.2g", std))): the initial weights are too small; use he_normal for ReLU, xavier for tanh" }
                if std > 100 * reference { verdict = .warn; hint = "activations grow layer by layer (\(layer.name)): the initial weights are too large" }
            } else {
                reference = std
            }
            if relu && layer.activation == .relu && Double(dead) / Double(width) > 0.5 {
                verdict = .warn
                hint = "more than half of \(layer.name)'s ReLUs are dead at initialisation: a small positive bias_init (0.01) or he_normal helps"
            }
            if !std.isFinite || (std == 0 && k == 0) { verdict = .fail; hint = "\(layer.name)'s activations are all zero or not finite" }
        }
        return Result(name: "activations at initialisation", result: parts.isEmpty ? "no hidden layers" : parts.joined(separator: "; "), verdict: verdict, hint: hint)
    }

    /// (6) Sharpness: the Hessian's largest eigenvalue at initialisation on 64 rows, beside
    /// the stability bound 2/lr of plain gradient descent.
    static func sharpness(_ c: Diagnostics.Context) throws -> Result {
        let sample = try c.sample(rows: 64)
        let e = try c.doubleExecutor(sample)
        var inputs: [NodeID: Tensor<Double>] = [:]
        inputs[c.model.features] = e.value(of: c.model.features)
        inputs[c.model.target] = e.value(of: c.model.target)
        let (lambda, iterations) = try Diagnostics.sharpness(graph: c.model.graph, parameters: e.parameters, inputs: inputs, loss: c.model.objective,
                                                             rows: sample.rows, iterations: 60, tolerance: 1e-4)
        let bound = 2 / c.config.optimizer.learningRate
        return Result(name: "sharpness (top Hessian eigenvalue)", result: String(format: "%.4g after %d iterations; 2/lr = %.4g", lambda, iterations, bound),
                      verdict: Swift.abs(lambda) < bound || c.config.optimizer.name != "sgd" ? .pass : .warn,
                      hint: "plain gradient descent is unstable when the sharpness exceeds 2/lr; lower the learning rate")
    }
}
