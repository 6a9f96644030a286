import DLCore
import DLData
import DLNN
import Foundation

/// The data of a run: the training rows (in memory, or streamed from HDF5), the held-out
/// splits, the preprocessing fitted on the training rows, and what the loaders need.
public final class TrainingData {
    public let classNames: [String]
    public let preprocessor: Preprocessor
    public let train: RowProducer
    public let validation: RowProducer?
    public let test: RowProducer?
    public let featureNames: [String]
    public let imageShape: [Int]?
    public let targetNames: [String]
    /// How the training file was held: "in memory" or "streamed in blocks of N rows".
    public let residency: String
    /// A CSV table's column encoding (categories, gaps, dates), fitted on the training rows;
    /// nil for numeric data read as it is.
    public let table: TableEncoder?
    /// training.class_weight resolved against the training rows' classes: one weight per class, in class order.
    public private(set) var classWeights: [Double]?
    /// What reading the table did that the user should hear of (rows dropped, unseen levels).
    public private(set) var notes: [String] = []
    /// Seconds spent reading the training table before this was made (by the config's defaults).
    public private(set) var earlierReadSeconds = 0.0

    /// Reads and splits according to `config`. `fold`: (k, of K) makes the k-th of K folds
    /// of the training file the validation split (cross-validation).
    public init(config: Config, fold: (index: Int, count: Int)? = nil) throws {
        let settings = config.data
        let kind: TargetKind = config.task == .regression ? .numeric : .categorical(classes: settings.classes)
        let spec = settings.train

        if spec.format == .hdf5, let limit = settings.memoryLimitMB, TrainingData.fileSize(spec.path) > limit * 1_048_576 {
            guard fold == nil, !TrainingData.isSplit(settings.validation), !TrainingData.isSplit(settings.test) else {
                throw ConfigError(file: config.file, path: "data.validation",
                                  "the training file is streamed (larger than data.memory_limit_mb), so it cannot be split or folded; give validation and test their own files")
            }
            let stream = try HDF5Rows(spec, kind: kind, memoryLimitMB: limit)
            try TrainingData.checkClasses(stream.classNames, config: config)
            if config.balancedSampling {
                throw ConfigError(file: config.file, path: "training.sampling", "balanced sampling draws rows of each class from memory, but the training file is streamed (larger than data.memory_limit_mb); raise the limit or weigh the classes with training.class_weight")
            }
            classWeights = try TrainingData.classWeights(config, classes: stream.classNames, labels: stream.targets)
            preprocessor = try Preprocessor(fitting: settings.preprocess, columns: stream.columns,
                                            featureNames: (0..<stream.columns).map { "x\($0)" },
                                            targets: settings.preprocess.standardizeTargets ? stream.targets : [], targetWidth: stream.targetWidth) { body in
                try stream.forEachBlock { n, x in try body(n, UnsafeMutablePointer(mutating: x)) }
            }
            classNames = stream.classNames
            featureNames = (0..<stream.columns).map { "x\($0)" }
            imageShape = stream.imageShape
            targetNames = spec.target.map(\.description)
            train = stream
            table = nil
            residency = "streamed in blocks of \(stream.blockRows) rows"
            validation = try TrainingData.file(settings.validation, kind: kind, classes: classNames, columns: stream.columns, table: nil)
            test = try TrainingData.file(settings.test, kind: kind, classes: classNames, columns: stream.columns, table: nil)
            return
        }

        var tableRead: (dataset: Dataset, encoder: TableEncoder, notes: [String], earlierRead: Double)? = nil
        var numeric: Dataset? = nil
        if spec.format == .csv && config.data.table != nil {
            tableRead = try TrainingData.readTable(config: config, kind: kind, fold: fold)
        } else {
            do {
                numeric = try DataReader.read(spec, kind: kind)
            } catch let e as DataError where e.isTextFeature {
                tableRead = try TrainingData.readTable(config: config, kind: kind, fold: fold)
            }
        }
        let all = tableRead?.dataset ?? numeric!
        table = tableRead?.encoder
        notes = tableRead?.notes ?? []
        earlierReadSeconds = tableRead?.earlierRead ?? 0
        try TrainingData.checkClasses(all.classNames, config: config)
        classNames = all.classNames
        featureNames = all.featureNames
        imageShape = all.imageShape
        targetNames = all.targetNames
        residency = "in memory"
        let rows = TrainingData.splitRows(config: config, dataset: all, fold: fold)
        let remaining = rows.train, validationRows = rows.validation, testRows = rows.test
        if let encoder = table, encoder.numericWidth == 0, settings.preprocess.scaling != .none || settings.preprocess.usesPCA {
            throw ConfigError(file: config.file, path: "data.preprocess", "scales or projects the table's numeric inputs, but it has none (its columns are categories, encoded by data.columns and data.defaults); leave data.preprocess out")
        }
        if let encoder = table, !encoder.embeddings.isEmpty, config.data.augment.noise > 0 || config.data.augment.mixup > 0 {
            throw ConfigError(file: config.file, path: "data.augment", "noise and mixup would blend embedding indices (\(encoder.embeddings.map(\.name).joined(separator: ", "))); turn them off or one-hot encode those columns")
        }
        guard !remaining.isEmpty else { throw DataError(file: spec.path, "no rows are left for training after the splits") }

        preprocessor = try Preprocessor(fitting: settings.preprocess, on: all, indices: remaining,
                                        passthroughColumns: table.map { $0.width - $0.numericWidth } ?? 0)
        train = InMemoryRows(all, indices: remaining, balancingClasses: config.balancedSampling ? classNames.count : nil)
        classWeights = try TrainingData.classWeights(config, classes: classNames, labels: remaining.map { all.targets[$0 * all.targetWidth] })
        if let classWeights, case .balanced? = config.classWeight {
            notes.append("training.class_weight balanced: " + zip(classNames, classWeights).map { String(format: "%@ %.4g", $0, $1) }.joined(separator: ", "))
        }
        if config.balancedSampling { notes.append("training.sampling balanced: each epoch draws \(classNames.count) classes equally often (\(remaining.count / classNames.count) rows each)") }
        validation = try validationRows.map { InMemoryRows(all, indices: $0) }
            ?? (fold == nil ? TrainingData.file(settings.validation, kind: kind, classes: classNames, columns: all.columns, table: table) : nil)
        test = try testRows.map { InMemoryRows(all, indices: $0) }
            ?? TrainingData.file(settings.test, kind: kind, classes: classNames, columns: all.columns, table: table)
        RawTable.forgetCached()
    }

