import DLData
import Foundation

/// What a config of a CSV table and its target leaves to the data: the task, the network,
/// the optimizer and the training schedule. ``complete(_:file:)`` fills them into the config
/// before it is validated, so the run's config.json spells out every choice, and says why.
///
/// - `data.task`: a target of text is classification (binary with two levels); of numbers
///   with fractions, regression; of integers, classification when it has at most
///   ``TableDefaults/maxIntegerClasses`` distinct values, else regression (a price in whole
///   dollars is a regression).
/// - `model`: two ReLU layers of h and h/2 units, h = 4·inputs rounded up to 16, between 64 and
///   256; dropout 0.1 after the first; the output and loss of the task.
/// - `optimizer`: AdamW, lr 0.001, weight decay 1e-4 (when no optimizer is named).
/// - `training`: 200 epochs, batch size rows/100 between 32 and 512 (a power of two), early
///   stopping on val_loss with patience 20 and the best weights restored, each unless the
///   config sets it (`"early_stopping": false` is off); `data.validation` a 20% split
///   (stratified for classes) unless given.
public enum TableDefaults {
    public static let maxIntegerClasses = 20

    /// The config's table settings (`data.columns`, `data.missing_values`, `data.defaults`), or
    /// nil when it has none. `data` is the validated data section.
    static func tableSpec(_ data: JSON) -> TableSpec? {
        guard data["columns"] != nil || data["missing_values"] != nil || data["defaults"] != nil else { return nil }
        var spec = TableSpec()
        if let tokens = data["missing_values"]?.items { spec.missingValues = [""] + tokens.compactMap(\.string) }
        spec.numericDefaults = NumericHandling().applying(numeric(data["defaults"]?["numeric"]))
        spec.categoryDefaults = CategoryHandling().applying(category(data["defaults"]?["category"]))
        for member in data["columns"]?.members ?? [] {
            var column = ColumnSpec(type: (member.value.string ?? member.value["type"]?.string).flatMap(ColumnType.init))
            column.missing = member.value["missing"]?.string
            column.numeric = numeric(member.value)
            column.category = category(member.value)
            spec.columns[member.key] = column
        }
        return spec
    }

    static func numeric(_ j: JSON?) -> NumericHandling.Overrides {
        var o = NumericHandling.Overrides()
        guard let j else { return o }
        if let text = j["missing"]?.string { o.missing = NumericHandling.Missing(rawValue: text) }
        if let value = j["fill"]?.number { o.fill = value }
        if let flag = j["indicator"]?.bool { o.indicator = flag }
        if let text = j["scale"]?.string { o.scale = NumericHandling.Scale(rawValue: text) }
        return o
    }

    static func category(_ j: JSON?) -> CategoryHandling.Overrides {
        var o = CategoryHandling.Overrides()
        guard let j else { return o }
        if let text = j["missing"]?.string { o.missing = CategoryHandling.Missing(rawValue: text) }
        if let text = j["encoding"]?.string { o.encoding = CategoryHandling.Encoding(rawValue: text) }
        if let value = j["embedding_dim"]?.number { o.embeddingDim = Int(value) }
        if let value = j["min_count"]?.number { o.minCount = Int(value) }
        return o
    }

    /// `json` with the task, model, optimizer and training filled in from the training table
    /// where the config leaves them out, and the reasons for each choice.
    static func complete(_ json: JSON, file: String) throws -> (json: JSON, notes: [String]) {
        var json = json, notes: [String] = []
        let stoppingOff = json["training"]?["early_stopping"]?.bool == false
        if let stopping = json["training"]?["early_stopping"]?.bool {
            json = stopping ? json.setting(.object([]), at: ["training", "early_stopping"]) : json.removing(["training", "early_stopping"])
        }
        guard let train = json["data"]?["train"], let path = train["path"]?.string, !path.lowercased().hasSuffix(".h5"),
              !path.lowercased().hasSuffix(".hdf5"), let target = train["target"]?.string,
              json["data"]?["task"] == nil || json["model"] == nil else { return (json, notes) }
        let base = URL(fileURLWithPath: file).deletingLastPathComponent()
        var source = SourceSpec(path: path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path, target: [.name(target)])
        if let header = train["header"]?.bool { source.header = header }
        if let delimiter = train["delimiter"]?.string?.utf8.first { source.delimiter = delimiter }
        let tableSpec = tableSpec(json["data"]!) ?? TableSpec()
        var table = try RawTable.cached(source, missingValues: tableSpec.missingValues).table
        guard let t = table.column(named: target) else {
            throw ConfigError(file: file, path: "data.train.target", "\(source.path) has no column \"\(target)\"\(nearest(target, in: table.names).map { "; did you mean \"\($0)\"?" } ?? ""); its columns are \(table.names.joined(separator: ", "))")
        }
        let y = table.columns[t]
        let rows = table.rows - y.missingCells
        guard rows > 0 else { throw DataError(file: source.path, "the target column \"\(target)\" is empty in every row") }

