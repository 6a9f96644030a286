import Foundation
import DLCore
import DLData
import DLOptim

/// The training step and what surrounds it: an epoch of minibatch steps, an L-BFGS epoch, the
/// gradient norm and clipping, and what happens when the loss or gradient is not finite.
extension Trainer {
    /// What `fit` does with a non-finite loss or gradient.
    enum Recovery { case skipBatch, retryEpoch }
    enum Divergence: Error { case retry }

    /// One epoch of minibatch steps with `optimizer`, each: load, forward, backward, (MPI:
    /// reduce), check, clip, update. Resumed mid-epoch, it first replays the batches already
    /// trained, so every generator of the pipeline advances exactly as it did.
    func firstOrderEpoch(_ optimizer: Optimizer, epoch: Int, lr: Double) throws {
        let (x, y) = ownInputWindows()
        let objective = model.objective, batches = trainLoader.batchCount
        for _ in 0..<state.stepInEpoch { try skipBatch(x: x, y: y) }
        for b in state.stepInEpoch..<batches {
            hooks.stepBegins(epoch: epoch, step: b, of: batches, dataSeconds: dataSeconds)
            let n = try loadBatch(x: x, y: y)
            hooks.ended(.data)
            step.forward()
            hooks.ended(.forward)
            var loss = hooks.observedLoss(step.scalar(objective))
            step.backward(from: objective, seed: backwardSeed)
            hooks.ended(.backward)
            var correct = isClassification ? countCorrect(step, rows: step.rows) : 0
            var interrupted = InterruptSignal.pending != 0
            replicaStep?.reduce(parameters.gradients, loss: &loss, correct: &correct, interrupted: &interrupted,
                                weight: backwardSeed[0], replicated: step.share?.group == nil)
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
            hooks.ended(.gradientCheck)
            optimizer.step(parameters, learningRate: Float(lr))
            hooks.ended(.update)

            state.partialLoss += Double(loss) * Double(n)
            state.partialRows += n
            state.partialCorrect += correct
            let smoothed = state.average(Double(loss))
            state.stepInEpoch = b + 1
            for c in callbacks { c.stepEnded(epoch: epoch, step: b + 1, of: batches, smoothedLoss: smoothed, trainer: self) }
            if interrupted { try interrupt() }
        }
        hooks.epochEnded(epoch)
    }

    /// The next batch into the step's inputs `x`, `y`; under MPI this rank's slice of the
    /// global batch, with the backward seed set to its share. Returns the batch's row count.
    private func loadBatch(x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) throws -> Int {
        if let replicaStep {
            let (n, weight) = try replicaStep.load(trainLoader, into: step, x: x, y: y)
            backwardSeed[0] = weight
            return n
        }
        // The step reads the batch in the loader's slot: a copy of it fewer each step.
        let batch = try trainLoader.nextInPlace()
        step.bind(model.features, to: batch.features)
        step.bind(model.target, to: batch.targets)
        step.rows = batch.rows
        return batch.rows
    }

    /// The step's inputs back in their own windows (a previous epoch bound them to the
    /// loader's slots), for batches copied in: a resumed epoch's replay, MPI, L-BFGS.
    private func ownInputWindows() -> (x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) {
        step.bind(model.features, to: nil)
        step.bind(model.target, to: nil)
        return (step.buffer(model.features).baseAddress!, step.buffer(model.target).baseAddress!)
    }

    /// Draws the next batch without training on it (replaying a resumed epoch).
    private func skipBatch(x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) throws {
        if let replicaStep { return try replicaStep.skip(trainLoader) }
        _ = try trainLoader.next(features: x, targets: y)
    }

    /// One L-BFGS iteration on the whole training set: each evaluation is a full pass,
    /// gradients accumulated over the batches, each weighted by its share of the rows.
    func lbfgsEpoch(_ lbfgs: LBFGS, epoch: Int, lr: Double) throws {
        let objective = model.objective
        let (x, y) = ownInputWindows()
        let total = Double(data.train.rows)
        var correct = 0
        var seed: [Float] = [1]
        let loss = try lbfgs.iterate(parameters, learningRate: Float(lr)) {
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
        if InterruptSignal.pending != 0 { try interrupt() }
    }

    /// The global L2 norm of the trainable gradients (infinite or NaN when any entry is),
    /// each parameter's piece summed in the two parts its cut makes.
    func gradientNorm() -> Double {
        let g = UnsafePointer(parameters.gradients.baseAddress!)
        return trainablePieces.reduce(0.0) { $0 + SplitPasses.sumOfSquares(g, piece: $1) }.squareRoot()
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

    func nonFinite(loss: Double, norm: Double, epoch: Int, step b: Int, lr: Double) throws -> Recovery {
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

    private func interrupt() throws {
        trainLoader.finishEpoch()
        state.dropout = step.rng
        try phase { try $0.trainingInterrupted(self) }
        // Under MPI another rank may have received it: report it as Ctrl-C's.
        throw Interrupted(signal: InterruptSignal.pending != 0 ? InterruptSignal.pending : SIGINT, checkpoint: lastCheckpoint)
    }
}
