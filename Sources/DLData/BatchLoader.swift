import DLCore
import Foundation

/// How targets reach the loss.
public enum TargetEncoding: Sendable, Equatable {
    /// One class index per row (hinge).
    case indices
    /// One row of C probabilities per row (cross-entropy; mixup blends them).
    case oneHot(classes: Int)
    /// Values as read, standardized when the preprocessor says so (regression, binary).
    case values(width: Int)

    public var width: Int {
        switch self {
        case .indices: 1
        case .oneHot(let c): c
        case .values(let w): w
        }
    }
}

/// Serves minibatches: raw rows from a ``RowProducer`` go through the batch pipeline
///
///     image warp (training) → preprocessing → noise, target encoding, mixup (training)
///
/// into two reused slots. With prefetching, a background thread prepares the next batch
/// while the current one trains (the lectures' "prefetch data on CPU threads"); either way
/// nothing is allocated per batch.
public final class BatchLoader: @unchecked Sendable {
    public let producer: RowProducer
    public let batchSize: Int
    public let dropLast: Bool
    public let shuffled: Bool
    public let preprocessor: Preprocessor
    public let encoding: TargetEncoding
    public let augmenter: Augmenter?
    /// Orders the epochs; its state at an epoch's start is what resuming needs.
    public var rng: RandomSource
    public let prefetching: Bool

    private struct Slot {
        let raw: UnsafeMutableBufferPointer<Float>
        let rawTargets: UnsafeMutableBufferPointer<Float>
        let features: UnsafeMutableBufferPointer<Float>
        let targets: UnsafeMutableBufferPointer<Float>
    }
    /// Immutable once made, so both threads may read it; what changes lives behind pointers.
    private let slots: [Slot]
    /// Rows in each slot, written by the producing thread before it signals `filled`.
    private let slotRows = UnsafeMutablePointer<Int>.allocate(capacity: 2)
    private var filled = DispatchSemaphore(value: 0)
    private var free = DispatchSemaphore(value: 2)
    private var worker: Thread?
    private var workerError: Error?
    private var cancelled = false
    private var consumed = 0

    public init(producer: RowProducer, batchSize: Int, dropLast: Bool = false, shuffled: Bool, preprocessor: Preprocessor,
                encoding: TargetEncoding, augmenter: Augmenter? = nil, seed: UInt64, prefetching: Bool = true) {
        self.producer = producer
        self.batchSize = batchSize
        self.dropLast = dropLast && producer.rows >= batchSize
        self.shuffled = shuffled
        self.preprocessor = preprocessor
        self.encoding = encoding
        self.augmenter = augmenter
        self.rng = RandomSource(seed: seed)
        self.prefetching = prefetching
        func buffer(_ n: Int) -> UnsafeMutableBufferPointer<Float> {
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: Swift.max(n, 1))
            b.initialize(repeating: 0)
            return b
        }
        let rawWidth = Swift.max(producer.columns, preprocessor.outputColumns)
        slotRows.initialize(repeating: 0, count: 2)
        slots = (0..<2).map { _ in
            Slot(raw: buffer(batchSize * rawWidth), rawTargets: buffer(batchSize * Swift.max(producer.targetWidth, 1)),
                 features: buffer(batchSize * preprocessor.outputColumns), targets: buffer(batchSize * Swift.max(encoding.width, 1)))
        }
    }

    deinit {
        finishEpoch()
        for slot in slots {
            slot.raw.deallocate()
            slot.rawTargets.deallocate()
            slot.features.deallocate()
            slot.targets.deallocate()
        }
        slotRows.deallocate()
    }

    public var featureWidth: Int { preprocessor.outputColumns }
    public var targetWidth: Int { encoding.width }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? producer.rows / batchSize : (producer.rows + batchSize - 1) / batchSize
    }

    /// Orders a new epoch and, when prefetching, starts preparing its batches.
    public func startEpoch() {
        finishEpoch()
        producer.beginEpoch(shuffled: shuffled, rng: &rng)
        consumed = 0
        workerError = nil
        cancelled = false
        filled = DispatchSemaphore(value: 0)
        free = DispatchSemaphore(value: 2)
        guard prefetching else { return }
        let batches = batchCount
        let thread = Thread { [unowned self] in
            for b in 0..<batches {
                self.free.wait()
                if self.cancelled { break }
                do { try self.prepare(slot: b % 2) } catch {
                    self.workerError = error
                    self.slotRows[b % 2] = 0
                }
                self.filled.signal()
                if self.workerError != nil { break }
            }
        }
        thread.stackSize = 1 << 20
        worker = thread
        thread.start()
    }

    /// Stops a prefetching epoch early (for example when training stops mid-epoch).
    public func finishEpoch() {
        guard let worker, !worker.isFinished else { return }
        cancelled = true
        free.signal()
        free.signal()
        while !worker.isFinished { usleep(100) }
    }

    /// Copies the next batch into `features` (rows × featureWidth) and `targets`
    /// (rows × targetWidth); returns its rows, 0 when the epoch is over.
    public func next(features: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>) throws -> Int {
        guard consumed < batchCount else { return 0 }
        let k = consumed % 2
        if prefetching {
            filled.wait()
            if let workerError { throw workerError }
        } else {
            try prepare(slot: k)
        }
        let slot = slots[k], rows = slotRows[k]
        features.update(from: slot.features.baseAddress!, count: rows * featureWidth)
        targets.update(from: slot.targets.baseAddress!, count: rows * targetWidth)
        consumed += 1
        if prefetching { free.signal() }
        return rows
    }

    private func prepare(slot k: Int) throws {
        let s = slots[k]
        let n = try producer.next(batchSize, features: s.raw.baseAddress!, targets: s.rawTargets.baseAddress!)
        slotRows[k] = n
        guard n > 0 else { return }
        augmenter?.warpImages(s.raw.baseAddress!, rows: n)
        preprocessor.transform(s.raw.baseAddress!, rows: n, into: s.features.baseAddress!)
        let y = s.targets.baseAddress!, raw = s.rawTargets.baseAddress!
        switch encoding {
        case .indices:
            y.update(from: raw, count: n)
        case .oneHot(let classes):
            y.update(repeating: 0, count: n * classes)
            for r in 0..<n { y[r * classes + Int(raw[r])] = 1 }
        case .values(let width):
            y.update(from: raw, count: n * width)
            if let shift = preprocessor.targetShift, let scale = preprocessor.targetScale {
                for r in 0..<n { for c in 0..<width { y[r * width + c] = (y[r * width + c] - shift[c]) * scale[c] } }
            }
        }
        augmenter?.perturb(features: s.features.baseAddress!, rows: n, width: featureWidth, targets: y, targetWidth: targetWidth)
    }
}
