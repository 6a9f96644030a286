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
