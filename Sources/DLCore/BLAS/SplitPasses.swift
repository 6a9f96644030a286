import Glibc

/// The step's memory-bound passes over whole slabs, cut in two halves with the second on the
/// helper thread, as the products are: zeroing the gradients before a backward pass, and the
/// sum of squares behind the gradient norm (and the optimizer's update, in DLOptim, which
/// cuts the parameter slab at the same ``SlabPiece``s). On one thread each was a few per cent of an
/// `mnist` step (`perf`, AMD EPYC Zen 3: the zeroing memset 2.4% of all samples, the norm
/// 1.1%, both on the caller while the helper waited). A pass splits from ``minimumCount``
/// scalars (below it the handover costs more than the half saves) and only when products
/// are split. The halves are fixed, whichever thread computes them, so a sum is the same on
/// every run: the first half's sum plus the second's.
public enum SplitPasses {
    /// Scalars from which a pass is shared with the helper.
    public static let minimumCount = 32_768

    /// One half's job, as plain values so that it crosses to the helper unallocated.
    struct Half {
        var start: UnsafeMutableRawPointer
        var bytes: Int
        var squares: Double = 0

        static let zero: @convention(c) (UnsafeMutableRawPointer) -> Void = { raw in
            let half = raw.assumingMemoryBound(to: Half.self)
            memset(half.pointee.start, 0, half.pointee.bytes)
        }
        static let sumOfSquares: @convention(c) (UnsafeMutableRawPointer) -> Void = { raw in
            let half = raw.assumingMemoryBound(to: Half.self)
            half.pointee.squares = SplitPasses.squares(UnsafePointer(half.pointee.start.assumingMemoryBound(to: Float.self)),
                                                       count: half.pointee.bytes / MemoryLayout<Float>.stride)
        }
    }
    nonisolated(unsafe) static let secondHalf = UnsafeMutablePointer<Half>.allocate(capacity: 1)

    /// Where a pass over `count` scalars is cut when nothing else decides: half, rounded down
    /// to a multiple of 16 scalars (whole cache lines for floats).
    public static func firstHalf(of count: Int) -> Int { count / 2 / 16 * 16 }

    /// Whether a pass over `count` scalars is cut in halves.
    private static func splits(_ count: Int) -> Bool { BLAS.splitting && count >= minimumCount }

    /// Sets `count` scalars from `start` to zero (every ``Scalar`` is zero when all its bits are).
    public static func zero<T>(_ start: UnsafeMutablePointer<T>, count: Int) {
        zero(start, count: count, firstHalf: firstHalf(of: count))
    }

    /// Sets a piece of a slab to zero, cut where the piece says (``SlabPiece``).
    public static func zero<T>(_ slab: UnsafeMutablePointer<T>, piece: SlabPiece) {
        zero(slab + piece.range.lowerBound, count: piece.range.count, firstHalf: piece.cut - piece.range.lowerBound)
    }

    private static func zero<T>(_ start: UnsafeMutablePointer<T>, count: Int, firstHalf: Int) {
        let bytes = count * MemoryLayout<T>.stride
        guard splits(count), firstHalf < count, let helper = HelperThread.shared, helper.claim() else {
            memset(start, 0, bytes)
            return
        }
        let first = firstHalf * MemoryLayout<T>.stride
        secondHalf.pointee = Half(start: UnsafeMutableRawPointer(start) + first, bytes: bytes - first)
        helper.start(HelperThread.Job(Half.zero, UnsafeMutableRawPointer(secondHalf)))
        memset(start, 0, first)
        helper.finish()
    }

    /// Σ x² over `count` floats from `start`, accumulated in float lanes of 16 and summed in
    /// double. Split, it is the two halves' sums added, also when the helper is busy (another
    /// caller holds it) and this thread computes both.
    public static func sumOfSquares(_ start: UnsafePointer<Float>, count: Int) -> Double {
        sumOfSquares(start, count: count, firstHalf: firstHalf(of: count))
    }

