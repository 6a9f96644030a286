import DLCore
import DLData

/// A training step's data parallelism over MPI ranks: every rank gathers the same global batch
/// (so shuffling and augmentation are one process's) and computes on its slice; after the
/// backward pass one all-reduce sums the gradients (each slice's already weighted by its
/// share), and a second the step's loss, correct count and any pending interrupt, so every
/// rank stops on the same step.
final class ReplicaStep {
    let replicas: MPI
    private let features: UnsafeMutableBufferPointer<Float>
    private let targets: UnsafeMutableBufferPointer<Float>
    private let inputs: Int, targetsPerRow: Int
    private let sums = UnsafeMutablePointer<Double>.allocate(capacity: 3)

    /// Buffers for a global batch of `batch` rows of `inputs` features and `targetsPerRow` targets.
    init(replicas: MPI, batch: Int, inputs: Int, targetsPerRow: Int) {
        self.replicas = replicas
        self.inputs = inputs
        self.targetsPerRow = targetsPerRow
        features = .allocate(capacity: batch * inputs)
        targets = .allocate(capacity: batch * targetsPerRow)
    }

    deinit {
        sums.deallocate()
        features.deallocate()
        targets.deallocate()
    }

    /// Gathers the next global batch from `loader` without using it (replaying a resumed epoch).
    func skip(_ loader: BatchLoader) throws {
        _ = try loader.next(features: features.baseAddress!, targets: targets.baseAddress!)
    }

    /// Gathers the next global batch and puts this rank's rows into `step` (at `x`, `y`): ranks
    /// take contiguous slices (the first n mod size one row more); a batch smaller than the
    /// group is computed whole by every rank. Returns the global row count and the weight of
    /// this rank's backward seed (its share of the rows, or 1/size when replicated).
    func load(_ loader: BatchLoader, into step: Executor<Float>, x: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>) throws -> (rows: Int, weight: Float) {
        let n = try loader.next(features: features.baseAddress!, targets: targets.baseAddress!)
        let size = replicas.size, rank = replicas.rank
        var first = 0, rows = n, group: ReplicaGroup? = nil, weight = Float(1 / Double(size))
        if n >= size {
            let base = n / size, extra = n % size
            first = rank * base + Swift.min(rank, extra)
            rows = base + (rank < extra ? 1 : 0)
            group = replicas
            weight = Float(Double(rows) / Double(n))
        }
        step.rows = rows
        step.share = BatchShare(rowsBefore: first, globalRows: n, group: group)
        x.update(from: features.baseAddress! + first * inputs, count: rows * inputs)
        y.update(from: targets.baseAddress! + first * targetsPerRow, count: rows * targetsPerRow)
        return (n, weight)
    }

    /// Sums the gradients over the ranks, then this step's loss (weighted by `weight`), correct
    /// count and interrupt flag; `replicated`: every rank computed the whole batch.
    func reduce(_ gradients: UnsafeMutableBufferPointer<Float>, loss: inout Float, correct: inout Int, interrupted: inout Bool,
                weight: Float, replicated: Bool) {
        replicas.sum(gradients.baseAddress!, count: gradients.count)
        sums[0] = Double(loss) * Double(weight)
        sums[1] = Double(correct) / (replicated ? Double(replicas.size) : 1)
        sums[2] = interrupted ? 1 : 0
        replicas.sum(sums, count: 3)
        loss = Float(sums[0])
        correct = Int(sums[1].rounded())
        interrupted = sums[2] > 0
    }
}
