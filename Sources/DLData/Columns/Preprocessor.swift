import DLCore

/// Which preprocessing steps to fit. Defaults: none on features; regression targets standardized.
public struct PreprocessSpec: Sendable, Equatable {
    public enum Scaling: String, Sendable { case none, standardize, minmax, center }
    public var scaling: Scaling = .none
    /// PCA to this many components, or to the fewest that keep this fraction of the variance.
    public var pcaComponents: Int? = nil
    public var pcaVariance: Double? = nil
    /// Divide each principal component by √(λ + 1e-5): unit variance, decorrelated (the
    /// lecture's whitening, with its epsilon).
    public var whiten = false
    public var standardizeTargets = false
    public init() {}

    public var usesPCA: Bool { pcaComponents != nil || pcaVariance != nil }
}

/// Preprocessing fitted on the training split and applied, identically, to every split and
/// later at evaluation, prediction and export:
///
///     x ← fill(x)                   missing values → the training column means
///     x ← (x − shift) · scale       standardize: mean, 1/std; minmax: min, 1/(max − min); center: mean, 1
///     x ← (x − μ) P                 PCA: P (D, k) the top-k eigenvectors of the covariance,
///                                   each divided by √(λ + 1e-5) when whitening
///
/// Regression targets are standardized the same way, and ``invertTargets(_:rows:)`` maps
/// predictions back to the user's units. All statistics are accumulated in double.
///
/// The last ``passthroughColumns`` inputs (a table's one-hot blocks and embedding indices) are
/// carried unchanged after the transformed ones: the steps above see the numeric block only.
public struct Preprocessor: Sendable {
    public var spec: PreprocessSpec
    public var inputColumns: Int
    public var passthroughColumns: Int
    /// The leading inputs the steps apply to; fill, shift, scale and the PCA mean have this many entries.
    public var transformedColumns: Int { inputColumns - passthroughColumns }
    public var fill: [Float]?
    public var shift: [Float]
    public var scale: [Float]
    public var pcaMean: [Float]?
    /// Row-major (transformedColumns, components).
    public var projection: [Float]?
    /// Eigenvalues of the kept components (before whitening), and the fraction of the total variance they keep.
    public var explainedVariance: [Double]
    public var keptVarianceFraction: Double?
    public var targetShift: [Float]?
    public var targetScale: [Float]?

    public var components: Int? { projection.map { $0.count / transformedColumns } }
    public var outputColumns: Int { (components ?? transformedColumns) + passthroughColumns }
    public static let whiteningEpsilon = 1e-5

    /// A preprocessor restored from stored values (a checkpoint).
    public init(spec: PreprocessSpec, inputColumns: Int, passthroughColumns: Int, fill: [Float]?, shift: [Float], scale: [Float], pcaMean: [Float]?,
                projection: [Float]?, explainedVariance: [Double], keptVarianceFraction: Double?, targetShift: [Float]?, targetScale: [Float]?) {
        self.spec = spec
        self.inputColumns = inputColumns
        self.passthroughColumns = passthroughColumns
        self.fill = fill
        self.shift = shift
        self.scale = scale
        self.pcaMean = pcaMean
        self.projection = projection
        self.explainedVariance = explainedVariance
        self.keptVarianceFraction = keptVarianceFraction
        self.targetShift = targetShift
        self.targetScale = targetScale
    }

    /// Rows of raw features handed over in blocks: `visit` calls its argument with each
    /// block's row count and a pointer to its rows (each `columns` wide).
    public typealias BlockVisitor = ((Int, UnsafeMutablePointer<Float>) throws -> Void) throws -> Void

