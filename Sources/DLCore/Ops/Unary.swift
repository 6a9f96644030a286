// Element-wise unary ops: math functions and activations, each with its derivative.
//
//   y = f(x)          x (...) -> y (...)
//   dx += G * f'(x)   written in terms of x or of y, whichever is cheaper and stable.
//
// The derivatives here are the single place for reverse-mode rules of these functions;
// forward mode gets the same derivatives from ``Dual``'s elementary functions.
//
// A ReLU is computed in place, in its input's value and gradient windows, when nothing else
// reads that input and the input's own backward never reads its output (a product or a
// bias add, the hidden layers of an MLP): the mask y > 0 is the mask x > 0, and the input's
// gradient is G masked, written over G. That saves a window each way and one stream of the
// backward pass.

public enum UnaryOp: Sendable, Equatable, CustomStringConvertible {
    case neg, exp, log, sqrt, abs, sin, cos
    case sigmoid, tanh, relu, softplus, selu, gelu, swish
    case leakyRelu(alpha: Double)
    case elu(alpha: Double)

    public var description: String {
        switch self {
        case .neg: "neg"
        case .exp: "exp"
        case .log: "log"
        case .sqrt: "sqrt"
        case .abs: "abs"
        case .sin: "sin"
        case .cos: "cos"
        case .sigmoid: "sigmoid"
        case .tanh: "tanh"
        case .relu: "relu"
        case .softplus: "softplus"
        case .selu: "selu"
        case .gelu: "gelu"
        case .swish: "swish"
        case .leakyRelu(let a): "leaky_relu(alpha: \(a))"
        case .elu(let a): "elu(alpha: \(a))"
        }
    }

    /// SELU's constants (Klambauer et al. 2017), fixed so that activations self-normalise.
    public static let seluLambda = 1.0507009873554804934193349852946
    public static let seluAlpha = 1.6732632423543772848170429916717
}

extension Graph {
    public func unary(_ op: UnaryOp, _ x: NodeID) throws -> NodeID {
        try checkNode(op.description, x)
        return append(.unary(op, x), shape(x))
    }

    public func neg(_ x: NodeID) throws -> NodeID { try unary(.neg, x) }
    public func exp(_ x: NodeID) throws -> NodeID { try unary(.exp, x) }
    public func log(_ x: NodeID) throws -> NodeID { try unary(.log, x) }
    public func sqrt(_ x: NodeID) throws -> NodeID { try unary(.sqrt, x) }
    public func abs(_ x: NodeID) throws -> NodeID { try unary(.abs, x) }
    public func sin(_ x: NodeID) throws -> NodeID { try unary(.sin, x) }
    public func cos(_ x: NodeID) throws -> NodeID { try unary(.cos, x) }

    /// `x^exponent` for a constant exponent.
    public func pow(_ x: NodeID, _ exponent: Double) throws -> NodeID {
        try checkNode("pow", x)
        return append(.power(x, exponent: exponent), shape(x))
    }
}

extension Graph {
    /// The ReLU nodes that can be computed in their input's windows: the input has no other
    /// consumer, is computed (not fed, stored or aliased) and is a product or an add, whose
    /// backward reads only its operands.
    func inPlaceActivations() -> [NodeID] {
        let consumers = consumerCounts()
        return nodes.indices.compactMap { i in
            guard case .unary(.relu, let x) = nodes[i].op, consumers[x.index] == 1 else { return nil }
            switch nodes[x.index].op {
            case .matmul, .binary(.add, _, _, _): return NodeID(i)
            default: return nil
            }
        }
    }
}

