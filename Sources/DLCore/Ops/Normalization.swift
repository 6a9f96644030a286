// Batch normalisation (Ioffe and Szegedy 2015) over the batch axis of x (N, C).
//
// Training mode, per column c, with the batch's statistics:
//   μ = mean_i x,  σ² = mean_i (x − μ)²,  x̂ = (x − μ) / √(σ² + ε),  y = γ x̂ + β
//   running μ ← m · running μ + (1 − m) μ;  running σ² likewise with the unbiased σ² · N/(N−1)
//   dγ += Σ_i G x̂,  dβ += Σ_i G
//   dx += γ/(N √(σ²+ε)) · (N G − Σ_i G − x̂ Σ_i G x̂)
// Evaluation mode uses the running statistics: y = γ (x − running μ)/√(running σ² + ε) + β,
// an affine map whose backward is dx += G γ / √(running σ² + ε).
//
// Scratch: x̂ (N·C), 1/√(σ²+ε) (C), and two column sums (C each) for the backward pass.

/// The parameters of a batch normalisation node. `momentum` is the weight kept by the
/// running averages each step (0.9 keeps 90%, as in the lectures' code; Keras' 0.99 is the
/// same convention).
public struct BatchNormParameters: Sendable, Equatable {
    public let scale: NodeID, shift: NodeID, runningMean: NodeID, runningVariance: NodeID
    public let momentum: Double, epsilon: Double
}

extension Graph {
    /// Normalises x (N, C) per column; `scale`, `shift`, `runningMean`, `runningVariance` are (C).
    public func batchNorm(_ x: NodeID, scale: NodeID, shift: NodeID, runningMean: NodeID, runningVariance: NodeID,
                          momentum: Double = 0.9, epsilon: Double = 1e-5) throws -> NodeID {
        try checkNode("batchnorm", x, scale, shift, runningMean, runningVariance)
        let s = shape(x)
        guard s.rank == 2, s.dims[0] == Shape.batch, s.dims[1] != Shape.batch else {
            throw ShapeError("batchnorm", "expected a batch of rows (N, C), got \(s)")
        }
        for p in [scale, shift, runningMean, runningVariance] where shape(p) != Shape([s.dims[1]]) {
            throw ShapeError("batchnorm", "statistics and scale must have shape (\(s.dims[1])) to match x \(s), got \(shape(p))")
        }
        let p = BatchNormParameters(scale: scale, shift: shift, runningMean: runningMean, runningVariance: runningVariance,
                                    momentum: momentum, epsilon: epsilon)
        return append(.batchNorm(x, p), s)
    }
}

extension Executor {
    // x (N, C) -> y (N, C)
    func batchNormForward(_ x: NodeID, _ p: BatchNormParameters, _ out: NodeID) {
        let n = rows, c = shape(x).dims[1]
        let xs = value[x.index], ys = value[out.index], s = scratch[out.index]!
        let xhat = s, invStd = s + n * c, mean = s + n * c + c
        let gamma = value[p.scale.index], beta = value[p.shift.index]
        let runningMean = value[p.runningMean.index], runningVar = value[p.runningVariance.index]
        let eps = T(p.epsilon)
        if training {
            // Across replicas: the sums (then the squared deviations) of every replica's rows.
            let group = share?.group, total = group == nil ? n : share!.globalRows
            let inverseN = 1 / T(Double(total))
            for j in 0..<c { mean[j] = 0; invStd[j] = 0 }
            for i in 0..<n { for j in 0..<c { mean[j] += xs[i * c + j] } }
            if let group { sumAcrossReplicas(group, mean, c) }
            for j in 0..<c { mean[j] *= inverseN }
            for i in 0..<n {
                for j in 0..<c {
                    let d = xs[i * c + j] - mean[j]
                    invStd[j] += d * d  // σ² accumulates here first
                }
            }
            if let group { sumAcrossReplicas(group, invStd, c) }
            let keep = T(p.momentum), take = T(1 - p.momentum)
            let unbias = total > 1 ? T(Double(total) / Double(total - 1)) : 1
            for j in 0..<c {
                let variance = invStd[j] * inverseN
                runningMean[j] = keep * runningMean[j] + take * mean[j]
                runningVar[j] = keep * runningVar[j] + take * variance * unbias
                invStd[j] = 1 / T.sqrt(variance + eps)
            }
        } else {
            for j in 0..<c {
                mean[j] = runningMean[j]
                invStd[j] = 1 / T.sqrt(runningVar[j] + eps)
            }
        }
        for i in 0..<n {
            for j in 0..<c {
                let h = (xs[i * c + j] - mean[j]) * invStd[j]
                xhat[i * c + j] = h
                ys[i * c + j] = gamma[j] * h + beta[j]
            }
        }
    }

    // G (N, C) -> dx (N, C), dγ (C), dβ (C)
    func batchNormBackward(_ x: NodeID, _ p: BatchNormParameters, _ out: NodeID) {
        let n = rows, c = shape(x).dims[1]
        let g = grad[out.index]!, s = scratch[out.index]!
        let xhat = s, invStd = s + n * c, sumG = s + n * c + c, sumGX = s + n * c + 2 * c
        let gamma = value[p.scale.index]
        for j in 0..<c { sumG[j] = 0; sumGX[j] = 0 }
        for i in 0..<n {
            for j in 0..<c {
                sumG[j] += g[i * c + j]
                sumGX[j] += g[i * c + j] * xhat[i * c + j]
            }
        }
        // dγ and dβ take this replica's rows only: the gradient all-reduce adds the others'.
        if let dGamma = grad[p.scale.index] { for j in 0..<c { dGamma[j] += sumGX[j] } }
        if let dBeta = grad[p.shift.index] { for j in 0..<c { dBeta[j] += sumG[j] } }
        guard let dx = grad[x.index] else { return }
        if forwardWasTraining {
            let group = share?.group, total = group == nil ? n : share!.globalRows
            if let group {
                sumAcrossReplicas(group, sumG, c)
                sumAcrossReplicas(group, sumGX, c)
            }
            let inverseN = 1 / T(Double(total)), count = T(Double(total))
            for i in 0..<n {
                for j in 0..<c {
                    let k = i * c + j
                    dx[k] += gamma[j] * invStd[j] * inverseN * (count * g[k] - sumG[j] - xhat[k] * sumGX[j])
                }
            }
        } else {
            for i in 0..<n { for j in 0..<c { dx[i * c + j] += g[i * c + j] * gamma[j] * invStd[j] } }
        }
    }

    /// Replaces `values` (c) by their sums over the replicas, through double.
    private func sumAcrossReplicas(_ group: ReplicaGroup, _ values: UnsafeMutablePointer<T>, _ c: Int) {
        let sums = replicaSums
        for j in 0..<c { sums[j] = values[j].primal }
        group.sum(sums, count: c)
        for j in 0..<c { values[j] = T(sums[j]) }
    }
}