    /// Fits on the training rows of `dataset` (all of them, or `indices`), without copying them.
    public init(fitting spec: PreprocessSpec, on dataset: Dataset, indices: [Int]? = nil, passthroughColumns: Int = 0) throws {
        let rows = indices ?? Array(0..<dataset.rows), d = dataset.columns
        var targets: [Float] = []
        if spec.standardizeTargets && dataset.hasTargets {
            targets.reserveCapacity(rows.count * dataset.targetWidth)
            for r in rows { targets.append(contentsOf: dataset.targets[(r * dataset.targetWidth)..<((r + 1) * dataset.targetWidth)]) }
        }
        try self.init(fitting: spec, columns: d, passthroughColumns: passthroughColumns, featureNames: dataset.featureNames,
                      targets: targets, targetWidth: dataset.targetWidth) { body in
            var block = [Float](repeating: 0, count: Swift.min(rows.count, Preprocessor.blockRows) * d)
            var start = 0
            try block.withUnsafeMutableBufferPointer { b in
                try dataset.features.withUnsafeBufferPointer { x in
                    while start < rows.count {
                        let n = Swift.min(Preprocessor.blockRows, rows.count - start)
                        for i in 0..<n { (b.baseAddress! + i * d).update(from: x.baseAddress! + rows[start + i] * d, count: d) }
                        try body(n, b.baseAddress!)
                        start += n
                    }
                }
            }
        }
    }

    static let blockRows = 1024