    /// Σ x² over a piece of a slab, its two parts cut where the piece says (``SlabPiece``).
    public static func sumOfSquares(_ slab: UnsafePointer<Float>, piece: SlabPiece) -> Double {
        sumOfSquares(slab + piece.range.lowerBound, count: piece.range.count, firstHalf: piece.cut - piece.range.lowerBound)
    }

    private static func sumOfSquares(_ start: UnsafePointer<Float>, count: Int, firstHalf first: Int) -> Double {
        guard splits(count), first < count else { return squares(start, count: count) }
        guard let helper = HelperThread.shared, helper.claim() else {
            return squares(start, count: first) + squares(start + first, count: count - first)
        }
        secondHalf.pointee = Half(start: UnsafeMutableRawPointer(mutating: start + first), bytes: (count - first) * MemoryLayout<Float>.stride)
        helper.start(HelperThread.Job(Half.sumOfSquares, UnsafeMutableRawPointer(secondHalf)))
        let own = squares(start, count: first)
        helper.finish()
        return own + secondHalf.pointee.squares
    }

    // x (count) -> Σ x²
    static func squares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var lanes = SIMD16<Float>(), i = 0
        while i + 16 <= count {
            let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
            lanes += v * v
            i += 16
        }
        var rest: Float = 0
        while i < count { rest += x[i] * x[i]; i += 1 }
        return Double(lanes.sum()) + Double(rest)
    }
}

/// One parameter's stretch of the slab (values, gradients, an optimizer's moments) and the
/// place a pass over it is cut between the two threads: `range.lowerBound..<cut` on the
/// calling thread, `cut..<range.upperBound` on the helper (`cut == range.upperBound`: all on
/// the calling thread).
///
/// A weight matrix (rows, cols) of ``SplitPasses/minimumCount`` scalars or more is cut where a
/// product split by rows cuts its gradient (``BLAS/firstPartOfSplit(_:)`` rows), so that each
/// core zeroes, writes, sums and updates the same rows of the gradient, and updates the values
/// it wrote. Cut at half the slab instead, as before, some rows of a gradient were zeroed on
/// one core, written on the other and updated back on the first, every step. mnist, AMD EPYC
/// family 25 model 17 (Zen 4), 2 threads, cut this way or at half the slab in alternating
/// blocks of 8 steps within one run: 0.958-0.973x the step's time in four of five runs when
/// the machine was slow (steps of 3.0-4.3 ms, the two vCPUs far apart), 0.996-1.005x in
/// fifteen runs when it was fast (1.9-2.2 ms).
public struct SlabPiece: Sendable, Equatable {
    public let range: Range<Int>
    public let cut: Int

    public init(range: Range<Int>, cut: Int) {
        precondition(range.contains(cut) || cut == range.upperBound, "cut \(cut) outside \(range)")
        self.range = range
        self.cut = cut
    }

    /// `range` cut at half (``SplitPasses/firstHalf(of:)``) when it has at least
    /// ``SplitPasses/minimumCount`` scalars, else not cut.
    public init(halving range: Range<Int>) {
        let large = range.count >= SplitPasses.minimumCount
        self.init(range: range, cut: large ? range.lowerBound + SplitPasses.firstHalf(of: range.count) : range.upperBound)
    }

    /// The piece of parameter `spec`: a matrix of at least ``SplitPasses/minimumCount`` scalars
    /// and 32 rows cut at BLAS's row split, anything else as ``init(halving:)`` cuts it.
    public init(_ spec: ParameterSpec) {
        let range = spec.offset..<(spec.offset + spec.count)
        let rows = spec.shape.first ?? 1
        guard spec.count >= SplitPasses.minimumCount, spec.shape.count == 2, rows >= 32 else {
            self.init(halving: range)
            return
        }
        self.init(range: range, cut: spec.offset + BLAS.firstPartOfSplit(rows) * spec.shape[1])
    }
}

extension Graph {
    /// The pieces of every parameter (`trainable`: of the trainable ones only), in slab order.
    public func slabPieces(trainableOnly: Bool = false) -> [SlabPiece] {
        parameters.filter { $0.count > 0 && ($0.trainable || !trainableOnly) }.map(SlabPiece.init)
    }
}
