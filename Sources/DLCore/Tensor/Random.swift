import Dispatch
import RealModule

/// xoshiro256** (Blackman and Vigna 2018): fast, good statistically, and its whole state is
/// four words, so a checkpoint can store it and a resumed run draws the same numbers.
public struct RandomSource: RandomNumberGenerator, Sendable, Equatable {
    public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeds the state through SplitMix64, as the algorithm's authors recommend.
    public init(seed: UInt64) {
        var s = seed
        func splitMix() -> UInt64 {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// Restores a state saved from ``state``.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) { self.state = state }

    public static func == (l: RandomSource, r: RandomSource) -> Bool { l.state == r.state }

    public mutating func next() -> UInt64 {
        let result = rotl(state.1 &* 5, 7) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = rotl(state.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Standard normal by Box–Muller (one of the pair; simplicity over the last bit of speed).
    public mutating func normal() -> Double {
        let u1 = 1 - uniform()  // (0, 1]: log stays finite
        let u2 = uniform()
        return RandomSource.boxMuller(u1, u2)
    }

    @inline(__always) static func boxMuller(_ u1: Double, _ u2: Double) -> Double {
        (-2 * Double.log(u1)).squareRoot() * Double.cos(2 * Double.pi * u2)
    }

    /// `out[i] = T(scale * normal())` for each `i` in order: bit for bit the numbers of
    /// ``normal()`` drawn one by one, and the generator ends in the same state. Made in
    /// chunks: the uniforms are drawn in sequence (cheap), and the transform (a logarithm and
    /// a cosine per number, the cost of initialising millions of weights) is split over
    /// `threads`, each number independent of how the work is split.
    @_specialize(exported: true, where T == Float)
    @_specialize(exported: true, where T == Double)
    public mutating func fillNormal<T: Scalar>(_ out: UnsafeMutableBufferPointer<T>, scale: Double, threads: Int) {
        let chunk = 1 << 15
        let uniforms = UnsafeMutableBufferPointer<Double>.allocate(capacity: 2 * Swift.min(chunk, out.count))
        defer { uniforms.deallocate() }
        var start = 0
        while start < out.count {
            let count = Swift.min(chunk, out.count - start)
            for i in 0..<count {
                uniforms[2 * i] = 1 - uniform()
                uniforms[2 * i + 1] = uniform()
            }
            nonisolated(unsafe) let target = out.baseAddress! + start, pairs = uniforms.baseAddress!
            let parts = count >= 4096 ? Swift.max(1, threads) : 1
            let transform: @Sendable (Int) -> Void = { part in
                for i in (part * count / parts)..<((part + 1) * count / parts) {
                    target[i] = T(scale * RandomSource.boxMuller(pairs[2 * i], pairs[2 * i + 1]))
                }
            }
            if parts == 1 { transform(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: transform) }
            start += count
        }
    }
}

