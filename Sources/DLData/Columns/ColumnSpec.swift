import Foundation

/// What a user says about a table's columns (`data.columns`, `data.defaults`,
/// `data.missing_values`); every column it does not name gets its type from the training
/// file and the handling of `defaults`.
public struct TableSpec: Sendable, Equatable {
    /// Cell texts read as missing (compared after trimming spaces); the empty cell always is.
    public var missingValues: [String] = TableSpec.defaultMissingValues
    /// Per-column declarations by header name.
    public var columns: [String: ColumnSpec] = [:]
    public var numericDefaults = NumericHandling()
    public var categoryDefaults = CategoryHandling()

    /// pandas' default NA tokens that are unambiguous in a table (not "None", which can be a level).
    public static let defaultMissingValues = ["", "NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "?", "-"]

    public init() {}
}

/// One column's declaration; nil fields take the defaults of the column's type.
public struct ColumnSpec: Sendable, Equatable {
    public var type: ColumnType?
    /// `missing` as written, checked against the column's type once that is known.
    public var missing: String?
    public var numeric: NumericHandling.Overrides = .init()
    public var category: CategoryHandling.Overrides = .init()

    public init(type: ColumnType? = nil) { self.type = type }
}

public enum ColumnType: String, Sendable, CaseIterable { case numeric, category, date, ignore }

/// How a numeric column becomes one input (two with the indicator).
public struct NumericHandling: Sendable, Equatable {
    public enum Missing: String, Sendable, CaseIterable { case error, drop, mean, median, constant }
    /// `log`: log1p, then standardize (values must be greater than −1).
    public enum Scale: String, Sendable, CaseIterable { case standardize, minmax, log, none }
    public var missing: Missing = .mean
    /// The value of `missing: constant`.
    public var fill: Double = 0
    /// A second input, 1 where the cell was missing and 0 elsewhere.
    public var indicator = false
    public var scale: Scale = .standardize

    public init() {}

    public struct Overrides: Sendable, Equatable {
        public var missing: Missing?, fill: Double?, indicator: Bool?, scale: Scale?
        public init() {}
    }

    public func applying(_ o: Overrides) -> NumericHandling {
        var h = self
        if let v = o.missing { h.missing = v }
        if let v = o.fill { h.fill = v }
        if let v = o.indicator { h.indicator = v }
        if let v = o.scale { h.scale = v }
        return h
    }
}

/// How a category column becomes inputs: a one-hot block, or one index into a learned
/// embedding table.
public struct CategoryHandling: Sendable, Equatable {
    /// `level`: missing is a level of its own; `most_frequent`: the training file's most
    /// frequent level.
    public enum Missing: String, Sendable, CaseIterable { case level, mostFrequent = "most_frequent", error, drop }
    public enum Encoding: String, Sendable, CaseIterable { case onehot, embedding, auto }
    public var missing: Missing = .level
    public var encoding: Encoding = .auto
    /// nil: chosen from the number of levels (``CategoryHandling/embeddingWidth(levels:)``).
    public var embeddingDim: Int? = nil
    /// Levels seen fewer times in the training rows are pooled into the "other" level.
    public var minCount = 1

    /// `auto` one-hot encodes a column of at most this many levels and embeds a larger one.
    public static let oneHotLimit = 32

    public init() {}

    /// fast.ai's rule of thumb for an embedding's width: 1.6 · levels^0.56, at most 50.
    public static func embeddingWidth(levels: Int) -> Int {
        Swift.max(2, Swift.min(50, Int((1.6 * Foundation.pow(Double(levels), 0.56)).rounded())))
    }

    public struct Overrides: Sendable, Equatable {
        public var missing: Missing?, encoding: Encoding?, embeddingDim: Int?, minCount: Int?
        public init() {}
    }

    public func applying(_ o: Overrides) -> CategoryHandling {
        var h = self
        if let v = o.missing { h.missing = v }
        if let v = o.encoding { h.encoding = v }
        if let v = o.embeddingDim { h.embeddingDim = v }
        if let v = o.minCount { h.minCount = v }
        return h
    }
}
