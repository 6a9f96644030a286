import DLCore

/// Training objectives, each a scalar node: the mean over the batch.
public enum Loss: String, Sendable, CaseIterable {
    /// Softmax cross-entropy on logits (N, C) against target distributions t (N, C), one-hot
    /// rows for plain labels: `−Σ_c t_c log softmax(z)_c`, log-softmax max-subtracted
    /// (log-sum-exp) for stability. With label smoothing ε the target is `(1 − ε) t + ε/C`;
    /// with class weights w the mean is weighted, `Σ (w·t) l / Σ (w·t)` (PyTorch's convention
    /// for one-hot t). Soft rows are what mixup produces.
    case crossEntropy = "cross_entropy"
    /// Sigmoid cross-entropy from one logit per row (N, 1), 0/1 targets:
    /// `softplus(z) − z y`, which never takes the log of a rounded-off probability. With
    /// class weights (w₀, w₁) the mean is weighted as cross-entropy's, `Σ w_y l / Σ w_y`.
    case binaryCrossEntropy = "binary_cross_entropy"
    /// `mean((z − y)²)` over rows and outputs.
    case mse
    /// `mean(|z − y|)`.
    case mae
    /// Huber (1964): `½ r²` for `|r| ≤ δ`, `δ (|r| − ½ δ)` beyond.
    case huber
    /// Multiclass SVM (Weston and Watkins), margin 1, as in the lecture:
    /// `Σ_{j ≠ y} max(0, z_j − z_y + 1)` per row.
    case hinge
    /// Heteroscedastic regression: the network outputs a mean μ and a raw scale s per target,
    /// σ² = softplus(s) + 1e-6, and the loss is `½ (log σ² + (y − μ)² / σ²)` (the constant
    /// ½ log 2π dropped).
    case gaussianNLL = "gaussian_nll"

    /// Whether targets are class indices (one per row) rather than a row per output.
    public var takesClassIndices: Bool { self == .hinge }

    /// Whether the task's targets are classes (as index or one-hot).
    public var isClassification: Bool { self == .crossEntropy || self == .hinge }

    /// Output units per target column: two for gaussian_nll (mean and scale).
    public var outputsPerTarget: Int { self == .gaussianNLL ? 2 : 1 }

    /// The target input's shape for a model with `outputs` output units.
    public func targetShape(outputs: Int) -> [Int] {
        takesClassIndices ? [Shape.batch] : [Shape.batch, outputs / outputsPerTarget]
    }
}

/// A loss with its options.
public struct LossSpec: Sendable {
    public var kind: Loss
    public var labelSmoothing: Double = 0
    /// One weight per class (cross_entropy, and binary_cross_entropy's two classes).
    public var classWeights: [Double]? = nil
    public var huberDelta: Double = 1

    public init(_ kind: Loss) { self.kind = kind }

    /// Builds the mean loss of `z` (N, outputs) against `y` (an input of the target shape).
    public func build(on g: Graph, outputs z: NodeID, target y: NodeID) throws -> NodeID {
        switch kind {
        case .crossEntropy:
            let logp = try g.logSoftmax(z)
            var perRow = try g.neg(try g.sum(try g.mul(logp, y), axis: 1))  // (N)
            if labelSmoothing > 0 {
                let uniform = try g.neg(try g.mean(logp, axis: 1))
                perRow = try g.add(try g.mul(perRow, g.constant(1 - labelSmoothing)), try g.mul(uniform, g.constant(labelSmoothing)))
            }
            guard let weights = classWeights else { return try g.mean(perRow) }
            let table = g.constant(try Tensor<Double>(shape: [weights.count, 1], scalars: weights), name: "class_weights")
            let w = try g.reshape(try g.matmul(y, table), [Shape.batch])  // w·t per row
            return try g.div(try g.sum(try g.mul(w, perRow)), try g.sum(w))
        case .binaryCrossEntropy:
            let perRow = try g.sub(try g.unary(.softplus, z), try g.mul(z, y))  // (N, 1)
            guard let weights = classWeights, weights.count == 2 else { return try g.mean(perRow) }
            let w = try g.add(try g.mul(y, g.constant(weights[1] - weights[0])), g.constant(weights[0]))  // w_y per row
            return try g.div(try g.sum(try g.mul(w, perRow)), try g.sum(w))
        case .mse:
            let r = try g.sub(z, y)
            return try g.mean(try g.mul(r, r))
        case .mae:
            return try g.mean(try g.abs(try g.sub(z, y)))
        case .huber:
            let a = try g.abs(try g.sub(z, y)), delta = g.constant(huberDelta)
            let q = try g.minimum(a, delta)  // |r| clipped at δ: ½q² + δ(|r| − q) is Huber's loss
            return try g.mean(try g.add(try g.mul(try g.mul(q, q), g.constant(0.5)), try g.mul(try g.sub(a, q), delta)))
        case .hinge:
            let classes = g.shape(z).dims[1]
            let correct = try g.reshape(try g.pick(z, y), [Shape.batch, 1])
            let margins = try g.maximum(try g.add(try g.sub(z, correct), g.constant(1)), g.constant(0))
            // The j = y term is max(0, 1) = 1 in every row; removing it leaves Σ_{j≠y}.
            return try g.sub(try g.mul(try g.mean(margins), g.constant(Double(classes))), g.constant(1))
        case .gaussianNLL:
            let targets = g.shape(y).dims[1]
            let mean = try g.slice(try g.reshape(z, [Shape.batch, targets, 2]), axis: 2, start: 0, count: 1)
            let scale = try g.slice(try g.reshape(z, [Shape.batch, targets, 2]), axis: 2, start: 1, count: 1)
            let variance = try g.add(try g.unary(.softplus, scale), g.constant(1e-6))
            let r = try g.sub(try g.reshape(mean, [Shape.batch, targets]), y)
            let v = try g.reshape(variance, [Shape.batch, targets])
            return try g.mul(try g.mean(try g.add(try g.log(v), try g.div(try g.mul(r, r), v))), g.constant(0.5))
        }
    }
}
