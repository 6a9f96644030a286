/// Rows of float32 features with their targets, in memory as slabs.
public struct Dataset: Sendable {
    /// Row-major (rows, columns).
    public var features: [Float]
    public var rows: Int
    public var columns: Int
    public var featureNames: [String]
    /// Row-major (rows, targetWidth): class indices (width 1) for categorical targets,
    /// values otherwise. Empty when the data has no target.
    public var targets: [Float]
    public var targetWidth: Int
    public var targetNames: [String]
    /// Class names in index order for categorical targets; empty otherwise.
    public var classNames: [String]
    /// Features that are images, (H, W) or (H, W, C), flattened row-major in each row.
    public var imageShape: [Int]?
    /// Where each row came from (a CSV line, or a row number), for messages.
    public var origins: [Int]

    public init(features: [Float], rows: Int, columns: Int, featureNames: [String], targets: [Float], targetWidth: Int = 1,
                targetNames: [String] = [], classNames: [String], imageShape: [Int]? = nil, origins: [Int]? = nil) {
        precondition(features.count == rows * columns, "features disagree with \(rows)×\(columns)")
        precondition(targets.isEmpty || targets.count == rows * targetWidth, "targets disagree with \(rows)×\(targetWidth)")
        self.features = features
        self.rows = rows
        self.columns = columns
        self.featureNames = featureNames
        self.targets = targets
        self.targetWidth = targetWidth
        self.targetNames = targetNames
        self.classNames = classNames
        self.imageShape = imageShape
        self.origins = origins ?? Array(0..<rows)
    }

    public var hasTargets: Bool { !targets.isEmpty }

    /// The rows at `indices`, in that order.
    public func subset(_ indices: [Int]) -> Dataset {
        var x = [Float](), y = [Float]()
        x.reserveCapacity(indices.count * columns)
        y.reserveCapacity(hasTargets ? indices.count * targetWidth : 0)
        for i in indices {
            x.append(contentsOf: features[(i * columns)..<((i + 1) * columns)])
            if hasTargets { y.append(contentsOf: targets[(i * targetWidth)..<((i + 1) * targetWidth)]) }
        }
        return Dataset(features: x, rows: indices.count, columns: columns, featureNames: featureNames, targets: y,
                       targetWidth: targetWidth, targetNames: targetNames, classNames: classNames, imageShape: imageShape,
                       origins: indices.map { origins[$0] })
    }

    /// The class index of each row (categorical targets).
    public var classIndices: [Int] { targets.map { Int($0) } }
}
