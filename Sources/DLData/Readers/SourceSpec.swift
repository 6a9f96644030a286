/// Where one split's rows come from, and how to read them.
public struct SourceSpec: Sendable, Equatable {
    public enum Format: String, Sendable { case csv, hdf5 }

    /// A column named in the header or given by 0-based index.
    public enum Column: Sendable, Equatable, CustomStringConvertible {
        case name(String)
        case index(Int)
        public var description: String {
            switch self {
            case .name(let n): "\"\(n)\""
            case .index(let i): "column \(i)"
            }
        }
    }

    /// What to do with NaN, infinite or empty feature cells: fail (naming the cell), drop
    /// the row, or fill with the training split's column mean (a preprocessing step).
    public enum MissingValues: String, Sendable, CaseIterable { case error, drop, mean }

    public var path: String
    public var format: Format
    /// Target columns (CSV) or the target dataset (HDF5, as `.name`); empty: no target (predict).
    public var target: [Column]
    /// HDF5: the features dataset.
    public var features: String?
    public var header = true
    public var delimiter: UInt8 = UInt8(ascii: ",")
    public var missing: MissingValues = .error

    public init(path: String, target: [Column], features: String? = nil) {
        self.path = path
        self.format = path.lowercased().hasSuffix(".h5") || path.lowercased().hasSuffix(".hdf5") ? .hdf5 : .csv
        self.target = target
        self.features = features
    }
}

/// What the target column means.
public enum TargetKind: Sendable, Equatable {
    /// Class labels (one column of names or numbers, or several one-hot columns), encoded as
    /// indices into `classes` (given, or discovered from the training data).
    case categorical(classes: [String]?)
    /// Numbers, one per target column.
    case numeric
}