    /// Fits every step in passes over blocks of raw training rows: column statistics first,
    /// then (for PCA) the covariance of the scaled rows. Memory stays at one block plus a
    /// (D, D) matrix, however many rows there are. Rows are `stride` wide; the first `d`
    /// inputs are fitted.
    public init(fitting spec: PreprocessSpec, columns stride: Int, passthroughColumns: Int = 0, featureNames: [String], targets: [Float], targetWidth: Int,
                visit: BlockVisitor) throws {
        self.spec = spec
        inputColumns = stride
        self.passthroughColumns = passthroughColumns
        explainedVariance = []
        let d = stride - passthroughColumns
        // Pass 1: per column, count, shifted sums (about the first value seen, for accuracy),
        // minimum and maximum of the finite values.
        var count = [Double](repeating: 0, count: d), anchor = [Double](repeating: .nan, count: d)
        var sum = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
        var low = [Double](repeating: .infinity, count: d), high = [Double](repeating: -.infinity, count: d)
        var anyMissing = false
        let needsStatistics = spec.scaling != .none
        try visit { n, x in
            guard needsStatistics else {
                // Nothing to scale: only look for missing values, which need the means.
                for r in 0..<n where !anyMissing { anyMissing = UnsafeBufferPointer(start: x + r * stride, count: d).contains { !$0.isFinite } }
                return
            }
            for r in 0..<n {
                for c in 0..<d {
                    let v = Double(x[r * stride + c])
                    guard v.isFinite else { anyMissing = true; continue }
                    if anchor[c].isNaN { anchor[c] = v }
                    let e = v - anchor[c]
                    count[c] += 1
                    sum[c] += e
                    squares[c] += e * e
                    low[c] = Swift.min(low[c], v)
                    high[c] = Swift.max(high[c], v)
                }
            }
        }
        if anyMissing && !needsStatistics {
            // A second pass only for data with missing values and no scaling.
            try visit { n, x in
                for r in 0..<n {
                    for c in 0..<d {
                        let v = Double(x[r * stride + c])
                        guard v.isFinite else { continue }
                        if anchor[c].isNaN { anchor[c] = v }
                        count[c] += 1
                        sum[c] += v - anchor[c]
                    }
                }
            }
        }
        if anyMissing || needsStatistics, let empty = count.firstIndex(of: 0) {
            throw DataError(file: "training data", "feature \(featureNames[empty]) has no values at all; remove the column")
        }
        let mean = (0..<d).map { count[$0] > 0 ? anchor[$0] + sum[$0] / count[$0] : 0 }
        fill = anyMissing ? mean.map(Float.init) : nil
        shift = [Float](repeating: 0, count: d)
        scale = [Float](repeating: 1, count: d)
        for c in 0..<d {
            switch spec.scaling {
            case .standardize:
                let variance = Swift.max(0, squares[c] / count[c] - (sum[c] / count[c]) * (sum[c] / count[c]))
                shift[c] = Float(mean[c])
                scale[c] = variance > 0 ? Float(1 / variance.squareRoot()) : 1
            case .minmax:
                shift[c] = Float(low[c])
                scale[c] = high[c] > low[c] ? Float(1 / (high[c] - low[c])) : 1
            case .center: shift[c] = Float(mean[c])
            case .none: break
            }
        }

        if spec.usesPCA {
            // Pass 2: Σ x and Σ x xᵀ of the scaled rows, in double, a block at a time.
            var n = 0
            var total = [Double](repeating: 0, count: d), gram = [Double](repeating: 0, count: d * d)
            var scaled = [Double](repeating: 0, count: Preprocessor.blockRows * d)
            let (fillValues, shiftValues, scaleValues) = (fill, shift, scale)
            try visit { rows, x in
                if rows * d > scaled.count { scaled = [Double](repeating: 0, count: rows * d) }
                for r in 0..<rows {
                    for c in 0..<d {
                        var v = x[r * stride + c]
                        if v.isNaN, let fillValues { v = fillValues[c] }
                        let s = Double((v - shiftValues[c]) * scaleValues[c])
                        scaled[r * d + c] = s
                        total[c] += s
                    }
                }
                let blockGram = scaled.withUnsafeBufferPointer { LinearAlgebra.gram($0.baseAddress!, rows: rows, columns: d) }
                for i in gram.indices { gram[i] += blockGram[i] }
                n += rows
            }
            guard n >= 2 else { throw DataError(file: "training data", "PCA needs at least 2 training rows") }
            let mu = total.map { $0 / Double(n) }
            var covariance = gram
            for i in 0..<d { for j in 0..<d { covariance[i * d + j] = (gram[i * d + j] - Double(n) * mu[i] * mu[j]) / Double(n - 1) } }
            let (values, vectors) = try LinearAlgebra.symmetricEigen(covariance, n: d)
            let totalVariance = values.reduce(0) { $0 + Swift.max($1, 0) }
            var k = Swift.min(spec.pcaComponents ?? d, d)
            if let fraction = spec.pcaVariance {
                var kept = 0.0
                k = d
                for (i, v) in values.enumerated() {
                    kept += Swift.max(v, 0)
                    if kept >= fraction * totalVariance { k = i + 1; break }
                }
            }
            var p = [Float](repeating: 0, count: d * k)
            for j in 0..<k {
                // A deterministic sign: the largest entry of each component is positive.
                var largest = 0
                for i in 0..<d where Swift.abs(vectors[i * d + j]) > Swift.abs(vectors[largest * d + j]) { largest = i }
                let sign = vectors[largest * d + j] < 0 ? -1.0 : 1.0
                let divisor = spec.whiten ? (Swift.max(values[j], 0) + Preprocessor.whiteningEpsilon).squareRoot() : 1
                for i in 0..<d { p[i * k + j] = Float(sign * vectors[i * d + j] / divisor) }
            }
            pcaMean = mu.map(Float.init)
            projection = p
            explainedVariance = Array(values.prefix(k))
            keptVarianceFraction = totalVariance > 0 ? values.prefix(k).reduce(0, +) / totalVariance : 1
        }

        if spec.standardizeTargets && !targets.isEmpty {
            let (s, f) = Preprocessor.scaling(.standardize, targets, rows: targets.count / targetWidth, columns: targetWidth)
            targetShift = s
            targetScale = f
        }
    }