        var task = json["data"]?["task"]?.string
        var classes = 0
        if task == nil {
            let integers = y.textCells == 0 && y.numbers.allSatisfy { $0.isNaN || $0 == $0.rounded() }
            let distinct = y.textCells > 0 ? Set(y.codes.filter { $0 >= 0 }).count + Set(y.numbers.filter { !$0.isNaN }).count
                                           : Set(y.numbers.filter { !$0.isNaN }).count
            if y.textCells > 0 {
                task = distinct == 2 ? "binary" : "classification"
                notes.append("data.task: \(task!) (the target \"\(target)\" holds \(distinct) text values)")
            } else if !integers {
                task = "regression"
                notes.append("data.task: regression (the target \"\(target)\" holds numbers with fractions)")
            } else if distinct <= maxIntegerClasses {
                task = distinct == 2 ? "binary" : "classification"
                notes.append("data.task: \(task!) (the target \"\(target)\" holds \(distinct) distinct integers, at most \(maxIntegerClasses) are read as classes)")
            } else {
                task = "regression"
                notes.append("data.task: regression (the target \"\(target)\" holds \(distinct) distinct integers; more than \(maxIntegerClasses) are read as a quantity)")
            }
            classes = distinct
            json = json.setting(.string(task!), at: ["data", "task"])
        } else if task != "regression" {
            classes = y.textCells > 0 ? Set(y.codes.filter { $0 >= 0 }).count : Set(y.numbers.filter { !$0.isNaN }).count
        }
        guard json["model"] == nil else { return (json, notes) }

        // The network's width from the inputs the table will give (levels counted on the whole file).
        let plan = try TablePlan(table: &table, spec: tableSpec, targets: [t])
        var inputs = 0
        for p in plan.plans {
            switch p.kind {
            case .numeric: inputs += p.numeric.indicator ? 2 : 1
            case .date: inputs += 8
            case .category:
                let levels = table.columns[p.column].levels.count + 2
                let embedded = p.category.encoding == .embedding || (p.category.encoding == .auto && levels > CategoryHandling.oneHotLimit)
                inputs += embedded ? (p.category.embeddingDim ?? CategoryHandling.embeddingWidth(levels: levels)) : levels
            }
        }
        // The types as read, spelled out: the run's config.json then reads the table the same way.
        var declared = json["data"]?["columns"]?.members ?? []
        for p in plan.plans where !declared.contains(where: { $0.key == table.columns[p.column].name }) {
            declared.append(JSON.Member(key: table.columns[p.column].name, value: .string(p.kind.rawValue)))
        }
        json = json.setting(JSON(.object(declared)), at: ["data", "columns"])
        if json["data"]?["defaults"] == nil { json = json.setting(.object([]), at: ["data", "defaults"]) }
        let hidden = Swift.min(256, Swift.max(64, (4 * inputs + 15) / 16 * 16))
        let (units, loss) = switch task! {
        case "regression": (1, "mse")
        case "binary": (1, "binary_cross_entropy")
        default: (classes, "cross_entropy")
        }
        json = json.setting(.object([
            ("layers", .array([
                .object([("units", .number(Double(hidden))), ("activation", .string("relu")), ("dropout", .number(0.1))]),
                .object([("units", .number(Double(hidden / 2))), ("activation", .string("relu"))]),
                .object([("units", .number(Double(units)))]),
            ])),
            ("loss", .string(loss)),
        ]), at: ["model"])
        notes.append("model: \(hidden) and \(hidden / 2) ReLU units (from \(inputs) inputs), \(units) output\(units == 1 ? "" : "s"), \(loss)")
        // Each default fills only what the config leaves out: `--set training.epochs=50` keeps
        // the batch size and early stopping chosen here.
        if json["optimizer"]?["name"] == nil {
            json = json.setting(.string("adamw"), at: ["optimizer", "name"])
            if json["optimizer"]?["lr"] == nil { json = json.setting(.number(0.001), at: ["optimizer", "lr"]) }
            if json["optimizer"]?["weight_decay"] == nil { json = json.setting(.number(1e-4), at: ["optimizer", "weight_decay"]) }
            notes.append("optimizer: adamw, lr \(JSON.format(json["optimizer"]!["lr"]!.number ?? 0.001)), weight decay \(JSON.format(json["optimizer"]!["weight_decay"]!.number ?? 1e-4))")
        }
        var chosen: [String] = []
        if json["training"]?["epochs"] == nil {
            json = json.setting(.number(200), at: ["training", "epochs"])
            chosen.append("up to 200 epochs")
        }
        if json["training"]?["batch_size"] == nil {
            var batch = 32
            while batch < 512 && batch * 2 <= rows / 100 { batch *= 2 }
            json = json.setting(.number(Double(batch)), at: ["training", "batch_size"])
            chosen.append("batches of \(batch)")
        }
        if json["training"]?["early_stopping"] == nil && !stoppingOff {
            json = json.setting(.object([("monitor", .string("val_loss")), ("patience", .number(20)), ("restore_best", .bool(true))]), at: ["training", "early_stopping"])
            chosen.append("early stopping on val_loss (patience 20), the best weights restored")
        }
        if !chosen.isEmpty { notes.append("training: " + chosen.joined(separator: ", ")) }
        if json["data"]?["validation"] == nil && json["training"]?["early_stopping"] != nil {
            json = json.setting(.object([("split", .number(0.2)), ("stratify", .bool(task != "regression"))]), at: ["data", "validation"])
            notes.append("data.validation: 20% of the training rows held out\(task != "regression" ? ", stratified" : "")")
        }
        return (json, notes)
    }
}

