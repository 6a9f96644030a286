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
/// into reused slots. With prefetching, a background thread prepares the next batches
/// while the current one trains (the lectures' "prefetch data on CPU threads"); either way
/// nothing is allocated per batch.
public final class BatchLoader: @unchecked Sendable {
    public let batchSize: Int
    public let dropLast: Bool
    public let shuffled: Bool
    public let prefetching: Bool
    private let pipeline: Pipeline
    private var worker: Thread?
    private var consumed = 0
    /// Whether the slot of the batch last served in place is still the caller's.
    private var holdingSlot = false

    public init(producer: RowProducer, batchSize: Int, dropLast: Bool = false, shuffled: Bool, preprocessor: Preprocessor,
                encoding: TargetEncoding, augmenter: Augmenter? = nil, seed: UInt64, prefetching: Bool = true) {
        self.batchSize = batchSize
        self.dropLast = dropLast && producer.rows >= batchSize
        self.shuffled = shuffled
        self.prefetching = prefetching
        pipeline = Pipeline(producer: producer, batchSize: batchSize, preprocessor: preprocessor, encoding: encoding,
                            augmenter: augmenter, seed: seed)
    }

    deinit { finishEpoch() }

    public var producer: RowProducer { pipeline.producer }
    public var preprocessor: Preprocessor { pipeline.preprocessor }
    public var encoding: TargetEncoding { pipeline.encoding }
    public var augmenter: Augmenter? { pipeline.augmenter }
    public var featureWidth: Int { pipeline.preprocessor.outputColumns }
    public var targetWidth: Int { pipeline.encoding.width }
    /// Orders the epochs; its state at an epoch's start is what resuming needs.
    public var rng: RandomSource {
        get { pipeline.rng }
        set { pipeline.rng = newValue }
    }

    /// Batches per epoch.
    public var batchCount: Int {
        dropLast ? pipeline.producer.rows / batchSize : (pipeline.producer.rows + batchSize - 1) / batchSize
    }

    /// Orders a new epoch and, when prefetching, starts preparing its batches.
    public func startEpoch() {
        finishEpoch()
        pipeline.begin(shuffled: shuffled)
        consumed = 0
        guard prefetching else { return }
        // The thread holds the pipeline, never the loader: dropping a loader mid-epoch
        // cancels its thread (in deinit) instead of leaving it reading a freed object.
        let thread = Thread { [pipeline, batches = batchCount] in pipeline.produce(batches: batches) }
        thread.stackSize = 1 << 20
        worker = thread
        thread.start()
    }

    /// The CPU the producing thread was bound to when it prepared the batches served so far
    /// (it follows the helper thread's), -1 while unbound or without prefetching.
    var producerCPU: Int { prefetching ? pipeline.producerCPU : -1 }

    /// Stops a prefetching epoch early (for example when training stops mid-epoch) and
    /// waits for its thread.
    public func finishEpoch() {
        holdingSlot = false
        guard let worker else { return }
        if !worker.isFinished {
            pipeline.cancel()
            while !worker.isFinished { usleep(50) }
        }
        self.worker = nil
    }

    /// Copies the next batch into `features` (rows × featureWidth) and `targets`
    /// (rows × targetWidth); returns its rows, 0 when the epoch is over.
    public func next(features: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>) throws -> Int {
        returnSlot()
        guard consumed < batchCount else { return 0 }
        consumed += 1
        guard prefetching else {
            // Prepared straight into the caller's buffers: no slot to hand over, so no copy.
            return try pipeline.prepare(slot: 0, features: features, targets: targets)
        }
        try pipeline.waitForSlot()
        let rows = pipeline.copy(slot: (consumed - 1) % Pipeline.slotCount, features: features, targets: targets)
        pipeline.release()
        return rows
    }

    /// A batch served where the loader prepared it: `rows` rows of featureWidth features and
    /// targetWidth targets, for `batchSize` rows of room.
    public struct Batch {
        public let features: UnsafeMutablePointer<Float>
        public let targets: UnsafeMutablePointer<Float>
        public let rows: Int
    }

