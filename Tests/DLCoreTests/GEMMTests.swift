import CKernels
import DLCore
import Testing

/// Float products through dltrain's BLAS door against a plain double loop, on the shapes that
/// take the narrow-column kernel (1 to 8 columns past a multiple of 16, neither operand
/// transposed), the shapes next to them, and padded leading dimensions.
@Suite struct GEMMTests {
    @Test(arguments: [(32, 2, 64), (5, 1, 40), (7, 8, 33), (9, 3, 2), (33, 19, 64), (16, 24, 31), (4, 16, 64), (6, 10, 50), (3, 9, 0)])
    func floatProductMatchesReference(m: Int, n: Int, k: Int) {
        var rng = RandomSource(seed: UInt64(m * 1000 + n * 10 + k))
        let lda = k + 3, ldb = n + 2, ldc = n + 5
        let a = (0..<(m * lda)).map { _ in Float(rng.normal()) }
        let b = (0..<(Swift.max(k, 1) * ldb)).map { _ in Float(rng.normal()) }
        let before = (0..<(m * ldc)).map { _ in Float(rng.normal()) }
        for (alpha, beta) in [(Float(1), Float(0)), (Float(0.5), Float(2))] {
            var c = before
            c.withUnsafeMutableBufferPointer { cp in
                Float.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                           beta: beta, c: cp.baseAddress!, ldc: ldc)
            }
            for i in 0..<m {
                for j in 0..<ldc {
                    guard j < n else {
                        #expect(c[i * ldc + j] == before[i * ldc + j], "padding at (\(i), \(j)) was written")
                        continue
                    }
                    var sum = 0.0
                    for p in 0..<k { sum += Double(a[i * lda + p]) * Double(b[p * ldb + j]) }
                    let expected = Double(alpha) * sum + (beta == 0 ? 0 : Double(beta) * Double(before[i * ldc + j]))
                    #expect(Swift.abs(Double(c[i * ldc + j]) - expected) < 1e-4 * (1 + Swift.abs(expected)), "(\(i), \(j)) of \(m)×\(n)×\(k)")
                }
            }
        }
    }
}

