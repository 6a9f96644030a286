import Glibc

/// The step's memory-bound passes over whole slabs, cut in two halves with the second on the
/// helper thread, as the products are: zeroing the gradients before a backward pass, and the
/// sum of squares behind the gradient norm. On one thread each was a few per cent of an
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

    /// Whether a pass over `count` scalars is cut in halves.
    private static func splits(_ count: Int) -> Bool { BLAS.splitting && count >= minimumCount }

    /// Sets `count` scalars from `start` to zero (every ``Scalar`` is zero when all its bits are).
    public static func zero<T>(_ start: UnsafeMutablePointer<T>, count: Int) {
        let bytes = count * MemoryLayout<T>.stride
        guard splits(count), let helper = HelperThread.shared, helper.claim() else {
            memset(start, 0, bytes)
            return
        }
        let first = (bytes / 2) & ~63
        secondHalf.pointee = Half(start: UnsafeMutableRawPointer(start) + first, bytes: bytes - first)
        helper.start(HelperThread.Job(Half.zero, UnsafeMutableRawPointer(secondHalf)))
        memset(start, 0, first)
        helper.finish()
    }

    /// Σ x² over `count` floats from `start`, accumulated in float lanes of 16 and summed in
    /// double. Split, it is the two halves' sums added, also when the helper is busy (another
    /// caller holds it) and this thread computes both.
    public static func sumOfSquares(_ start: UnsafePointer<Float>, count: Int) -> Double {
        guard splits(count) else { return squares(start, count: count) }
        let first = count / 2 / 16 * 16
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
