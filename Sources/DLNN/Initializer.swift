import DLCore
import RealModule

/// How a weight matrix (fanIn, fanOut) or a bias is filled before training.
///
/// - `normal(std)`: N(0, std²), the lectures' `0.01 * randn` with std 0.01.
/// - `uniform(limit)`: U(−limit, limit).
/// - Glorot and Bengio 2010: `xavierUniform` U(±√(6 / (fanIn + fanOut))),
///   `xavierNormal` N(0, 2 / (fanIn + fanOut)).
/// - He et al. 2015: `heUniform` U(±√(6 / fanIn)), `heNormal` N(0, 2 / fanIn).
/// - LeCun 1998 (for SELU): `lecunNormal` N(0, 1 / fanIn).
/// - Saxe et al. 2014: `orthogonal`, the Q of a QR factorisation of a Gaussian matrix.
/// - `zeros`, and `constant(c)` for biases.
public enum Initializer: Sendable, Equatable {
    case normal(std: Double)
    case uniform(limit: Double)

    /// The lectures' `0.01 * randn`, and a uniform interval of about the same spread.
    public static let defaultNormalStd = 0.01, defaultUniformLimit = 0.05
    case xavierUniform, xavierNormal, heUniform, heNormal, lecunNormal, orthogonal, zeros
    case constant(Double)

    /// The default for a layer followed by `activation`: He for the ReLU family, LeCun for
    /// SELU, Glorot otherwise (as Keras' and PyTorch's guidance for each).
    public static func defaultFor(_ activation: Activation) -> Initializer {
        switch activation {
        case .relu, .leakyRelu, .prelu, .elu, .gelu, .swish, .silu, .softplus, .abs: return .heNormal
        case .selu: return .lecunNormal
        default: return .xavierUniform
        }
    }

    /// Values for a (fanIn, fanOut) matrix, row-major, or a vector when `fanIn` is 1 and
    /// the shape is one-dimensional.
    public func values(fanIn: Int, fanOut: Int, count: Int, rng: inout RandomSource) -> [Double] {
        var out = [Double](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { fill($0, fanIn: fanIn, fanOut: fanOut, rng: &rng, threads: 1) }
        return out
    }

    /// Fills `out` (a (fanIn, fanOut) matrix, row-major, or a vector) in place, the same
    /// numbers as ``values(fanIn:fanOut:count:rng:)`` rounded to `T`; normal draws are
    /// transformed on `threads` (see ``RandomSource/fillNormal(_:scale:threads:)``).
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public func fill<T: Scalar>(_ out: UnsafeMutableBufferPointer<T>, fanIn: Int, fanOut: Int, rng: inout RandomSource, threads: Int) {
        let fanSum = Double(fanIn + fanOut)
        func same(_ initializer: Initializer) { initializer.fill(out, fanIn: fanIn, fanOut: fanOut, rng: &rng, threads: threads) }
        switch self {
        case .normal(let std): rng.fillNormal(out, scale: std, threads: threads)
        case .uniform(let limit): for i in out.indices { out[i] = T(limit * (2 * rng.uniform() - 1)) }
        case .xavierUniform: same(.uniform(limit: (6 / fanSum).squareRoot()))
        case .xavierNormal: same(.normal(std: (2 / fanSum).squareRoot()))
        case .heUniform: same(.uniform(limit: (6 / Double(fanIn)).squareRoot()))
        case .heNormal: same(.normal(std: (2 / Double(fanIn)).squareRoot()))
        case .lecunNormal: same(.normal(std: (1 / Double(fanIn)).squareRoot()))
        case .zeros: out.update(repeating: 0)
        case .constant(let c): out.update(repeating: T(c))
        case .orthogonal:
            let q = Initializer.orthogonal(rows: fanIn, columns: out.count / Swift.max(fanIn, 1), rng: &rng)
            for i in out.indices { out[i] = T(q[i]) }
        }
    }

    /// A (rows, columns) matrix with orthonormal columns (or rows, when wider than tall):
    /// modified Gram–Schmidt on a Gaussian matrix, signs fixed so the result is uniform.
    static func orthogonal(rows: Int, columns: Int, rng: inout RandomSource) -> [Double] {
        let tall = rows >= columns
        let (n, k) = tall ? (rows, columns) : (columns, rows)  // k orthonormal vectors of length n
        var q = (0..<k).map { _ in (0..<n).map { _ in rng.normal() } }
        for j in 0..<k {
            for i in 0..<j {
                let dot = zip(q[i], q[j]).reduce(0) { $0 + $1.0 * $1.1 }
                for t in 0..<n { q[j][t] -= dot * q[i][t] }
            }
            let norm = q[j].reduce(0) { $0 + $1 * $1 }.squareRoot()
            for t in 0..<n { q[j][t] /= norm }
        }
        var out = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows {
            for c in 0..<columns { out[r * columns + c] = tall ? q[c][r] : q[r][c] }
        }
        return out
    }
}