extension TableDefaults {
    /// `dltrain init`: the complete config for training on the table at `path` to predict
    /// `target`, to be written at `out`: every column with its type and handling spelled out
    /// (auto encodings resolved), every default of every section filled in.
    public static func starterConfig(table path: String, target: String, writtenTo out: String) throws -> (json: JSON, notes: [String]) {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError(file: path, "no such data file; check the path") }
        let data = URL(fileURLWithPath: path).standardizedFileURL.path
        let folder = URL(fileURLWithPath: out).deletingLastPathComponent().standardizedFileURL.path + "/"
        let shown = data.hasPrefix(folder) ? String(data.dropFirst(folder.count)) : data
        let seed = JSON.object([("data", .object([("train", .object([("path", .string(shown)), ("target", .string(target))]))]))])
        var (json, notes) = try complete(seed, file: out)
        var source = SourceSpec(path: data, target: [.name(target)])
        source.header = true
        var table = try RawTable.cached(source, missingValues: TableSpec.defaultMissingValues).table
        let plan = try TablePlan(table: &table, spec: TableSpec(), targets: [table.column(named: target)!])
        let numeric = NumericHandling(), category = CategoryHandling()
        var columns: [(String, JSON)] = []
        for p in plan.plans {
            let name = table.columns[p.column].name
            switch p.kind {
            case .numeric:
                columns.append((name, .object([("type", .string("numeric")), ("missing", .string(numeric.missing.rawValue)),
                                               ("indicator", .bool(numeric.indicator)), ("scale", .string(numeric.scale.rawValue))])))
            case .category:
                let levels = table.columns[p.column].levels.count + 2
                var handling: [(String, JSON)] = [("type", .string("category")), ("missing", .string(category.missing.rawValue)),
                                                  ("min_count", .number(Double(category.minCount)))]
                if levels > CategoryHandling.oneHotLimit {
                    handling += [("encoding", .string("embedding")), ("embedding_dim", .number(Double(CategoryHandling.embeddingWidth(levels: levels))))]
                } else {
                    handling.append(("encoding", .string("onehot")))
                }
                columns.append((name, .object(handling)))
                notes.append("column \"\(name)\": category of \(levels - 2) levels, \(levels > CategoryHandling.oneHotLimit ? "embedded" : "one-hot")")
            case .date:
                columns.append((name, .string("date")))
            }
        }
        json = json.setting(.object(columns), at: ["data", "columns"])
        return (try ConfigSchema.root.validate(json, file: out), notes)
    }
}

extension JSON {
    /// This object without the member at `path`.
    func removing(_ path: [String]) -> JSON {
        guard let first = path.first, var members = self.members else { return self }
        if path.count == 1 {
            members.removeAll { $0.key == first }
        } else if let k = members.firstIndex(where: { $0.key == first }) {
            members[k].value = members[k].value.removing(Array(path.dropFirst()))
        }
        return JSON(.object(members), line: line, column: column)
    }
}