extension Executor {
    // x (...) -> y (...), also when y's window is x's
    func unaryForward(_ op: UnaryOp, _ x: NodeID, _ out: NodeID) {
        let n = count(out)
        let xs = value[x.index], ys = value[out.index]
        switch op {
        case .neg: for i in 0..<n { ys[i] = -xs[i] }
        case .exp: for i in 0..<n { ys[i] = T.exp(xs[i]) }
        case .log: for i in 0..<n { ys[i] = T.log(xs[i]) }
        case .sqrt: for i in 0..<n { ys[i] = T.sqrt(xs[i]) }
        case .abs: for i in 0..<n { ys[i] = xs[i] < 0 ? -xs[i] : xs[i] }
        case .sin: for i in 0..<n { ys[i] = T.sin(xs[i]) }
        case .cos: for i in 0..<n { ys[i] = T.cos(xs[i]) }
        case .sigmoid: for i in 0..<n { ys[i] = Self.sigmoid(xs[i]) }
        case .tanh: for i in 0..<n { ys[i] = T.tanh(xs[i]) }
        case .relu:
            if T.self == Float.self { return ReLUKernel.forward(xs, ys, n) }
            for i in 0..<n { ys[i] = xs[i] > 0 ? xs[i] : 0 }
        case .leakyRelu(let alpha):
            let a = T(alpha)
            for i in 0..<n { ys[i] = xs[i] > 0 ? xs[i] : a * xs[i] }
        case .elu(let alpha):
            let a = T(alpha)
            for i in 0..<n { ys[i] = xs[i] > 0 ? xs[i] : a * T.expMinusOne(xs[i]) }
        case .selu:
            let l = T(UnaryOp.seluLambda), la = T(UnaryOp.seluLambda * UnaryOp.seluAlpha)
            for i in 0..<n { ys[i] = xs[i] > 0 ? l * xs[i] : la * T.expMinusOne(xs[i]) }
        case .softplus:
            // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): no overflow for large |x|.
            for i in 0..<n {
                let v = xs[i], negAbs = v < 0 ? v : -v
                ys[i] = (v > 0 ? v : 0) + T.log(onePlus: T.exp(negAbs))
            }
        case .gelu:
            // The exact form x Φ(x), as PyTorch's and Keras' defaults.
            let invSqrt2 = T(1 / 2.0.squareRoot())
            for i in 0..<n { ys[i] = xs[i] * 0.5 * (1 + T.erf(xs[i] * invSqrt2)) }
        case .swish: for i in 0..<n { ys[i] = xs[i] * Self.sigmoid(xs[i]) }
        }
    }

    // G (...) -> dx += G f'(x); in place (dx is G's window): G masked where y <= 0
    func unaryBackward(_ op: UnaryOp, _ x: NodeID, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let n = count(out)
        let xs = value[x.index], ys = value[out.index], g = grad[out.index]!
        if windows.activationInPlace[out.index] {
            if T.self == Float.self { return ReLUKernel.mask(g, where: ys, n) }
            for i in 0..<n where !(ys[i] > 0) { g[i] = 0 }
            return
        }
        switch op {
        case .neg: for i in 0..<n { dx[i] -= g[i] }
        case .exp: for i in 0..<n { dx[i] += g[i] * ys[i] }
        case .log: for i in 0..<n { dx[i] += g[i] / xs[i] }
        case .sqrt: for i in 0..<n { dx[i] += g[i] * 0.5 / ys[i] }
        case .abs: for i in 0..<n { dx[i] += xs[i] > 0 ? g[i] : (xs[i] < 0 ? -g[i] : 0) }
        case .sin: for i in 0..<n { dx[i] += g[i] * T.cos(xs[i]) }
        case .cos: for i in 0..<n { dx[i] -= g[i] * T.sin(xs[i]) }
        case .sigmoid: for i in 0..<n { dx[i] += g[i] * ys[i] * (1 - ys[i]) }
        case .tanh: for i in 0..<n { dx[i] += g[i] * (1 - ys[i] * ys[i]) }
        case .relu:
            if T.self == Float.self { return ReLUKernel.backward(xs, g, dx, n) }
            for i in 0..<n { dx[i] += xs[i] > 0 ? g[i] : 0 }
        case .leakyRelu(let alpha):
            let a = T(alpha)
            for i in 0..<n { dx[i] += xs[i] > 0 ? g[i] : a * g[i] }
        case .elu(let alpha):
            // For x <= 0, y = a(e^x - 1), so y' = y + a.
            let a = T(alpha)
            for i in 0..<n { dx[i] += xs[i] > 0 ? g[i] : g[i] * (ys[i] + a) }
        case .selu:
            let l = T(UnaryOp.seluLambda), la = T(UnaryOp.seluLambda * UnaryOp.seluAlpha)
            for i in 0..<n { dx[i] += xs[i] > 0 ? g[i] * l : g[i] * (ys[i] + la) }
        case .softplus: for i in 0..<n { dx[i] += g[i] * Self.sigmoid(xs[i]) }
        case .gelu:
            // d/dx x Φ(x) = Φ(x) + x φ(x)
            let invSqrt2 = T(1 / 2.0.squareRoot()), invSqrt2Pi = T(1 / (2 * Double.pi).squareRoot())
            for i in 0..<n {
                let v = xs[i]
                let cdf = 0.5 * (1 + T.erf(v * invSqrt2)), pdf = invSqrt2Pi * T.exp(-0.5 * v * v)
                dx[i] += g[i] * (cdf + v * pdf)
            }
        case .swish:
            // d/dx x σ(x) = σ + x σ (1 - σ)
            for i in 0..<n {
                let s = Self.sigmoid(xs[i])
                dx[i] += g[i] * (s + xs[i] * s * (1 - s))
            }
        }
    }