    /// The next batch without a copy: its slot stays the caller's, unchanged, until the next
    /// call of either `next`, or the epoch's end (when the following ``startEpoch()`` refills
    /// the slots). Meanwhile, prefetching, the other slots take the batches after. Rows 0 when
    /// the epoch is over.
    public func nextInPlace() throws -> Batch {
        returnSlot()
        let k = consumed % Pipeline.slotCount, slot = pipeline.slot(k)
        guard consumed < batchCount else { return Batch(features: slot.features, targets: slot.targets, rows: 0) }
        consumed += 1
        let rows: Int
        if prefetching {
            try pipeline.waitForSlot()
            rows = pipeline.rows(slot: k)
            holdingSlot = true
        } else {
            rows = try pipeline.prepare(slot: k, features: slot.features, targets: slot.targets)
        }
        return Batch(features: slot.features, targets: slot.targets, rows: rows)
    }

    /// Gives the slot served in place back to the producing thread.
    private func returnSlot() {
        guard holdingSlot else { return }
        holdingSlot = false
        pipeline.release()
    }
}

/// The batch pipeline and its slots; shared by the loader and its producing thread.
private final class Pipeline: @unchecked Sendable {
    /// The slot a step reads in place and two ahead: the producing thread keeps the slack it
    /// had when steps copied their batch out and freed the slot at once. It runs beside the two
    /// training threads and is not always scheduled within a step (mnist, Zen 3, 2 threads:
    /// with one slot ahead a step waited 0.02-0.14 ms for its batch, in a 2.7 ms step).
    static let slotCount = 3
    let producer: RowProducer
    let batchSize: Int
    let preprocessor: Preprocessor
    let encoding: TargetEncoding
    let augmenter: Augmenter?
    var rng: RandomSource

    private struct Slot {
        let raw: UnsafeMutableBufferPointer<Float>
        let rawTargets: UnsafeMutableBufferPointer<Float>
        let features: UnsafeMutableBufferPointer<Float>
        let targets: UnsafeMutableBufferPointer<Float>
    }
    /// Immutable once made, so both threads may read it; what changes lives behind pointers.
    private let slots: [Slot]
    /// Rows in each slot, written by the producing thread before it signals `filled`.
    private let slotRows = UnsafeMutablePointer<Int>.allocate(capacity: slotCount)
    private var filled = DispatchSemaphore(value: 0)
    private var free = DispatchSemaphore(value: 0)
    private var cancelled = false
    private var failure: Error?

    init(producer: RowProducer, batchSize: Int, preprocessor: Preprocessor, encoding: TargetEncoding, augmenter: Augmenter?, seed: UInt64) {
        self.producer = producer
        self.batchSize = batchSize
        self.preprocessor = preprocessor
        self.encoding = encoding
        self.augmenter = augmenter
        rng = RandomSource(seed: seed)
        func buffer(_ n: Int) -> UnsafeMutableBufferPointer<Float> {
            let b = UnsafeMutableBufferPointer<Float>.allocate(capacity: Swift.max(n, 1))
            b.initialize(repeating: 0)
            return b
        }
        let rawWidth = Swift.max(producer.columns, preprocessor.outputColumns)
        slotRows.initialize(repeating: 0, count: Self.slotCount)
        slots = (0..<Self.slotCount).map { _ in
            Slot(raw: buffer(batchSize * rawWidth), rawTargets: buffer(batchSize * Swift.max(producer.targetWidth, 1)),
                 features: buffer(batchSize * preprocessor.outputColumns), targets: buffer(batchSize * Swift.max(encoding.width, 1)))
        }
    }

    deinit {
        for slot in slots {
            slot.raw.deallocate()
            slot.rawTargets.deallocate()
            slot.features.deallocate()
            slot.targets.deallocate()
        }
        slotRows.deallocate()
    }