    /// (shift, scale) per column for `scaling`; a constant column gets scale 1, as scikit-learn.
    static func scaling(_ scaling: PreprocessSpec.Scaling, _ x: [Float], rows n: Int, columns d: Int) -> ([Float], [Float]) {
        guard scaling != .none else { return ([Float](repeating: 0, count: d), [Float](repeating: 1, count: d)) }
        var shift = [Float](repeating: 0, count: d), scale = [Float](repeating: 1, count: d)
        for c in 0..<d {
            var sum = 0.0, low = Double.infinity, high = -Double.infinity
            for r in 0..<n {
                let v = Double(x[r * d + c])
                sum += v
                low = Swift.min(low, v)
                high = Swift.max(high, v)
            }
            let mean = sum / Double(n)
            switch scaling {
            case .standardize:
                var squares = 0.0
                for r in 0..<n { let e = Double(x[r * d + c]) - mean; squares += e * e }
                let std = (squares / Double(n)).squareRoot()
                shift[c] = Float(mean)
                scale[c] = std > 0 ? Float(1 / std) : 1
            case .minmax:
                shift[c] = Float(low)
                scale[c] = high > low ? Float(1 / (high - low)) : 1
            case .center:
                shift[c] = Float(mean)
            case .none: break
            }
        }
        return (shift, scale)
    }

    /// Transforms `rows` rows of raw features (inputColumns each) into `output`
    /// (outputColumns each). `input` is overwritten with the scaled features.
    public func transform(_ input: UnsafeMutablePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        let stride = inputColumns, d = transformedColumns
        // Without scaling (shift 0, scale 1) the pass would give back every value unchanged.
        let rescales = !(shift.allSatisfy { $0 == 0 } && scale.allSatisfy { $0 == 1 })
        for r in 0..<rows where fill != nil || rescales {
            let row = input + r * stride
            if let fill { for c in 0..<d where row[c].isNaN { row[c] = fill[c] } }
            if rescales { for c in 0..<d { row[c] = (row[c] - shift[c]) * scale[c] } }
        }
        guard let projection, let mean = pcaMean, let k = components else {
            if output != input { output.update(from: input, count: rows * stride) }
            return
        }
        for r in 0..<rows { for c in 0..<d { input[r * stride + c] -= mean[c] } }
        let width = outputColumns
        // x (rows, D) of stride inputColumns, P (D, k) -> y (rows, k) of stride outputColumns
        projection.withUnsafeBufferPointer { p in
            Float.gemm(transposeA: false, transposeB: false, m: rows, n: k, k: d, alpha: 1, a: input, lda: stride,
                       b: p.baseAddress!, ldb: k, beta: 0, c: output, ldc: width)
        }
        if passthroughColumns > 0 {
            for r in 0..<rows { (output + r * width + k).update(from: input + r * stride + d, count: passthroughColumns) }
        }
    }

    /// A transformed copy of `dataset` (features, and targets when standardized).
    public func applied(to dataset: Dataset) -> Dataset {
        var x = dataset.features, out = [Float](repeating: 0, count: dataset.rows * outputColumns)
        x.withUnsafeMutableBufferPointer { input in
            out.withUnsafeMutableBufferPointer { transform(input.baseAddress!, rows: dataset.rows, into: $0.baseAddress!) }
        }
        var result = dataset
        result.features = out
        result.columns = outputColumns
        if let k = components {
            result.featureNames = (0..<k).map { "pc\($0)" } + dataset.featureNames.suffix(passthroughColumns)
            result.imageShape = nil
        }
        if let targetShift, let targetScale, dataset.hasTargets {
            let w = dataset.targetWidth
            for i in result.targets.indices { result.targets[i] = (result.targets[i] - targetShift[i % w]) * targetScale[i % w] }
        }
        return result
    }

    /// Maps standardized targets (or predictions) back to the user's units, in place.
    public func invertTargets(_ values: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        guard let targetShift, let targetScale else { return }
        for r in 0..<rows { for c in 0..<width { values[r * width + c] = values[r * width + c] / targetScale[c] + targetShift[c] } }
    }
}