/// dltrain's register tiles (``ProductRoute/tiles``) against a plain double loop, in each
/// instruction set the CPU runs (AVX2, AVX-512) and bit for bit the same in both: every
/// transpose pair they take, rows that leave each remainder of the six- and eight-row tiles,
/// columns that leave masked widths of the sixteen- and thirty-two-column ones, the few-column
/// A^T·B products they compute transposed, padded leading dimensions, and beta 0 over a C of
/// NaNs. Where the CPU lacks AVX2 and FMA the route falls back to OpenBLAS and the same checks hold.
@Suite struct TilesGEMMTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 16, 30), (5, 17, 7), (6, 64, 64), (7, 24, 1), (11, 40, 13), (32, 64, 30), (30, 64, 32), (64, 31, 32), (13, 16, 0), (2, 48, 9), (12, 33, 5),
    ]
    static let fewColumns: [(m: Int, n: Int, k: Int)] = [(64, 2, 32), (37, 3, 19), (5, 1, 8), (100, 6, 64), (16, 5, 1)]

    /// OpenBLAS's AVX-512 kernels where 512-bit FMAs double the rate, its AVX2 kernels where
    /// they do not (Zen 4), OpenBLAS's own choice without AVX-512; the width is timed on this
    /// CPU exactly when it has AVX-512 F (no figure is asserted: it is a timing).
    @Test func kernelFamilyFollowsTheFMAWidth() throws {
        #expect(BLAS.kernelFamily(hasAVX512: true, fma512Speedup: 1.97) == "SkylakeX")
        #expect(BLAS.kernelFamily(hasAVX512: true, fma512Speedup: 1.5) == "SkylakeX")
        #expect(BLAS.kernelFamily(hasAVX512: true, fma512Speedup: 1.0) == "Haswell")
        #expect(BLAS.kernelFamily(hasAVX512: false, fma512Speedup: 0) == nil)
        let cpuinfo = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let speedup = dl_fma512_speedup()
        #expect((speedup > 0) == (flags.contains("avx512f") && flags.contains("avx2") && flags.contains("fma")), "\(speedup)")
        #expect((BLAS.preferredKernelFamily != nil) == ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains))
    }

    /// Beside OpenBLAS's AVX-512 kernel families (whatever the case of the name) the rule takes
    /// only A·B^T to the tiles; beside the others, every small product.
    @Test func ruleTakesTilesByLayoutBesideAVX512Kernels() {
        for family in ["SkylakeX", "COOPERLAKE", "SapphireRapids"] { #expect(BLAS.isAVX512Family(family), "\(family)") }
        for family in ["Haswell", "Zen", "Prescott"] { #expect(!BLAS.isAVX512Family(family), "\(family)") }
        #expect(BLAS.ruleTakesTiles(transposeA: false, transposeB: true, besideAVX512Kernels: true))
        #expect(!BLAS.ruleTakesTiles(transposeA: false, transposeB: false, besideAVX512Kernels: true))
        #expect(!BLAS.ruleTakesTiles(transposeA: true, transposeB: false, besideAVX512Kernels: true))
        for (ta, tb) in [(false, false), (true, false), (false, true)] {
            #expect(BLAS.ruleTakesTiles(transposeA: ta, transposeB: tb, besideAVX512Kernels: false))
        }
    }

    /// Whether the rule sends `shape` to the tiles in this process.
    static func tilesByRule(_ shape: ProductShape) -> Bool {
        BLAS.tilesAvailable && BLAS.ruleTakesTiles(transposeA: shape.transposeA, transposeB: shape.transposeB,
                                                   besideAVX512Kernels: BLAS.isAVX512Family(BLAS.coreName))
    }

    typealias Tiles = @convention(c) (Int32, Int32, Int, Int, Int, Float, UnsafePointer<Float>?, Int, UnsafePointer<Float>?, Int,
                                      Float, UnsafeMutablePointer<Float>?, Int) -> Void
    /// Each instruction set's tiles this CPU runs, and the door's route to them.
    static var tileVariants: [(name: String, run: Tiles?)] {
        let lanes = dl_sgemm_tiles_lanes()
        return [("route", nil)] + (lanes >= 8 ? [("AVX2", dl_sgemm_tiles_avx2)] : []) + (lanes == 16 ? [("AVX-512", dl_sgemm_tiles_avx512)] : [])
    }

    @Test(arguments: [(false, false), (true, false), (false, true)])
    func tilesMatchReference(transposeA: Bool, transposeB: Bool) {
        let cases = Self.shapes + (transposeA && !transposeB ? Self.fewColumns : [])
        for (m, n, k) in cases {
            let shape = ProductShape(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
            #expect(BLAS.ruleRoute(shape) == (Self.tilesByRule(shape) ? .tiles : .whole), "\(shape)")
            var rng = RandomSource(seed: UInt64(m * 10_000 + n * 100 + k))
            let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 1, ldc = n + 2
            let a = (0..<((transposeA ? Swift.max(k, 1) : m) * lda)).map { _ in Float(rng.normal()) }
            let b = (0..<((transposeB ? n : Swift.max(k, 1)) * ldb)).map { _ in Float(rng.normal()) }
            let start = (0..<(m * ldc)).map { _ in Float(rng.normal()) }
            for (alpha, beta, old) in [(Float(1), Float(0), [Float](repeating: .nan, count: m * ldc)), (Float(0.5), Float(1), start), (Float(-2), Float(0.25), start)] {
                var first: [Float]? = nil
                for (variant, run) in Self.tileVariants {
                    var c = old
                    c.withUnsafeMutableBufferPointer { cp in
                        if let run {
                            run(transposeA ? 1 : 0, transposeB ? 1 : 0, m, n, k, alpha, a, lda, b, ldb, beta, cp.baseAddress!, ldc)
                        } else {
                            Float.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                       beta: beta, c: cp.baseAddress!, ldc: ldc, route: .tiles)
                        }
                    }
                    // Every element is the same chain of fused multiply-adds in each instruction set.
                    if variant != "route", let first { #expect(c.map(\.bitPattern) == first.map(\.bitPattern), "\(shape): \(variant) differs") }
                    if variant != "route", first == nil { first = c }
                    var worst = 0.0
                    for i in 0..<m {
                        for j in 0..<ldc {
                            guard j < n else {
                                #expect(c[i * ldc + j].bitPattern == old[i * ldc + j].bitPattern, "\(shape): padding at (\(i), \(j)) was written")
                                continue
                            }
                            var sum = 0.0
                            for p in 0..<k {
                                let x = transposeA ? a[p * lda + i] : a[i * lda + p], y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                                sum += Double(x) * Double(y)
                            }
                            let expected = Double(alpha) * sum + (beta == 0 ? 0 : Double(beta) * Double(old[i * ldc + j]))
                            worst = Swift.max(worst, Swift.abs(Double(c[i * ldc + j]) - expected) / (1 + Swift.abs(expected)))
                        }
                    }
                    #expect(worst < 1e-5, "\(shape), \(variant), alpha \(alpha), beta \(beta): relative error \(worst)")
                }
            }
        }
    }

    /// Shapes outside the tiles (too many multiply-adds, both operands transposed, 7 to 15
    /// columns, a transposed B past the scratch) go to OpenBLAS, by the rule and when asked.
    @Test func largeAndOddShapesStayWithOpenBLAS() {
        let outside = [
            ProductShape(transposeA: false, transposeB: false, m: 128, n: 64, k: 64),
            ProductShape(transposeA: true, transposeB: true, m: 32, n: 32, k: 32),
            ProductShape(transposeA: false, transposeB: false, m: 32, n: 10, k: 64),
            ProductShape(transposeA: true, transposeB: false, m: 64, n: 8, k: 32),
            ProductShape(transposeA: false, transposeB: true, m: 2, n: 128, k: 128),
        ]
        for shape in outside { #expect(BLAS.ruleRoute(shape) != .tiles, "\(shape)") }
        let (m, n, k) = (2, 128, 128)
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: n * k)
        var c = [Float](repeating: .nan, count: m * n)
        c.withUnsafeMutableBufferPointer { cp in
            Float.gemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: b, ldb: k, beta: 0, c: cp.baseAddress!, ldc: n, route: .tiles)
        }
        #expect(c.allSatisfy { $0 == 16 }, "a transposed B of 128x128 is past the tiles' scratch; OpenBLAS computes it")
    }
}
