import Foundation

/// A learning-rate schedule: the rate of epoch `t` (0-based) is a pure function of `t`, the
/// base rate and (for `plateau` only) the plateau state, so resuming at any epoch reproduces
/// the same rates. Rates change once per epoch.
///
/// | name | rate at epoch t |
/// | --- | --- |
/// | constant | lr₀ |
/// | step | lr₀ · γ^⌊t / step⌋ (γ = 0.5: halve every `step` epochs) |
/// | multistep | lr₀ · γ^(number of milestones ≤ t) |
/// | exponential | lr₀ · e^(−k t) |
/// | inverse_time | lr₀ / (1 + k t) |
/// | cosine | lr_min + ½ (lr₀ − lr_min)(1 + cos(π t / T)), T = epochs after warmup |
/// | cosine_restarts | the cosine within each cycle; cycles of T₀, T₀·m, T₀·m², … epochs (SGDR, Loshchilov and Hutter 2017) |
/// | one_cycle | up linearly from lr_max/25 to lr_max over the first `pct` of T, then cosine down to lr_max/10⁴ (Smith 2018) |
/// | plateau | lr₀ · factor^(reductions), a reduction after `patience` epochs without improvement, never below lr_min |
///
/// `warmup` epochs in front of any of them ramp linearly: epoch w of W runs at
/// (w + 1)/W of the first scheduled rate; `t` above counts from the end of the warmup.
public struct Schedule: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case constant, step, multistep, exponential, inverseTime = "inverse_time", cosine
        case cosineRestarts = "cosine_restarts", oneCycle = "one_cycle", plateau
    }

    public var kind: Kind = .constant
    public var warmupEpochs = 0
    /// The epochs the schedule spans (cosine's T, one_cycle's T): training epochs less warmup.
    public var epochs = 1
    public var gamma = 0.5
    public var stepSize = 10
    public var milestones: [Int] = []
    public var decay = 0.1
    public var minimumRate = 0.0
    public var restartPeriod = 10
    public var restartMultiplier = 1
    public var maximumRate: Double? = nil
    public var warmupFraction = 0.3
    public var factor = 0.1
    public var patience = 10

    public init() {}

    /// The learning rate of epoch `t` (0-based), given `base` (the configured lr) and the
    /// number of plateau reductions so far.
    public func rate(epoch t: Int, base: Double, reductions: Int = 0) -> Double {
        if t < warmupEpochs {
            return scheduled(0, base: base, reductions: 0) * Double(t + 1) / Double(warmupEpochs)
        }
        return scheduled(t - warmupEpochs, base: base, reductions: reductions)
    }

    private func scheduled(_ t: Int, base: Double, reductions: Int) -> Double {
        let span = Double(Swift.max(epochs, 1)), x = Double(t)
        switch kind {
        case .constant: return base
        case .step: return base * Foundation.pow(gamma, Double(t / Swift.max(stepSize, 1)))
        case .multistep: return base * Foundation.pow(gamma, Double(milestones.filter { $0 <= t }.count))
        case .exponential: return base * Foundation.exp(-decay * x)
        case .inverseTime: return base / (1 + decay * x)
        case .cosine: return minimumRate + 0.5 * (base - minimumRate) * (1 + Foundation.cos(Double.pi * Swift.min(x, span) / span))
        case .cosineRestarts:
            let (position, length) = cyclePosition(t)
            return minimumRate + 0.5 * (base - minimumRate) * (1 + Foundation.cos(Double.pi * Double(position) / Double(length)))
        case .oneCycle:
            let peak = maximumRate ?? base, start = peak / 25, end = peak / 1e4
            let rise = Swift.max(1, (warmupFraction * span).rounded())
            if x < rise { return start + (peak - start) * x / rise }
            let fall = Swift.max(1, span - rise)
            return end + 0.5 * (peak - end) * (1 + Foundation.cos(Double.pi * Swift.min(x - rise, fall) / fall))
        case .plateau: return Swift.max(minimumRate, base * Foundation.pow(factor, Double(reductions)))
        }
    }

    /// Within cosine_restarts: the epoch's position in its cycle and the cycle's length.
    public func cyclePosition(_ t: Int) -> (position: Int, length: Int) {
        var start = 0, length = Swift.max(restartPeriod, 1)
        while t >= start + length {
            start += length
            length *= Swift.max(restartMultiplier, 1)
        }
        return (t - start, length)
    }

    /// Whether epoch `t` (0-based, counting warmup) is the last of a cosine_restarts cycle:
    /// where a snapshot ensemble keeps a model.
    public func endsCycle(epoch t: Int) -> Bool {
        guard kind == .cosineRestarts, t >= warmupEpochs else { return false }
        let (position, length) = cyclePosition(t - warmupEpochs)
        return position == length - 1
    }
}

/// Reduce-on-plateau's memory: the best monitored value, epochs since it improved, and the
/// reductions made. Checkpointed with the optimizer.
public struct PlateauState: Sendable, Equatable {
    public var best: Double?
    public var waited = 0
    public var reductions = 0
    public init() {}

    /// Records an epoch's monitored value (smaller is better when `minimize`).
    public mutating func observe(_ value: Double, minimize: Bool, patience: Int, minDelta: Double = 0) {
        if let best, !(minimize ? value < best - minDelta : value > best + minDelta) {
            waited += 1
            if waited > patience {
                reductions += 1
                waited = 0
            }
        } else {
            best = value
            waited = 0
        }
    }
}
