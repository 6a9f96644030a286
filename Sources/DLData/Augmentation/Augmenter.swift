import DLCore
import Foundation

/// Training-time augmentation. Never applied to validation, test or evaluation data.
public struct AugmentSpec: Sendable, Equatable {
    /// Standard deviation of Gaussian noise added to the (preprocessed) features.
    public var noise: Double = 0
    /// Mixup's α: each batch is blended with a shuffled copy of itself, weight λ ~ Beta(α, α).
    public var mixup: Double = 0
    /// Image geometry, for features that are images.
    public var image: ImageAugment? = nil
    public init() {}

    public var isEmpty: Bool { noise == 0 && mixup == 0 && (image?.isEmpty ?? true) }
}

public struct ImageAugment: Sendable, Equatable {
    /// (H, W, C) of each row's pixels, row-major, channels last.
    public var shape: [Int]
    /// Mirror left-right with probability ½.
    public var flip = false
    /// Shift by up to this many pixels in each direction, zeros filling in (pad and crop).
    public var translate = 0
    /// Rotate by up to ± this many degrees about the centre.
    public var rotate = 0.0
    /// Zoom by a factor in [1 − scale, 1 + scale] about the centre.
    public var scale = 0.0
    public init(shape: [Int]) { self.shape = shape }

    public var isEmpty: Bool { !flip && translate == 0 && rotate == 0 && scale == 0 }
    var height: Int { shape[0] }
    var width: Int { shape[1] }
    var channels: Int { shape.count > 2 ? shape[2] : 1 }
}

/// Applies an ``AugmentSpec`` to batches, drawing from its own generator, so a run's
/// augmentations are reproducible from its seed and independent of the data order.
public final class Augmenter {
    public let spec: AugmentSpec
    public var rng: RandomSource
    private var image: [Float]
    private var partner: [Int]
    private var mixed: [Float]

    public init(spec: AugmentSpec, seed: UInt64, batchCapacity: Int, featureWidth: Int, targetWidth: Int) {
        self.spec = spec
        rng = RandomSource(seed: seed)
        image = [Float](repeating: 0, count: spec.image.map { $0.shape.reduce(1, *) } ?? 0)
        partner = Array(0..<batchCapacity)
        mixed = [Float](repeating: 0, count: batchCapacity * max(featureWidth, targetWidth))
    }

    /// Geometry on raw image rows (before preprocessing): one affine warp per image.
    // x (rows, H·W·C) in place
    public func warpImages(_ x: UnsafeMutablePointer<Float>, rows: Int) {
        guard let geometry = spec.image, !geometry.isEmpty else { return }
        let h = geometry.height, w = geometry.width, c = geometry.channels, size = h * w * c
        for r in 0..<rows {
            let flip = geometry.flip && rng.uniform() < 0.5
            let dx = geometry.translate > 0 ? Double(Int(rng.next() % UInt64(2 * geometry.translate + 1)) - geometry.translate) : 0
            let dy = geometry.translate > 0 ? Double(Int(rng.next() % UInt64(2 * geometry.translate + 1)) - geometry.translate) : 0
            let angle = geometry.rotate * (2 * rng.uniform() - 1) * Double.pi / 180
            let zoom = 1 + geometry.scale * (2 * rng.uniform() - 1)
            let row = x + r * size
            image.withUnsafeMutableBufferPointer { out in
                Augmenter.warp(row, into: out.baseAddress!, h: h, w: w, c: c, flip: flip, dx: dx, dy: dy, angle: angle, zoom: zoom)
            }
            image.withUnsafeBufferPointer { row.update(from: $0.baseAddress!, count: size) }
        }
    }

    /// Output pixel p takes the source at A⁻¹(p − centre − t) + centre (bilinear; zero outside),
    /// where A rotates by `angle` and scales by `zoom`; `flip` mirrors the source columns.
    static func warp(_ source: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, h: Int, w: Int, c: Int,
                     flip: Bool, dx: Double, dy: Double, angle: Double, zoom: Double) {
        let cy = Double(h - 1) / 2, cx = Double(w - 1) / 2
        let cosA = Foundation.cos(angle) / zoom, sinA = Foundation.sin(angle) / zoom
        for i in 0..<h {
            for j in 0..<w {
                let py = Double(i) - cy - dy, px = Double(j) - cx - dx
                let sy = cosA * py - sinA * px + cy
                var sx = sinA * py + cosA * px + cx
                if flip { sx = Double(w - 1) - sx }
                let y0 = Int(sy.rounded(.down)), x0 = Int(sx.rounded(.down))
                let fy = Float(sy - Double(y0)), fx = Float(sx - Double(x0))
                for k in 0..<c {
                    func pixel(_ y: Int, _ x: Int) -> Float { y >= 0 && y < h && x >= 0 && x < w ? source[(y * w + x) * c + k] : 0 }
                    let top = pixel(y0, x0) * (1 - fx) + pixel(y0, x0 + 1) * fx
                    let bottom = pixel(y0 + 1, x0) * (1 - fx) + pixel(y0 + 1, x0 + 1) * fx
                    out[(i * w + j) * c + k] = top * (1 - fy) + bottom * fy
                }
            }
        }
    }

    /// Noise then mixup on preprocessed features (rows, d) and training targets (rows, t).
    public func perturb(features x: UnsafeMutablePointer<Float>, rows: Int, width d: Int, targets y: UnsafeMutablePointer<Float>, targetWidth t: Int) {
        if spec.noise > 0 {
            let sigma = spec.noise
            for i in 0..<(rows * d) { x[i] += Float(sigma * rng.normal()) }
        }
        guard spec.mixup > 0, rows > 1 else { return }
        // Zhang et al. 2018: one λ per batch, partners from a permutation of the batch.
        let lambda = Float(Augmenter.beta(spec.mixup, &rng))
        for i in 0..<rows { partner[i] = i }
        for i in stride(from: rows - 1, to: 0, by: -1) { partner.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        blend(x, rows: rows, width: d, lambda: lambda)
        blend(y, rows: rows, width: t, lambda: lambda)
    }

    /// Row r ← λ row r + (1 − λ) row partner[r], through the scratch buffer.
    private func blend(_ data: UnsafeMutablePointer<Float>, rows: Int, width: Int, lambda: Float) {
        mixed.withUnsafeMutableBufferPointer { m in
            for r in 0..<rows {
                let a = data + r * width, b = data + partner[r] * width
                for k in 0..<width { m[r * width + k] = lambda * a[k] + (1 - lambda) * b[k] }
            }
            data.update(from: m.baseAddress!, count: rows * width)
        }
    }

    /// Beta(α, α) as X / (X + Y) with X, Y ~ Gamma(α).
    static func beta(_ alpha: Double, _ rng: inout RandomSource) -> Double {
        let x = gamma(alpha, &rng), y = gamma(alpha, &rng)
        return x / (x + y)
    }

    /// Gamma(α, 1) by Marsaglia and Tsang (2000); for α < 1, Gamma(α + 1) · U^(1/α).
    static func gamma(_ alpha: Double, _ rng: inout RandomSource) -> Double {
        if alpha < 1 { return gamma(alpha + 1, &rng) * Foundation.pow(1 - rng.uniform(), 1 / alpha) }
        let d = alpha - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = rng.normal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = rng.uniform()
            if u < 1 - 0.0331 * x * x * x * x || Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) { return d * v }
        }
    }
}