    /// The training file as a table: columns typed and checked, rows without a target dropped,
    /// the encoder fitted on the training rows alone (the splits are made first, on the rows'
    /// targets), every row encoded.
    /// `earlierRead`: the seconds the file took to read when that happened before (the config's
    /// defaults looked at it first), to count in the data's time.
    static func readTable(config: Config, kind: TargetKind, fold: (index: Int, count: Int)?) throws -> (dataset: Dataset, encoder: TableEncoder, notes: [String], earlierRead: Double) {
        let spec = config.data.train, tableSpec = config.data.table ?? TableSpec()
        var (raw, reused) = try RawTable.cached(spec, missingValues: tableSpec.missingValues)
        guard spec.target.count == 1 else {
            throw ConfigError(file: config.file, path: "data.train.target", "a table with text columns takes one target column; \(spec.target.count) are given")
        }
        let t = try CSVReader.resolve(spec.target[0], header: raw.names, columns: raw.columns.count, path: spec.path)
        let target = raw.columns[t].name
        for name in tableSpec.columns.keys.sorted() where raw.column(named: name) == nil {
            throw ConfigError(file: config.file, path: "data.columns.\(name)",
                              "\(spec.path) has no column \"\(name)\"\(nearest(name, in: raw.names).map { "; did you mean \"\($0)\"?" } ?? ""); its columns are \(raw.names.joined(separator: ", "))")
        }
        if tableSpec.columns[target]?.type == .ignore {
            throw ConfigError(file: config.file, path: "data.columns.\(target)", "\"\(target)\" is the target (data.train.target) and cannot be ignored; remove it from data.columns or choose another target")
        }
        var notes: [String] = []
        let (withTarget, targets, classes, dropped) = try TableDataset.targets(raw, column: t, kind: kind)
        if dropped > 0 { notes.append("\(dropped) of \(raw.rows) rows have no \"\(target)\" (the target) and are left out") }
        let plan = try TablePlan(table: &raw, spec: tableSpec, targets: [t])
        for p in plan.plans where p.kind == .category {
            let column = raw.columns[p.column], present = column.presentCells
            let dates = column.levels.prefix(200).filter { TableEncoder.CivilDate.parse($0) != nil }.count
            if dates > 0 && dates == Swift.min(column.levels.count, 200) {
                notes.append("column \"\(column.name)\" looks like dates (\"\(column.levels[0])\"); it is read as a category of \(column.levels.count) levels. Declare it a date to get year, month, weekday and day of year: \"columns\": {\"\(column.name)\": \"date\"}")
            } else if present >= 50 && column.levels.count * 10 >= present * 9 {
                notes.append("column \"\(column.name)\" has a different value in almost every row (\(column.levels.count) levels in \(present) cells): an ID or a name? If it tells nothing about \"\(target)\", declare it \"ignore\"")
            }
        }
        let kept = TableEncoder.rowsKept(withTarget, table: raw, plans: plan.plans)
        if kept.count < withTarget.count { notes.append("\(withTarget.count - kept.count) rows with a missing cell in a column whose \"missing\" is \"drop\" are left out") }
        let position = Dictionary(uniqueKeysWithValues: withTarget.enumerated().map { ($1, $0) })
        let keptTargets = kept.map { targets[position[$0]!] }
        // The splits depend on the rows and their targets only: make them, then fit on the training part.
        let placeholder = Dataset(features: [], rows: kept.count, columns: 0, featureNames: [], targets: keptTargets,
                                  classNames: classes, origins: kept.map { raw.lines[$0] })
        let split = splitRows(config: config, dataset: placeholder, fold: fold)
        let encoder = try TableEncoder(fitting: plan.plans, table: raw, rows: split.train.map { kept[$0] }, ignored: plan.ignored,
                                         missingValues: tableSpec.missingValues)
        let (dataset, _) = try TableDataset.dataset(raw, rows: kept, targets: keptTargets, classes: classes, targetName: target, encoder: encoder)
        return (dataset, encoder, notes, reused ? raw.readSeconds : 0)
    }

    /// The row indices of the training, validation and test parts of the training file, as
    /// the config's splits (and `fold`) make them; nil for a part that is not a split.
    /// Deterministic: `dltrain eval --split test` recomputes exactly the rows fit tested on.
    public static func splitRows(config: Config, dataset all: Dataset, fold: (index: Int, count: Int)? = nil)
        -> (train: [Int], validation: [Int]?, test: [Int]?)
    {
        let settings = config.data
        let classes = config.task == .regression ? nil : all.classIndices
        let splitSeed = settings.splitSeed ?? config.seed
        var remaining = Array(0..<all.rows)
        func holdOut(_ holdout: Config.DataSettings.Holdout?, salt: UInt64) -> [Int]? {
            guard case .split(let fraction, let stratify)? = holdout else { return nil }
            // Both fractions are of the whole training file.
            let share = Swift.min(fraction * Double(all.rows) / Double(remaining.count), 1)
            let (kept, held) = Split.holdOut(rows: remaining.count, fraction: share,
                                             classes: stratify ? remaining.map { classes![$0] } : nil, seed: splitSeed ^ salt)
            defer { remaining = kept.map { remaining[$0] } }
            return held.map { remaining[$0] }
        }
        let testRows = holdOut(settings.test, salt: 0x7E57)
        // Cross-validation folds take the place of the validation split.
        var validationRows = fold == nil ? holdOut(settings.validation, salt: 0x7A11) : nil
        if let fold {
            let stratify = config.task != .regression
            let folds = Split.folds(rows: remaining.count, k: fold.count, classes: stratify ? remaining.map { classes![$0] } : nil, seed: splitSeed ^ 0xF01D)
            let held = Set(folds[fold.index])
            validationRows = folds[fold.index].map { remaining[$0] }
            remaining = remaining.indices.filter { !held.contains($0) }.map { remaining[$0] }
        }
        return (remaining, validationRows, testRows)
    }

    /// A held-out split given as its own file, read with the training data's classes.
    static func file(_ holdout: Config.DataSettings.Holdout?, kind: TargetKind, classes: [String], columns: Int, table: TableEncoder?) throws -> RowProducer? {
        guard case .file(let spec)? = holdout else { return nil }
        let strict: TargetKind = kind == .numeric ? .numeric : .categorical(classes: classes)
        let data = try table.map { try TableFile.read(spec, encoder: $0, kind: strict, requireTarget: true).dataset } ?? DataReader.read(spec, kind: strict)
        guard data.columns == columns else {
            throw DataError(file: spec.path, "has \(data.columns) feature columns but the training data has \(columns); the splits must have the same features")
        }
        guard data.hasTargets else { throw DataError(file: spec.path, "has no target column; validation and test data need targets") }
        return InMemoryRows(data)
    }

    static func checkClasses(_ found: [String], config: Config) throws {
        let units = config.model.layers.last!.units
        switch config.task {
        case .classification where found.count != units && config.model.loss.kind != .binaryCrossEntropy:
            throw ConfigError(file: config.file, path: "model.layers[\(config.model.layers.count - 1)].units",
                              "the training data has \(found.count) classes (\(found.prefix(12).joined(separator: ", "))\(found.count > 12 ? ", ..." : "")) but the last layer has \(units) units; set it to \(found.count)")
        case .binary where found.count != 2:
            throw DataError(file: config.data.train.path, "data.task is \"binary\" but the target holds \(found.count) distinct values (\(found.prefix(12).joined(separator: ", "))); a binary target has exactly 2")
        default: break
        }
        if let weights = config.model.loss.classWeights, weights.count != found.count {
            throw ConfigError(file: config.file, path: "model.class_weights",
                              "\(weights.count) weights given, but the training data has \(found.count) classes (\(found.prefix(12).joined(separator: ", "))); give one weight per class in this order")
        }
    }

    /// One weight per class for training.class_weight: balanced is scikit-learn's
    /// n / (C · n_k) over the training rows' `labels`; named weights are checked against the
    /// classes (the nearest name for a typo) and the others weigh 1.
    static func classWeights(_ config: Config, classes: [String], labels: [Float]) throws -> [Double]? {
        switch config.classWeight {
        case nil: return nil
        case .balanced:
            var counts = [Int](repeating: 0, count: classes.count)
            for y in labels { counts[Int(y)] += 1 }
            return counts.map { $0 > 0 ? Double(labels.count) / Double(classes.count * $0) : 1 }
        case .perClass(let named):
            for name in named.keys.sorted() where !classes.contains(name) {
                let hint = nearest(name, in: classes).map { "did you mean \"\($0)\"? " } ?? ""
                throw ConfigError(file: config.file, path: "training.class_weight.\(name)",
                                  "\"\(name)\" is not a class of the training data; \(hint)the classes are \(classes.prefix(12).joined(separator: ", "))\(classes.count > 12 ? ", ..." : "")")
            }
            return classes.map { named[$0] ?? 1 }
        }
    }

    static func isSplit(_ holdout: Config.DataSettings.Holdout?) -> Bool {
        if case .split? = holdout { return true }
        return false
    }

    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }
}

extension ModelSpec {
    /// This spec with the embeddings that `table`'s embedded category columns need.
    func embedding(_ table: TableEncoder?) -> ModelSpec {
        var spec = self
        spec.embeddings = (table?.embeddings ?? []).map { EmbeddingSpec(column: $0.name, levels: $0.levels, dim: $0.dim) }
        return spec
    }

    /// This spec with its loss weighted per class (training.class_weight, resolved on the training rows).
    func weighted(_ classWeights: [Double]?) -> ModelSpec {
        guard let classWeights else { return self }
        var spec = self
        spec.loss.classWeights = classWeights
        return spec
    }
}
