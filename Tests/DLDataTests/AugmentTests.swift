@testable import DLData
import DLCore
import Testing

@Suite struct AugmentTests {
    /// A 3×3 single-channel image 0…8, row-major.
    let image: [Float] = (0..<9).map(Float.init)

    func warp(flip: Bool = false, dx: Double = 0, dy: Double = 0, angle: Double = 0, zoom: Double = 1) -> [Float] {
        var out = [Float](repeating: -1, count: 9)
        image.withUnsafeBufferPointer { Augmenter.warp($0.baseAddress!, into: &out, h: 3, w: 3, c: 1, flip: flip, dx: dx, dy: dy, angle: angle, zoom: zoom) }
        return out
    }

    @Test func identityFlipShiftAndRotation() {
        #expect(warp() == image)
        #expect(warp(flip: true) == [2, 1, 0, 5, 4, 3, 8, 7, 6])
        // One pixel right: the left column fills with zeros.
        #expect(warp(dx: 1) == [0, 0, 1, 0, 3, 4, 0, 6, 7])
        #expect(warp(dy: -1) == [3, 4, 5, 6, 7, 8, 0, 0, 0])
        // A quarter turn about the centre moves every pixel to its rotated place.
        let quarter = warp(angle: Double.pi / 2)
        #expect(quarter.map { $0.rounded() } == [2, 5, 8, 1, 4, 7, 0, 3, 6] || quarter.map { $0.rounded() } == [6, 3, 0, 7, 4, 1, 8, 5, 2])
        // Zooming in by 2 about the centre keeps the centre pixel.
        #expect(warp(zoom: 2)[4] == 4)
    }

    /// Beta(α, α) has mean ½ and variance 1 / (4(2α + 1)).
    @Test(arguments: [0.2, 1.0, 4.0])
    func betaMoments(alpha: Double) {
        var rng = RandomSource(seed: 1)
        let n = 40_000
        let draws = (0..<n).map { _ in Augmenter.beta(alpha, &rng) }
        let mean = draws.reduce(0, +) / Double(n)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n)
        let expected = 1 / (4 * (2 * alpha + 1))
        #expect(Swift.abs(mean - 0.5) < 0.01)
        #expect(Swift.abs(variance / expected - 1) < 0.05, "variance \(variance) vs \(expected)")
        #expect(draws.allSatisfy { $0 >= 0 && $0 <= 1 })
    }

    /// Mixup: every row becomes λ·itself + (1 − λ)·a partner, features and targets alike, so
    /// one-hot rows become distributions (sums 1) and the batch's feature sum is kept.
    @Test func mixupBlendsRowsAndTargetsAlike() {
        var spec = AugmentSpec()
        spec.mixup = 0.4
        let augmenter = Augmenter(spec: spec, seed: 3, batchCapacity: 8, featureWidth: 2, targetWidth: 3)
        var x: [Float] = (0..<16).map(Float.init), y = [Float](repeating: 0, count: 24)
        for r in 0..<8 { y[r * 3 + r % 3] = 1 }
        let before = x
        augmenter.perturb(features: &x, rows: 8, width: 2, targets: &y, targetWidth: 3)
        #expect(x != before)
        for r in 0..<8 { #expect(Swift.abs(y[(r * 3)..<(r * 3 + 3)].reduce(0, +) - 1) < 1e-6) }
        #expect(Swift.abs(x.reduce(0, +) - before.reduce(0, +)) < 1e-3)
        // Each feature row is a convex blend: it lies between the smallest and largest row.
        for r in 0..<8 { #expect(x[r * 2] >= 0 && x[r * 2] <= 14) }
    }

    @Test func noiseHasTheGivenSpread() {
        var spec = AugmentSpec()
        spec.noise = 0.5
        let augmenter = Augmenter(spec: spec, seed: 4, batchCapacity: 1000, featureWidth: 10, targetWidth: 1)
        var x = [Float](repeating: 3, count: 10_000), y = [Float](repeating: 0, count: 1000)
        augmenter.perturb(features: &x, rows: 1000, width: 10, targets: &y, targetWidth: 1)
        let e = x.map { Double($0) - 3 }
        let std = (e.map { $0 * $0 }.reduce(0, +) / Double(e.count)).squareRoot()
        #expect(Swift.abs(std - 0.5) < 0.01 && y.allSatisfy { $0 == 0 })
    }

    @Test func reproducibleFromTheSeed() {
        var spec = AugmentSpec()
        spec.noise = 1
        spec.image = ImageAugment(shape: [3, 3])
        spec.image!.rotate = 20
        spec.image!.flip = true
        func run() -> [Float] {
            let a = Augmenter(spec: spec, seed: 8, batchCapacity: 2, featureWidth: 9, targetWidth: 1)
            var x = image + image, y: [Float] = [0, 0]
            a.warpImages(&x, rows: 2)
            a.perturb(features: &x, rows: 2, width: 9, targets: &y, targetWidth: 1)
            return x
        }
        #expect(run() == run())
    }
}
