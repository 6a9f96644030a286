@testable import DLTrain
import DLCore
import Foundation
import Testing

/// Random search draws from the stated distributions: moments and ranges over 20,000 draws.
@Suite struct SweepDrawTests {
    func draws(_ domain: SweepSpec.Domain, _ n: Int = 20_000) -> [Double] {
        var rng = RandomSource(seed: 11)
        return (0..<n).map { _ in Sweep.draw(domain, &rng).number! }
    }

    func moments(_ x: [Double]) -> (mean: Double, variance: Double) {
        let mean = x.reduce(0, +) / Double(x.count)
        return (mean, x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count))
    }

    @Test func uniform() {
        let x = draws(.uniform(2, 6)), (mean, variance) = moments(x)
        #expect(x.allSatisfy { $0 >= 2 && $0 < 6 })
        #expect(Swift.abs(mean - 4) < 0.05 && Swift.abs(variance - 16.0 / 12) < 0.05)
    }

    /// log_uniform: the logarithm is uniform, so each decade gets the same share.
    @Test func logUniform() {
        let x = draws(.logUniform(1e-4, 1e-1))
        #expect(x.allSatisfy { $0 >= 1e-4 && $0 <= 1e-1 })
        let logs = x.map { Foundation.log10($0) }, (mean, variance) = moments(logs)
        #expect(Swift.abs(mean - -2.5) < 0.03 && Swift.abs(variance - 9.0 / 12) < 0.03)
        for decade in [-4.0, -3, -2] {
            let share = Double(logs.filter { $0 >= decade && $0 < decade + 1 }.count) / Double(x.count)
            #expect(Swift.abs(share - 1.0 / 3) < 0.02, "decade \(decade): \(share)")
        }
    }

    /// int_uniform: every integer of the range, equally often (a chi-square test, 5 degrees of freedom, 1% level 15.1).
    @Test func intUniform() {
        let x = draws(.intUniform(3, 8)).map { Int($0) }
        let counts = (3...8).map { k in x.filter { $0 == k }.count }
        let expected = Double(x.count) / 6
        let chiSquare = counts.map { (Double($0) - expected) * (Double($0) - expected) / expected }.reduce(0, +)
        #expect(Set(x) == Set(3...8) && chiSquare < 15.1, "counts \(counts)")
    }

    @Test func quantizedAndChoices() {
        let x = draws(.quantized(0.1, 0.9, q: 0.2))
        #expect(x.allSatisfy { v in [0.2, 0.4, 0.6, 0.8].contains { Swift.abs($0 - v) < 1e-12 } })
        var rng = RandomSource(seed: 2)
        let picks = (0..<6000).map { _ in Sweep.draw(.values([.number(64), .number(128), .number(256)]), &rng).number! }
        for v in [64.0, 128, 256] {
            let share: Double = Double(picks.filter { $0 == v }.count) / 6000
            #expect(Swift.abs(share - 1.0 / 3) < 0.03)
        }
    }

    /// Refining narrows each numeric range around the best trial's value, inside the original.
    @Test func refinedRanges() {
        let best = Sweep.Trial(id: 1, parameters: [("optimizer.lr", .number(1e-2)), ("model.layers.0.units", .number(60))], seed: 0, round: 1)
        let narrowed = Sweep.refined([("optimizer.lr", .logUniform(1e-4, 1)), ("model.layers.0.units", .intUniform(10, 110))], around: best, shrink: 0.5, round: 1)
        guard case .logUniform(let a, let b) = narrowed[0].domain, case .intUniform(let c, let d) = narrowed[1].domain else { Issue.record("kinds changed"); return }
        #expect(Swift.abs(Foundation.log10(a) - -3) < 1e-9 && Swift.abs(Foundation.log10(b) - -1) < 1e-9)
        #expect(c == 35 && d == 85)
        #expect(Sweep.seed(1, best.parameters) == Sweep.seed(1, best.parameters) && Sweep.seed(1, best.parameters) != Sweep.seed(2, best.parameters))
    }
}