    // x (...) -> y = x^p (...)
    func powerForward(_ x: NodeID, _ p: Double, _ out: NodeID) {
        let n = count(out)
        let xs = value[x.index], ys = value[out.index]
        if let k = Int(exactly: p) {
            for i in 0..<n { ys[i] = T.pow(xs[i], k) }
        } else {
            let e = T(p)
            for i in 0..<n { ys[i] = T.pow(xs[i], e) }
        }
    }

    // G -> dx += G p x^(p-1)
    func powerBackward(_ x: NodeID, _ p: Double, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let n = count(out)
        let xs = value[x.index], g = grad[out.index]!
        let scale = T(p)
        if let k = Int(exactly: p) {
            for i in 0..<n { dx[i] += g[i] * scale * T.pow(xs[i], k - 1) }
        } else {
            let e = T(p - 1)
            for i in 0..<n { dx[i] += g[i] * scale * T.pow(xs[i], e) }
        }
    }

    /// σ(x) without overflow: e^x / (1 + e^x) for negative x, 1 / (1 + e^-x) otherwise.
    @inline(__always)
    static func sigmoid(_ x: T) -> T {
        if x >= 0 { return 1 / (1 + T.exp(-x)) }
        let e = T.exp(x)
        return e / (1 + e)
    }
}

/// ReLU on float32, 16 lanes at a time: the generic loops above are correct for every
/// scalar type but do not vectorise through the generic code.
enum ReLUKernel {
    typealias Lanes = SIMD16<Float>

    // x (n) -> y (n) = max(x, 0)
    static func forward<T>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ n: Int) {
        let xs = UnsafeMutableRawPointer(x), ys = UnsafeMutableRawPointer(y)
        let zero = Lanes(repeating: 0)
        var i = 0
        while i + 16 <= n {
            let v = xs.loadUnaligned(fromByteOffset: i * 4, as: Lanes.self)
            ys.storeBytes(of: v.replacing(with: zero, where: v .<= zero), toByteOffset: i * 4, as: Lanes.self)
            i += 16
        }
        let xf = xs.assumingMemoryBound(to: Float.self), yf = ys.assumingMemoryBound(to: Float.self)
        while i < n { yf[i] = xf[i] > 0 ? xf[i] : 0; i += 1 }
    }

    // G (n) -> dx (n) += G where x > 0
    static func backward<T>(_ x: UnsafeMutablePointer<T>, _ g: UnsafeMutablePointer<T>, _ dx: UnsafeMutablePointer<T>, _ n: Int) {
        let xs = UnsafeMutableRawPointer(x), gs = UnsafeMutableRawPointer(g), ds = UnsafeMutableRawPointer(dx)
        let zero = Lanes(repeating: 0)
        var i = 0
        while i + 16 <= n {
            let v = xs.loadUnaligned(fromByteOffset: i * 4, as: Lanes.self)
            let gv = gs.loadUnaligned(fromByteOffset: i * 4, as: Lanes.self).replacing(with: zero, where: v .<= zero)
            ds.storeBytes(of: ds.loadUnaligned(fromByteOffset: i * 4, as: Lanes.self) + gv, toByteOffset: i * 4, as: Lanes.self)
            i += 16
        }
        let xf = xs.assumingMemoryBound(to: Float.self), gf = gs.assumingMemoryBound(to: Float.self), df = ds.assumingMemoryBound(to: Float.self)
        while i < n { df[i] += xf[i] > 0 ? gf[i] : 0; i += 1 }
    }

    // G (n) -> G (n) zeroed where y <= 0, in place
    static func mask<T>(_ g: UnsafeMutablePointer<T>, where y: UnsafeMutablePointer<T>, _ n: Int) {
        let ys = UnsafeMutableRawPointer(y), gs = UnsafeMutableRawPointer(g)
        let zero = Lanes(repeating: 0)
        var i = 0
        while i + 16 <= n {
            let v = ys.loadUnaligned(fromByteOffset: i * 4, as: Lanes.self)
            let gv = gs.loadUnaligned(fromByteOffset: i * 4, as: Lanes.self)
            gs.storeBytes(of: gv.replacing(with: zero, where: .!(v .> zero)), toByteOffset: i * 4, as: Lanes.self)
            i += 16
        }
        let yf = ys.assumingMemoryBound(to: Float.self), gf = gs.assumingMemoryBound(to: Float.self)
        while i < n { if !(yf[i] > 0) { gf[i] = 0 }; i += 1 }
    }
}
