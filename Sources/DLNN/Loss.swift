import DLCore

/// Training objectives, each a scalar node: the mean over the batch.
public enum Loss: String, Sendable, CaseIterable {
    /// Softmax cross-entropy on logits (N, C) with integer class targets (N):
    /// `−mean_i log softmax(z_i)[y_i]`, log-softmax max-subtracted for stability.
    case crossEntropy = "cross_entropy"
    /// Sigmoid cross-entropy on one logit per row (N, 1) with 0/1 targets (N, 1), from logits:
    /// `mean(softplus(z) − z y)`, which never takes the log of a rounded-off probability.
    case binaryCrossEntropy = "binary_cross_entropy"
    /// Mean squared error over rows and outputs, `mean((z − y)²)`.
    case mse

    /// Whether targets are class indices (one per row) rather than values per output.
    public var takesClassIndices: Bool { self == .crossEntropy }

    /// The target input's shape for a model with `outputs` output units.
    public func targetShape(outputs: Int) -> [Int] {
        takesClassIndices ? [Shape.batch] : [Shape.batch, outputs]
    }

    /// Builds the loss of `logits` against `target` (an input of ``targetShape(outputs:)``).
    public func build(on g: Graph, logits: NodeID, target: NodeID) throws -> NodeID {
        switch self {
        case .crossEntropy:
            return try g.neg(try g.mean(try g.pick(try g.logSoftmax(logits), target)))
        case .binaryCrossEntropy:
            return try g.mean(try g.sub(try g.unary(.softplus, logits), try g.mul(logits, target)))
        case .mse:
            let r = try g.sub(logits, target)
            return try g.mean(try g.mul(r, r))
        }
    }
}
