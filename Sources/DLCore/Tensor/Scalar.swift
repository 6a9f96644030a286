import RealModule

/// The element type of every buffer the core computes on.
///
/// `Float` trains, `Double` checks gradients, and ``Dual`` carries a tangent alongside each
/// value so that running the very same kernels on `Dual` is forward-mode differentiation
/// (and running the backward kernels on `Dual` is forward-over-reverse, which is how
/// Hessian-vector products are formed). The function names follow swift-numerics' `Real`,
/// so `Float` and `Double` conform with nothing to write but BLAS.
public protocol Scalar: Comparable, Sendable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral, CustomStringConvertible {
    init(_ value: Double)
    /// The real value, dropping any tangent.
    var primal: Double { get }

    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Self) -> Self
    static func / (lhs: Self, rhs: Self) -> Self
    static prefix func - (operand: Self) -> Self
    static func += (lhs: inout Self, rhs: Self)
    static func -= (lhs: inout Self, rhs: Self)
    static func *= (lhs: inout Self, rhs: Self)

    static func exp(_ x: Self) -> Self
    static func expMinusOne(_ x: Self) -> Self
    static func log(_ x: Self) -> Self
    static func log(onePlus x: Self) -> Self
    static func sqrt(_ x: Self) -> Self
    static func sin(_ x: Self) -> Self
    static func cos(_ x: Self) -> Self
    static func tanh(_ x: Self) -> Self
    static func erf(_ x: Self) -> Self
    static func pow(_ x: Self, _ y: Self) -> Self
    static func pow(_ x: Self, _ n: Int) -> Self

    /// Row-major `C = alpha * op(A) * op(B) + beta * C` with `op(A)` (m, k) and `op(B)` (k, n);
    /// `route` says how `Float` computes it: split between two threads, whole in OpenBLAS, or in
    /// dltrain's register tiles (``ProductRoute``; nil: the rule).
    static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int, route: ProductRoute?)
}

extension Scalar {
    /// The product by the rule's route.
    @inlinable public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Self,
        a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
        beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int
    ) {
        gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
             beta: beta, c: c, ldc: ldc, route: nil)
    }
}

extension Float: Scalar {
    @inlinable public var primal: Double { Double(self) }

    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, route: ProductRoute?
    ) {
        BLAS.sgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, route: route)
    }
}

extension Double: Scalar {
    @inlinable public var primal: Double { self }

    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Double,
        a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
        beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int, route: ProductRoute?
    ) {
        BLAS.dgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    }
}
