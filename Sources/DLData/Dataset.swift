/// Rows of float32 features with one target per row, in memory as one slab.
public struct Dataset: Sendable {
    /// Row-major (rows, columns).
    public var features: [Float]
    public var rows: Int
    public var columns: Int
    public var featureNames: [String]
    /// A class index per row (classification) or a value per row (regression).
    public var targets: [Float]
    /// Class names in index order for classification; empty for regression.
    public var classNames: [String]

    public init(features: [Float], rows: Int, columns: Int, featureNames: [String], targets: [Float], classNames: [String]) {
        precondition(features.count == rows * columns && targets.count == rows, "dataset arrays disagree with \(rows)×\(columns)")
        self.features = features
        self.rows = rows
        self.columns = columns
        self.featureNames = featureNames
        self.targets = targets
        self.classNames = classNames
    }
}
