import DLCore
import DLNN
import Testing

/// Each initialiser's spread against its formula, on a 400 × 300 matrix (120,000 draws:
/// the sample standard deviation is within 1% of the true one).
@Suite struct InitializerTests {
    static let fanIn = 400, fanOut = 300

    func std(_ initializer: Initializer) -> Double {
        var rng = RandomSource(seed: 9)
        let v = initializer.values(fanIn: Self.fanIn, fanOut: Self.fanOut, count: Self.fanIn * Self.fanOut, rng: &rng)
        let mean = v.reduce(0, +) / Double(v.count)
        return (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
    }

    @Test func spreadsMatchTheirFormulas() {
        let sum = Double(Self.fanIn + Self.fanOut), n = Double(Self.fanIn)
        let expected: [(Initializer, Double)] = [
            (.normal(std: 0.01), 0.01),
            (.uniform(limit: 0.05), 0.05 / 3.0.squareRoot()),
            (.xavierUniform, (6 / sum).squareRoot() / 3.0.squareRoot()),
            (.xavierNormal, (2 / sum).squareRoot()),
            (.heUniform, (6 / n).squareRoot() / 3.0.squareRoot()),
            (.heNormal, (2 / n).squareRoot()),
            (.lecunNormal, (1 / n).squareRoot()),
        ]
        for (initializer, sigma) in expected {
            #expect(Swift.abs(std(initializer) / sigma - 1) < 0.01, "\(initializer): \(std(initializer)) vs \(sigma)")
        }
        #expect(std(.zeros) == 0)
    }

    /// Orthogonal: QᵀQ = I for a tall matrix (orthonormal columns) and QQᵀ = I for a wide one.
    @Test(arguments: [(6, 4), (4, 6), (5, 5)])
    func orthogonal(rows: Int, columns: Int) {
        var rng = RandomSource(seed: 4)
        let q = Initializer.orthogonal.values(fanIn: rows, fanOut: columns, count: rows * columns, rng: &rng)
        let k = min(rows, columns)
        for a in 0..<k {
            for b in 0..<k {
                var dot = 0.0
                if rows >= columns { for r in 0..<rows { dot += q[r * columns + a] * q[r * columns + b] } }
                else { for c in 0..<columns { dot += q[a * columns + c] * q[b * columns + c] } }
                #expect(Swift.abs(dot - (a == b ? 1 : 0)) < 1e-12)
            }
        }
    }

    /// Filling a parameter in place gives the numbers of `values`, rounded to Float, for
    /// every initialiser, whatever the thread count.
    @Test func fillInPlaceMatchesValues() {
        let all: [Initializer] = [.normal(std: 0.01), .uniform(limit: 0.05), .xavierUniform, .xavierNormal, .heUniform,
                                  .heNormal, .lecunNormal, .orthogonal, .zeros, .constant(0.5)]
        for initializer in all {
            var a = RandomSource(seed: 3), b = RandomSource(seed: 3)
            let expected = initializer.values(fanIn: 70, fanOut: 90, count: 6300, rng: &a).map { Float($0) }
            var filled = [Float](repeating: .nan, count: 6300)
            filled.withUnsafeMutableBufferPointer { initializer.fill($0, fanIn: 70, fanOut: 90, rng: &b, threads: 2) }
            #expect(filled == expected, "\(initializer)")
            #expect(a == b, "\(initializer)")
        }
    }

    @Test func defaultsFollowTheActivation() {
        #expect(Initializer.defaultFor(.relu) == .heNormal)
        #expect(Initializer.defaultFor(.selu) == .lecunNormal)
        #expect(Initializer.defaultFor(.tanh) == .xavierUniform)
    }
}
