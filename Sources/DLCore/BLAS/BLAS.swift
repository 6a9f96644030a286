import CKernels
import COpenBLAS
import Glibc

/// The one door to OpenBLAS. Everything above the core multiplies matrices through
/// ``Scalar/gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
public enum BLAS {
    /// Threads for each product. Two are dltrain's own: OpenBLAS runs single-threaded and each
    /// large product is cut in two halves of its output, one computed on a persistent helper
    /// thread (OpenBLAS's own threading allocates job buffers on every call and its idle
    /// workers spin). More than two are OpenBLAS's. Results are bit-reproducible for a fixed count.
    public static var threadCount: Int {
        get { splitting ? 2 : Int(openblas_get_num_threads()) }
        set {
            let count = max(1, newValue)
            splitting = count == 2
            openblas_set_num_threads(Int32(splitting ? 1 : count))
        }
    }
    /// Whether products are split over dltrain's two threads; initially when OpenBLAS was
    /// started with two (the default on a two-core machine).
    nonisolated(unsafe) static var splitting: Bool = {
        guard openblas_get_num_threads() == 2 else { return false }
        openblas_set_num_threads(1)
        return true
    }()

    /// Whether the CPU has the AVX-512 subsets OpenBLAS's SkylakeX kernels use (from /proc/cpuinfo).
    public static var cpuHasAVX512: Bool {
        guard let file = fopen("/proc/cpuinfo", "r") else { return false }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil, capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            guard text.hasPrefix("flags") else { continue }
            let flags = Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
            return ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        }
        return false
    }

    /// The OpenBLAS kernel family for a CPU that has AVX-512 (F, BW, DQ, VL) or not, and runs
    /// 512-bit fused multiply-adds `fma512Speedup` times as fast as 256-bit ones, counted in
    /// floats (``dl_fma512_speedup``): the AVX-512 kernels (SkylakeX) where the width doubles
    /// the rate (expected near 2 on cores with 512-bit FMA units, such as the Intel Xeon family 6
    /// model 207 and the Zen 5 of earlier sessions, where those kernels ran mnist's shapes 1.48x
    /// and 1.84x as fast as the AVX2 ones; the probe has not run there); the AVX2 kernels
    /// (Haswell) where it does not (1.001 on AMD's Zen 4, which splits each 512-bit operation
    /// in two); nil without AVX-512, leaving OpenBLAS's own choice. On a Zen 4 (AMD EPYC
    /// family 25 model 17), 2 threads, interleaved rounds of epoch 2: mnist 0.95x the time with
    /// the Haswell kernels (5 of 6 rounds faster), one core 0.93x (5 of 6), wide and tabular even.
    public static func kernelFamily(hasAVX512: Bool, fma512Speedup: Double) -> String? {
        guard hasAVX512 else { return nil }
        return fma512Speedup >= 1.5 ? "SkylakeX" : "Haswell"
    }

    /// ``kernelFamily(hasAVX512:fma512Speedup:)`` for this CPU, timed once (about 0.5 ms) when first asked.
    public static let preferredKernelFamily = kernelFamily(hasAVX512: cpuHasAVX512, fma512Speedup: dl_fma512_speedup())

    /// The kernel family OpenBLAS picked for this CPU (for example "Haswell" or "SkylakeX").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// Whether a product is large enough to share between two threads (from about a million
    /// multiply-adds) and has a side to cut.
    static func isSplitCandidate(_ s: ProductShape) -> Bool {
        s.m * s.n * s.k >= 1 << 20 && (s.n >= 32 || s.m >= 32)
    }

    /// Whether the CPU runs dltrain's register tiles (AVX2 with FMA), asked once.
    public static let tilesAvailable = dl_sgemm_tiles_lanes() != 0

    /// The instructions of the tiles this CPU runs: "AVX-512" or "AVX2" (the same bits either way).
    public static let tilesInstructions = dl_sgemm_tiles_lanes() == 16 ? "AVX-512" : "AVX2"

    /// Whether `family` (a ``coreName`` or an `OPENBLAS_CORETYPE`, in any case) is one of
    /// OpenBLAS's AVX-512 kernel families: SkylakeX, Cooperlake, SapphireRapids.
    public static func isAVX512Family(_ family: String) -> Bool {
        ["skylakex", "cooperlake", "sapphirerapids"].contains(family.lowercased())
    }
    /// Whether this process's OpenBLAS runs them, asked once (the rule reads it on every product).
    static let openBLASRunsAVX512Kernels = isAVX512Family(coreName)

    /// Whether the rule sends a small product with these operands to the register tiles beside
    /// OpenBLAS's kernels (``isAVX512Family(_:)``): every one beside its AVX2 families (Haswell, Zen),
    /// which the AVX2 tiles beat 1.2-1.5x on an AMD EPYC Zen 3; beside its AVX-512 ones only
    /// A·B^T, where the AVX-512 tiles ran 1.3-2.1x OpenBLAS's SkylakeX kernels on an Intel Xeon
    /// (family 6 model 207, one thread) and the others 0.4-1.1x.
    public static func ruleTakesTiles(transposeA: Bool, transposeB: Bool, besideAVX512Kernels: Bool) -> Bool {
        !besideAVX512Kernels || (transposeB && !transposeA)
    }

    /// Whether dltrain's register tiles (``dl_sgemm_tiles``) may compute a product: at most
    /// 2^18 multiply-adds (a 64x64x64 product), not both operands transposed, at least 16
    /// columns of C (or at most 6 for A^T·B, whose transpose it computes instead), and the
    /// transposed operand within the kernel's scratch.
    static func isTilesCandidate(_ s: ProductShape) -> Bool {
        guard tilesAvailable, s.m * s.n * s.k <= 1 << 18, !(s.transposeA && s.transposeB) else { return false }
        let fewColumns = s.transposeA && !s.transposeB && s.n <= 6
        guard s.n >= 16 || fewColumns else { return false }
        if s.transposeB && s.k * s.n > Int(DL_SGEMM_TILES_SCRATCH) { return false }
        if fewColumns && s.m * s.n > Int(DL_SGEMM_TILES_SCRATCH) { return false }
        return true
    }

    /// Whether `route` can compute `s`: a split's parts each a multiple of 16 columns or rows,
    /// the second not empty; the tiles within ``isTilesCandidate(_:)``.
    static func canTake(_ s: ProductShape, _ route: ProductRoute) -> Bool {
        switch route {
        case .columns: s.n >= 32
        case .rows: s.m >= 32
        case .whole: true
        case .tiles: isTilesCandidate(s)
        }
    }

    /// The route of a shape no plan names: dltrain's tiles for a small product where the rule
    /// takes them (``ruleTakesTiles(transposeA:transposeB:besideAVX512Kernels:)``; past about
    /// 2^19 multiply-adds they ran 0.84-0.97x OpenBLAS on an AMD EPYC Zen 3); a split along C's
    /// longer side for a large one.
    public static func ruleRoute(_ s: ProductShape) -> ProductRoute {
        if isTilesCandidate(s) && ruleTakesTiles(transposeA: s.transposeA, transposeB: s.transposeB, besideAVX512Kernels: openBLASRunsAVX512Kernels) {
            return .tiles
        }
        guard isSplitCandidate(s) else { return .whole }
        return s.n >= s.m && s.n >= 32 ? .columns : .rows
    }

    /// `C = alpha · op(A) op(B) + beta · C` by `route` (nil: ``ruleRoute(_:)``): in dltrain's
    /// register tiles, in OpenBLAS whole, or shared between dltrain's two threads when products
    /// are split and the shape is large enough.
    @usableFromInline
    static func sgemm(
        _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, route: ProductRoute? = nil
    ) {
        // The two parts are the same whichever thread computes them: when the helper is busy
        // (another caller, say the loader's PCA projection, holds it) or absent, this thread
        // computes both in turn, not the product in one call. That would be a call of another
        // shape, for which OpenBLAS may choose other kernels and round differently, and
        // results would depend on timing.
        let timing = ProductTiming.running && pthread_equal(pthread_self(), ProductTiming.owner) != 0
        let started = timing ? monotonicSeconds() : 0
        defer { if timing { ProductTiming.add(seconds: monotonicSeconds() - started, flops: 2 * Double(m) * Double(n) * Double(k)) } }
        let shape = ProductShape(transposeA: ta, transposeB: tb, m: m, n: n, k: k)
        let chosen = route.flatMap { canTake(shape, $0) ? $0 : nil } ?? ruleRoute(shape)
        if chosen == .tiles {
            return dl_sgemm_tiles(ta ? 1 : 0, tb ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
        guard splitting, isSplitCandidate(shape) else {
            return plainSgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        }
        let second: SplitProduct, first: (m: Int, n: Int)
        switch chosen {
        case .whole, .tiles:
            return plainSgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        case .columns:
            let half = firstPartOfSplit(n)  // C's columns: op(B)'s columns
            second = SplitProduct(ta: ta, tb: tb, m: m, n: n - half, k: k, alpha: alpha, a: a, lda: lda,
                                  b: tb ? b + half * ldb : b + half, ldb: ldb, beta: beta, c: c + half, ldc: ldc)
            first = (m, half)
        case .rows:
            let half = firstPartOfSplit(m)  // C's rows: op(A)'s rows
            second = SplitProduct(ta: ta, tb: tb, m: m - half, n: n, k: k, alpha: alpha, a: ta ? a + half : a + half * lda, lda: lda,
                                  b: b, ldb: ldb, beta: beta, c: c + half * ldc, ldc: ldc)
            first = (half, n)
        }
        if let helper = HelperThread.shared, helper.claim() {
            secondHalf.pointee = second
            helper.start(HelperThread.Job(SplitProduct.run, UnsafeMutableRawPointer(secondHalf)))
            plainSgemm(ta, tb, first.m, first.n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            helper.finish()
        } else {
            plainSgemm(ta, tb, first.m, first.n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            second.compute()
        }
    }

    /// The calling thread's part of a split product's side of `size` rows or columns: half,
    /// rounded up to a multiple of 16. Also where ``SlabPiece`` cuts a weight matrix.
    public static func firstPartOfSplit(_ size: Int) -> Int { (size / 2 + 15) & ~15 }

    /// The half of a split product that goes to the helper thread, kept in one place made once.
    struct SplitProduct {
        var ta, tb: Bool
        var m, n, k: Int
        var alpha: Float
        var a: UnsafePointer<Float>, lda: Int
        var b: UnsafePointer<Float>, ldb: Int
        var beta: Float
        var c: UnsafeMutablePointer<Float>, ldc: Int

        func compute() { BLAS.plainSgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) }

        static let run: @convention(c) (UnsafeMutableRawPointer) -> Void = { raw in
            raw.assumingMemoryBound(to: SplitProduct.self).pointee.compute()
        }
    }
    nonisolated(unsafe) static let secondHalf = UnsafeMutablePointer<SplitProduct>.allocate(capacity: 1)

    static func plainSgemm(
        _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
        _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
        _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
    ) {
        // OpenBLAS 0.3.21's AVX-512 small-matrix kernel (neither operand transposed, m·n·k up
        // to 10^6) mallocs a scratch copy on every call when C's columns leave 1 to 8 past a
        // multiple of 16: a classifier's output layer with a few classes, once per step. Those
        // last columns are computed by dltrain's own kernel, the rest by OpenBLAS.
        let narrow = n % 16
        if !ta && !tb && narrow >= 1 && narrow <= 8 && m * n * k <= 1_000_000 {
            let wide = n - narrow
            if wide > 0 {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(wide), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
            }
            dl_sgemm_narrow(m, narrow, k, alpha, a, lda, b + wide, ldb, beta, c + wide, ldc)
            return
        }
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    @usableFromInline
    static func dgemm(
        _ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double,
        _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int,
        _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int
    ) {
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// The wall-clock time the training thread spends in products, and their FLOPs, for
/// `DLTRAIN_TIMING`'s report: what fraction of the fastest sgemm the step's products reach,
/// waiting for the helper's half included. Off, it costs each product one comparison; on,
/// only the thread that started it is counted (the loader's PCA projection is not).
public enum ProductTiming {
    nonisolated(unsafe) public private(set) static var running = false
    nonisolated(unsafe) static var owner = pthread_t(bitPattern: 0)
    nonisolated(unsafe) public private(set) static var seconds = 0.0
    nonisolated(unsafe) public private(set) static var flops = 0.0

    /// Starts counting, from zero, the products of the calling thread.
    public static func start() {
        owner = pthread_self()
        seconds = 0
        flops = 0
        running = true
    }

    public static func stop() { running = false }

    static func add(seconds elapsed: Double, flops work: Double) {
        seconds += elapsed
        flops += work
    }
}

/// Seconds on the monotonic clock, for the timings of the step and of a product plan.
@inline(__always) public func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + 1e-9 * Double(t.tv_nsec)
}