    /// Called with no producing thread running.
    func begin(shuffled: Bool) {
        producer.beginEpoch(shuffled: shuffled, rng: &rng)
        failure = nil
        cancelled = false
        // Made at 0 and signalled up: libdispatch traps when a semaphore is destroyed below
        // the value it was created with, which a cancelled epoch can leave it at.
        filled = DispatchSemaphore(value: 0)
        free = DispatchSemaphore(value: 0)
        for _ in 0..<Self.slotCount { free.signal() }
    }

    /// The CPU the producing thread is bound to (``followHelper()``), -1 while unbound; written
    /// by that thread before it signals a filled slot.
    private(set) var producerCPU = -1

    /// The producing thread's loop: fill a free slot, say so, until the epoch is done.
    func produce(batches: Int) {
        producerCPU = -1
        for b in 0..<batches {
            free.wait()
            if cancelled { return }
            followHelper()
            let k = b % Self.slotCount
            do { try prepare(slot: k, features: slots[k].features.baseAddress!, targets: slots[k].targets.baseAddress!) } catch {
                failure = error
                slotRows[k] = 0
            }
            filled.signal()
            if failure != nil { return }
        }
    }

    /// Binds the producing thread to the CPU the training step's helper thread last ran on,
    /// following it when it moves.
    ///
    /// With products split over two threads both cores are busy through the step, and the time
    /// this thread gets is what the helper gives up between its jobs (it yields its core while it
    /// waits). Left to itself, the scheduler often woke this thread on the CPU of the training
    /// thread that freed the slot, which never gives way: it then ran only while that thread
    /// waited for its batch, and the step paid the whole preparation. mnist, 2 threads, AMD EPYC
    /// family 25 model 17 (Zen 4): the data phase took 0.13-0.14 ms a step in that case (one core
    /// preparing inline: 0.12); following the helper, 16 interleaved rounds: a median of 0.006
    /// against 0.106 ms, epoch 2 at 0.983x the time (11 of 16 rounds faster).
    private func followHelper() {
        guard let cpu = HelperThread.shared?.cpu, cpu != producerCPU else { return }
        if AvailableCPUs.bindCallingThread(to: cpu) { producerCPU = cpu }
    }

    func cancel() {
        cancelled = true
        for _ in 0..<Self.slotCount { free.signal() }
    }

    func waitForSlot() throws {
        filled.wait()
        if let failure { throw failure }
    }

    func release() { free.signal() }

    func slot(_ k: Int) -> (features: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>) {
        (slots[k].features.baseAddress!, slots[k].targets.baseAddress!)
    }

    func rows(slot k: Int) -> Int { slotRows[k] }

    func copy(slot k: Int, features: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>) -> Int {
        let slot = slots[k], rows = slotRows[k]
        features.update(from: slot.features.baseAddress!, count: rows * preprocessor.outputColumns)
        targets.update(from: slot.targets.baseAddress!, count: rows * encoding.width)
        return rows
    }

    /// The next batch into `features` (rows × outputColumns) and `targets` (rows × the
    /// encoding's width), with slot `k`'s raw buffers as scratch; returns its rows, also kept
    /// as the slot's.
    @discardableResult
    func prepare(slot k: Int, features: UnsafeMutablePointer<Float>, targets y: UnsafeMutablePointer<Float>) throws -> Int {
        let s = slots[k]
        // Without a projection the rows keep their width: gathered straight into the features
        // and transformed in place, one pass over the batch fewer.
        let gathered = preprocessor.projection == nil && producer.columns == preprocessor.outputColumns ? features : s.raw.baseAddress!
        let n = try producer.next(batchSize, features: gathered, targets: s.rawTargets.baseAddress!)
        slotRows[k] = n
        guard n > 0 else { return 0 }
        augmenter?.warpImages(gathered, rows: n)
        preprocessor.transform(gathered, rows: n, into: features)
        let raw = s.rawTargets.baseAddress!
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
        augmenter?.perturb(features: features, rows: n, width: preprocessor.outputColumns, targets: y, targetWidth: encoding.width)
        return n
    }
}
