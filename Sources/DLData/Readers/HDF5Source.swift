/// Reads a split from HDF5: a features dataset (N, D), or (N, H, W[, C]) flattened with the
/// image shape remembered, and a target dataset (N) or (N, T), any numeric element type.
enum HDF5Source {
    static func read(_ spec: SourceSpec, kind: TargetKind) throws -> Dataset {
        let file = try HDF5File.open(spec.path)
        guard let featuresName = spec.features else {
            throw DataError(file: spec.path, "an HDF5 source names its features dataset (\"features\"); the file has \(file.datasetNames.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        let (shape, features) = try file.read(featuresName, as: Float.self)
        guard shape.count >= 2, shape[0] > 0 else {
            throw DataError(file: spec.path, "features dataset \"\(featuresName)\" has shape \(shape); expected (N, D) or (N, H, W[, C]) with N > 0")
        }
        let rows = shape[0], columns = shape.dropFirst().reduce(1, *)
        if let bad = features.firstIndex(where: { !$0.isFinite }), spec.missing == .error {
            throw DataError(file: spec.path, "features dataset \"\(featuresName)\" row \(bad / columns), column \(bad % columns) is \(features[bad]); set the source's \"nan\" to \"drop\" or \"mean\"")
        }
        var dataset = Dataset(features: features, rows: rows, columns: columns, featureNames: (0..<columns).map { "x\($0)" },
                              targets: [], targetWidth: 0, classNames: [], imageShape: shape.count > 2 ? Array(shape.dropFirst()) : nil)
        if case .name(let targetName)? = spec.target.first {
            let (targetShape, values) = try file.read(targetName, as: Float.self)
            guard targetShape.first == rows else {
                throw DataError(file: spec.path, "features \"\(featuresName)\" have \(rows) rows but targets \"\(targetName)\" have \(targetShape.first ?? 0); they must have one row each")
            }
            guard targetShape.count <= 2 else { throw DataError(file: spec.path, "targets \"\(targetName)\" have shape \(targetShape); expected (N) or (N, T)") }
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw DataError(file: spec.path, "target row \(bad) of \"\(targetName)\" is \(values[bad]); targets must be finite")
            }
            let width = targetShape.count == 2 ? targetShape[1] : 1
            let texts: [String]? = kind != .numeric && width == 1 ? values.map { LabelEncoder.canonical(String($0)) } : nil
            let encoded = try LabelEncoder.encode(kind: kind, texts: texts, numbers: values, width: width,
                                                  names: (0..<width).map { "\(targetName)[\($0)]" }, path: spec.path,
                                                  origins: Array(0..<rows), originIsLine: false)
            dataset.targets = encoded.targets
            dataset.targetWidth = encoded.width
            dataset.targetNames = [targetName]
            dataset.classNames = encoded.classes
        }
        if spec.missing == .drop {
            let keep = (0..<rows).filter { r in (0..<columns).allSatisfy { features[r * columns + $0].isFinite } }
            if keep.count < rows { dataset = dataset.subset(keep) }
            guard dataset.rows > 0 else { throw DataError(file: spec.path, "every row has a missing value; nothing is left after dropping them") }
        }
        return dataset
    }
}

/// Reads a split from its source, CSV or HDF5.
public enum DataReader {
    public static func read(_ spec: SourceSpec, kind: TargetKind) throws -> Dataset {
        switch spec.format {
        case .csv: try CSVReader.read(spec, kind: kind)
        case .hdf5: try HDF5Source.read(spec, kind: kind)
        }
    }
}
