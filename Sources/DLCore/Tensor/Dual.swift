import RealModule

/// A dual number `value + tangent·ε` with `ε² = 0`: forward-mode automatic differentiation.
///
/// Every kernel of the core is generic over ``Scalar``, so executing a graph on `Dual`
/// propagates tangents through it: seeding parameter tangents with `v` yields the
/// Jacobian-vector product `J v` in the outputs' tangents. The derivative rules for
/// forward mode are the ones below, one per elementary function, and nowhere else.
/// Comparisons look at `value` only, which is what makes `max` and `relu` route tangents
/// the same way the reverse-mode rules route gradients.
public struct Dual: Scalar {
    public var value: Double
    public var tangent: Double

    @inlinable public init(_ value: Double, tangent: Double) {
        self.value = value
        self.tangent = tangent
    }
    @inlinable public init(_ value: Double) { self.init(value, tangent: 0) }
    @inlinable public init(floatLiteral value: Double) { self.init(value) }
    @inlinable public init(integerLiteral value: Int) { self.init(Double(value)) }
    @inlinable public var primal: Double { value }
    public var description: String { "\(value)+\(tangent)ε" }

    @inlinable public static func == (l: Dual, r: Dual) -> Bool { l.value == r.value }
    @inlinable public static func < (l: Dual, r: Dual) -> Bool { l.value < r.value }

    @inlinable public static func + (l: Dual, r: Dual) -> Dual { Dual(l.value + r.value, tangent: l.tangent + r.tangent) }
    @inlinable public static func - (l: Dual, r: Dual) -> Dual { Dual(l.value - r.value, tangent: l.tangent - r.tangent) }
    @inlinable public static func * (l: Dual, r: Dual) -> Dual {
        Dual(l.value * r.value, tangent: l.tangent * r.value + l.value * r.tangent)
    }
    @inlinable public static func / (l: Dual, r: Dual) -> Dual {
        Dual(l.value / r.value, tangent: (l.tangent * r.value - l.value * r.tangent) / (r.value * r.value))
    }
    @inlinable public static prefix func - (x: Dual) -> Dual { Dual(-x.value, tangent: -x.tangent) }
    @inlinable public static func += (l: inout Dual, r: Dual) { l = l + r }
    @inlinable public static func -= (l: inout Dual, r: Dual) { l = l - r }
    @inlinable public static func *= (l: inout Dual, r: Dual) { l = l * r }

    @inlinable public static func exp(_ x: Dual) -> Dual {
        let e = Double.exp(x.value)
        return Dual(e, tangent: e * x.tangent)
    }
    @inlinable public static func expMinusOne(_ x: Dual) -> Dual {
        Dual(Double.expMinusOne(x.value), tangent: Double.exp(x.value) * x.tangent)
    }
    @inlinable public static func log(_ x: Dual) -> Dual { Dual(Double.log(x.value), tangent: x.tangent / x.value) }
    @inlinable public static func log(onePlus x: Dual) -> Dual {
        Dual(Double.log(onePlus: x.value), tangent: x.tangent / (1 + x.value))
    }
    @inlinable public static func sqrt(_ x: Dual) -> Dual {
        let s = Double.sqrt(x.value)
        return Dual(s, tangent: x.tangent / (2 * s))
    }
    @inlinable public static func sin(_ x: Dual) -> Dual { Dual(Double.sin(x.value), tangent: Double.cos(x.value) * x.tangent) }
    @inlinable public static func cos(_ x: Dual) -> Dual { Dual(Double.cos(x.value), tangent: -Double.sin(x.value) * x.tangent) }
    @inlinable public static func tanh(_ x: Dual) -> Dual {
        let t = Double.tanh(x.value)
        return Dual(t, tangent: (1 - t * t) * x.tangent)
    }
    @inlinable public static func erf(_ x: Dual) -> Dual {
        Dual(Double.erf(x.value), tangent: 2 / Double.pi.squareRoot() * Double.exp(-x.value * x.value) * x.tangent)
    }
    @inlinable public static func pow(_ x: Dual, _ y: Dual) -> Dual {
        let p = Double.pow(x.value, y.value)
        let viaBase = y.value * Double.pow(x.value, y.value - 1) * x.tangent
        // The exponent's term needs log(x); it is absent (not NaN) when the exponent is constant.
        let viaExponent = y.tangent == 0 ? 0 : p * Double.log(x.value) * y.tangent
        return Dual(p, tangent: viaBase + viaExponent)
    }
    @inlinable public static func pow(_ x: Dual, _ n: Int) -> Dual {
        Dual(Double.pow(x.value, n), tangent: Double(n) * Double.pow(x.value, n - 1) * x.tangent)
    }

    /// Naive triple loop: duals are interleaved pairs, which BLAS cannot stride over.
    /// Forward mode serves checks and diagnostics on small batches, never training.
    public static func gemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Dual,
        a: UnsafePointer<Dual>, lda: Int, b: UnsafePointer<Dual>, ldb: Int,
        beta: Dual, c: UnsafeMutablePointer<Dual>, ldc: Int, route: ProductRoute?
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var sum: Dual = 0
                for p in 0..<k {
                    let aip = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bpj = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += aip * bpj
                }
                let previous: Dual = beta == 0 && beta.tangent == 0 ? 0 : beta * c[i * ldc + j]
                c[i * ldc + j] = alpha * sum + previous
            }
        }
    }
}
