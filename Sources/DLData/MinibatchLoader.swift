import DLCore

/// Serves a dataset as shuffled minibatches, gathered into caller-owned buffers.
///
/// The order of each epoch is a permutation drawn from the loader's ``RandomSource``, so a
/// run is reproducible from its seed. Gathering writes straight into the executor's input
/// windows: no batch is allocated.
public final class MinibatchLoader {
    public let dataset: Dataset
    public let batchSize: Int
    public let dropLast: Bool
    public private(set) var rng: RandomSource
    private var order: [Int]

    public init(dataset: Dataset, batchSize: Int, seed: UInt64, dropLast: Bool = false) {
        self.dataset = dataset
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.rng = RandomSource(seed: seed)
        self.order = Array(0..<dataset.rows)
    }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? dataset.rows / batchSize : (dataset.rows + batchSize - 1) / batchSize
    }

    /// Draws the next epoch's order (Fisher–Yates).
    public func shuffle() {
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            let j = Int(rng.next() % UInt64(i + 1))
            order.swapAt(i, j)
        }
    }

    /// Copies batch `b` of the current order into `features` (rows × columns) and
    /// `targets` (rows); returns the number of rows.
    @discardableResult
    public func gather(batch b: Int, features: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>) -> Int {
        let start = b * batchSize, n = Swift.min(batchSize, dataset.rows - start)
        let d = dataset.columns
        dataset.features.withUnsafeBufferPointer { x in
            for r in 0..<n {
                let row = order[start + r]
                (features + r * d).update(from: x.baseAddress! + row * d, count: d)
                targets[r] = dataset.targets[row]
            }
        }
        return n
    }

    /// The row indices of batch `b` in the current order (for tests and diagnostics).
    public func indices(ofBatch b: Int) -> ArraySlice<Int> {
        let start = b * batchSize
        return order[start..<Swift.min(start + batchSize, dataset.rows)]
    }
}
