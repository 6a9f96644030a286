import DLData
import DLNN
import DLOptim
import Foundation

/// A validated config: the resolved JSON (defaults filled, written to the run directory)
/// and its typed reading.
public struct Config: Sendable {
    public enum Task: String, Sendable { case classification, binary, regression }

    public struct OptimizerSettings: Sendable {
        public var name: String
        public var learningRate: Double
        public var momentum: Double
        public var nesterov: Bool
        public var betas: (Double, Double)
        /// Unset: the optimizer's own default (see ``OptimizerFactory``).
        public var epsilon: Double?
        public var decay: Double?
        public var weightDecay: Double?
        public var clipNorm: Double?
        public var clipValue: Double?
        public var history: Int?
    }

    public struct EarlyStopping: Sendable {
        public var monitor: String
        public var maximize: Bool
        public var patience: Int
        public var minDelta: Double
        public var restoreBest: Bool
    }

    public enum NonFinitePolicy: String, Sendable { case stop, skipBatch = "skip_batch", rollback }

    public var resolved: JSON
    /// The config file, as given; relative data paths resolve against its directory.
    public var file: String
    public var seed: UInt64
    /// Where data comes from, how it is split, preprocessed and augmented.
    public struct DataSettings: Sendable {
        public enum Holdout: Sendable, Equatable {
            case file(SourceSpec)
            case split(fraction: Double, stratify: Bool)
        }
        public var train: SourceSpec
        public var validation: Holdout?
        public var test: Holdout?
        public var classes: [String]?
        public var preprocess: PreprocessSpec
        public var augment: AugmentSpec
        public var memoryLimitMB: Int?
        public var splitSeed: UInt64?
        /// CSV tables: the columns' declarations and defaults; nil when the config sets none.
        public var table: TableSpec?
    }

    public var data: DataSettings
    public var task: Task
    public var model: ModelSpec
    public var optimizer: OptimizerSettings
    public var schedule: Schedule
    /// The metric reduce-on-plateau watches.
    public var plateauMonitor: String
    public var epochs: Int
    public var batchSize: Int
    public var dropLast: Bool
    public var prefetch: Bool
    public var threads: Int?
    public var earlyStopping: EarlyStopping?
    public var checkpointEvery: Int
    /// The metric that decides best.h5 and the best epoch, and whether larger is better.
    public var checkpointMonitor: String
    public var checkpointMaximize: Bool
    public var onNonFinite: NonFinitePolicy
    public var maxRollbacks: Int
    public var snapshots: Bool
    public var sharpnessEvery: Int?
    /// training.class_weight: computed from the training rows, or given per class name.
    public enum ClassWeight: Sendable, Equatable { case balanced, perClass([String: Double]) }
    public var classWeight: ClassWeight?
    public var balancedSampling: Bool
    /// training.threshold: a number, or the rule that chooses it on the validation split.
    public enum Threshold: Sendable, Equatable { case fixed(Double), chosen(String) }
    public var threshold: Threshold?
    public var calibratesTemperature: Bool
    /// A checkpoint to initialise matching layers from (an absolute path).
    public var initFrom: String?
    /// Whether validation metrics exist: a validation source, or cross-validation folds.
    public var hasValidation: Bool
    public var outputDirectory: String
    /// Whether ``outputDirectory`` is the default `runs/CONFIG-NAME` (output.dir not given):
    /// a default directory that holds a run gives way to the next free name.
    public var outputDirectoryIsDefault: Bool
    /// What was chosen from the data, and why (printed at the start of fit).
    public var choices: [String] = []

    /// Reads, overrides (`KEY=VALUE` by dotted path), validates and types `file`.
    /// `crossValidation`: folds will supply validation data (`--folds`).
    public static func load(_ file: String, overrides: [String] = [], crossValidation: Bool = false) throws -> Config {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(file: file, path: "", FileManager.default.fileExists(atPath: file)
                ? "cannot read the config file (permissions?)" : "no such config file; check the path")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file, path: "", "the config file is not UTF-8 text")
        }
        var json: JSON
        do { json = try JSON.parse(text) } catch let e as JSONSyntaxError {
            throw ConfigError(file: file, line: e.line, column: e.column, path: "", "invalid JSON: \(e.message)")
        }
        for override in overrides { json = try applyOverride(override, to: json, schema: ConfigSchema.root) }
        return try load(json: json, file: file, crossValidation: crossValidation)
    }

    /// The config of a data file and its target alone (`dltrain fit DATA.csv --target COL`):
    /// everything else is chosen from the data (``TableDefaults``); paths, names and the run
    /// directory (`runs/DATA-NAME`) come from the data file's.
    public static func load(table path: String, target: String, overrides: [String] = [], crossValidation: Bool = false) throws -> Config {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError(file: path, "no such data file; check the path") }
        var json = JSON.object([("data", .object([("train", .object([("path", .string(URL(fileURLWithPath: path).lastPathComponent)), ("target", .string(target))]))]))])
        for override in overrides { json = try applyOverride(override, to: json, schema: ConfigSchema.root) }
        return try load(json: json, file: path, crossValidation: crossValidation)
    }

    /// A config from its JSON (after overrides): a CSV table's task, model, optimizer and
    /// training are filled in from the data where `json` leaves them out (``TableDefaults``).
    public static func load(json: JSON, file: String, crossValidation: Bool = false) throws -> Config {
        let (completed, notes) = try TableDefaults.complete(json, file: file)
        let resolved = try ConfigSchema.root.validate(completed, file: file)
        // Only a CSV table's target and columns can stand in for these.
        if resolved["data"]?["task"] == nil {
            throw ConfigError(file: file, line: json["data"]?.line ?? 0, column: json["data"]?.column ?? 0, path: "data",
                              "missing required key \"task\" (classification, binary or regression); only a CSV table with one named target column has its task inferred")
        }
        if resolved["model"] == nil {
            throw ConfigError(file: file, line: json.line, column: json.column, path: "",
                              "missing required key \"model\" (the network); only a CSV table with one named target column gets a network chosen from the data")
        }
        var config = try Config(resolved: resolved, file: file, raw: completed, crossValidation: crossValidation)
        config.choices = notes
        return config
    }

    /// `validated`: the config was checked when its run was trained (a checkpoint's stored
    /// config, which spells out every default), so the cross-key checks are not repeated.
    init(resolved: JSON, file: String, raw: JSON, crossValidation: Bool = false, validated: Bool = false) throws {
        self.file = file
        let r = resolved
        seed = UInt64(r["seed"]!.number!)
        task = Task(rawValue: r["data"]!["task"]!.string!)!
        data = Config.dataSettings(r["data"]!, task: task, base: URL(fileURLWithPath: file).deletingLastPathComponent())

        model = Config.modelSpec(r["model"]!)
        let o = r["optimizer"]!, betas = o["betas"]!.items!.map { $0.number! }
        let name = o["name"]!.string!
        optimizer = OptimizerSettings(name: name, learningRate: o["lr"]!.number!, momentum: o["momentum"]!.number!,
                                      nesterov: o["nesterov"]!.bool!, betas: (betas[0], betas[1]), epsilon: o["eps"]?.number,
                                      decay: o["decay"]?.number, weightDecay: o["weight_decay"]?.number,
                                      clipNorm: o["clip_norm"]?.number, clipValue: o["clip_value"]?.number,
                                      history: o["history"].map { Int($0.number!) })
        let t = r["training"]!
        epochs = Int(t["epochs"]!.number!)
        batchSize = Int(t["batch_size"]!.number!)
        dropLast = t["drop_last"]!.bool!
        prefetch = t["prefetch"]!.bool!
        threads = t["threads"].map { Int($0.number!) }
        hasValidation = crossValidation || data.validation != nil
        let fallbackMonitor = hasValidation ? "val_loss" : "train_loss"
        if let e = t["early_stopping"] {
            let monitor = e["monitor"]!.string!
            let mode = e["mode"]!.string!
            earlyStopping = EarlyStopping(monitor: monitor, maximize: mode == "max" || (mode == "auto" && monitor.hasSuffix("accuracy")),
                                          patience: Int(e["patience"]!.number!), minDelta: e["min_delta"]!.number!, restoreBest: e["restore_best"]!.bool!)
        }
        checkpointEvery = Int(t["checkpoint"]!["every"]!.number!)
        checkpointMonitor = t["checkpoint"]!["monitor"]?.string ?? earlyStopping?.monitor ?? fallbackMonitor
        checkpointMaximize = checkpointMonitor == earlyStopping?.monitor ? earlyStopping!.maximize : checkpointMonitor.hasSuffix("accuracy")
        onNonFinite = NonFinitePolicy(rawValue: t["on_nonfinite"]!.string!)!
        maxRollbacks = Int(t["max_rollbacks"]!.number!)
        snapshots = t["snapshots"]!.bool!
        sharpnessEvery = t["sharpness_every"].map { Int($0.number!) }
        classWeight = Config.classWeight(t["class_weight"])
        balancedSampling = t["sampling"]!.string! == "balanced"
        threshold = Config.threshold(t["threshold"])
        calibratesTemperature = t["calibration"]!.string! == "temperature"
        if let path = r["model"]!["init_from"]?.string {
            initFrom = path.hasPrefix("/") ? path : URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL.path
        }
        let sc = r["schedule"]!
        var schedule = Schedule()
        schedule.kind = Schedule.Kind(rawValue: sc["name"]!.string!)!
        schedule.warmupEpochs = Int(sc["warmup_epochs"]!.number!)
        schedule.epochs = Swift.max(1, epochs - schedule.warmupEpochs)
        // Keys left out keep Schedule's own defaults.
        if let v = sc["gamma"]?.number { schedule.gamma = v }
        if let v = sc["step_size"]?.number { schedule.stepSize = Int(v) }
        if let v = sc["milestones"]?.items { schedule.milestones = v.map { Int($0.number!) } }
        if let v = sc["decay"]?.number { schedule.decay = v }
        if let v = sc["min_lr"]?.number { schedule.minimumRate = v }
        if let v = sc["period"]?.number { schedule.restartPeriod = Int(v) }
        if let v = sc["multiplier"]?.number { schedule.restartMultiplier = Int(v) }
        schedule.maximumRate = sc["max_lr"]?.number
        if let v = sc["pct_start"]?.number { schedule.warmupFraction = v }
        if let v = sc["factor"]?.number { schedule.factor = v }
        if let v = sc["patience"]?.number { schedule.patience = Int(v) }
        self.schedule = schedule
        plateauMonitor = sc["monitor"]?.string ?? fallbackMonitor
        let stem = URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        outputDirectory = r["output"]!["dir"]?.string ?? "runs/\(stem)"
        outputDirectoryIsDefault = r["output"]!["dir"] == nil
        // The resolved config names files absolutely, so it means the same wherever it is
        // read again (a run directory's config.json, a checkpoint's meta/config.json).
        var absolute = r
        for (key, source) in [("train", data.train as SourceSpec?), ("validation", Config.file(data.validation)), ("test", Config.file(data.test))] {
            guard let source else { continue }
            absolute = absolute.setting(.string(source.path), at: ["data", key, "path"])
        }
        if let initFrom { absolute = absolute.setting(.string(initFrom), at: ["model", "init_from"]) }
        self.resolved = absolute

        if !validated { try checkContradictions(raw: raw) }
    }

    static func dataSettings(_ d: JSON, task: Task, base: URL) -> DataSettings {
        func columns(_ target: JSON?) -> [SourceSpec.Column] {
            guard let target else { return [] }
            let items = target.items ?? [target]
            return items.map { $0.string.map { .name($0) } ?? .index(Int($0.number!)) }
        }
        func source(_ s: JSON, inheriting train: SourceSpec?) -> SourceSpec {
            let path = s["path"]!.string!
            var spec = SourceSpec(path: path.hasPrefix("/") ? path : base.appendingPathComponent(path).standardizedFileURL.path,
                                  target: s["target"] != nil ? columns(s["target"]) : train?.target ?? [],
                                  features: s["features"]?.string ?? train?.features)
            spec.header = s["header"]!.bool!
            spec.delimiter = s["delimiter"]!.string!.utf8.first ?? UInt8(ascii: ",")
            spec.missing = SourceSpec.MissingValues(rawValue: s["nan"]!.string!)!
            return spec
        }
        let train = source(d["train"]!, inheriting: nil)
        func holdout(_ h: JSON?) -> DataSettings.Holdout? {
            guard let h else { return nil }
            if let fraction = h["split"]?.number { return .split(fraction: fraction, stratify: h["stratify"]!.bool!) }
            return .file(source(h, inheriting: train))
        }
        let p = d["preprocess"]!
        var preprocess = PreprocessSpec()
        if p["standardize"]!.bool! { preprocess.scaling = .standardize }
        if p["minmax"]!.bool! { preprocess.scaling = .minmax }
        if p["center"]!.bool! { preprocess.scaling = .center }
        preprocess.pcaComponents = p["pca"]?["components"].map { Int($0.number!) }
        preprocess.pcaVariance = p["pca"]?["variance"]?.number
        preprocess.whiten = p["whiten"]!.bool!
        preprocess.standardizeTargets = p["standardize_targets"]?.bool ?? (task == .regression)
        let a = d["augment"]!
        var augment = AugmentSpec()
        augment.noise = a["noise"]!.number!
        augment.mixup = a["mixup"]!.number!
        if let i = a["image"] {
            var image = ImageAugment(shape: i["shape"]!.items!.map { Int($0.number!) })
            image.flip = i["flip"]!.bool!
            image.translate = Int(i["translate"]!.number!)
            image.rotate = i["rotate"]!.number!
            image.scale = i["scale"]!.number!
            augment.image = image
        }
        return DataSettings(train: train, validation: holdout(d["validation"]), test: holdout(d["test"]),
                            classes: d["classes"]?.items?.map { $0.string! }, preprocess: preprocess, augment: augment,
                            memoryLimitMB: d["memory_limit_mb"].map { Int($0.number!) }, splitSeed: d["split_seed"].map { UInt64($0.number!) },
                            table: TableDefaults.tableSpec(d))
    }

    static func modelSpec(_ m: JSON) -> ModelSpec {
        let layers = m["layers"]!.items!.enumerated().map { k, l -> LayerSpec in
            var layer = LayerSpec(name: l["name"]?.string ?? "dense_\(k)", units: Int(l["units"]!.number!),
                                  activation: Activation(rawValue: l["activation"]!.string!)!)
            layer.alpha = l["alpha"]?.number
            layer.pieces = l["pieces"].map { Int($0.number!) } ?? 2
            if let i = l["init"] {
                let name = i.string ?? i["name"]!.string!
                switch name {
                case "normal": layer.initializer = .normal(std: i["std"]?.number ?? Initializer.defaultNormalStd)
                case "uniform": layer.initializer = .uniform(limit: i["limit"]?.number ?? Initializer.defaultUniformLimit)
                case "xavier_uniform": layer.initializer = .xavierUniform
                case "xavier_normal": layer.initializer = .xavierNormal
                case "he_uniform": layer.initializer = .heUniform
                case "he_normal": layer.initializer = .heNormal
                case "lecun_normal": layer.initializer = .lecunNormal
                case "orthogonal": layer.initializer = .orthogonal
                default: layer.initializer = .zeros
                }
            }
            layer.biasInitializer = .constant(l["bias_init"]!.number!)
            let bn = l["batchnorm"]!
            if bn.members != nil {
                layer.batchNorm = .init(momentum: bn["momentum"]!.number!, epsilon: bn["epsilon"]!.number!)
            } else if bn.bool == true {
                layer.batchNorm = .init()
            }
            layer.dropout = l["dropout"]!.number!
            layer.trainable = l["trainable"]!.bool!
            layer.rank = l["rank"].map { Int($0.number!) }
            layer.inputs = l["inputs"]?.items?.map { $0.string! }
            layer.combine = l["combine"].map { LayerSpec.Combine(rawValue: $0.string!)! } ?? .add
            layer.l1 = l["l1"]?.number
            layer.l2 = l["l2"]?.number
            return layer
        }
        var loss = LossSpec(Loss(rawValue: m["loss"]!.string!)!)
        loss.labelSmoothing = m["label_smoothing"]!.number!
        loss.classWeights = m["class_weights"]?.items?.map { $0.number! }
        if let delta = m["huber_delta"]?.number { loss.huberDelta = delta }
        var spec = ModelSpec(layers: layers, loss: loss)
        spec.l1 = m["l1"]!.number!
        spec.l2 = m["l2"]!.number!
        return spec
    }

    /// The losses that fit each task.
    public static let lossesByTask: [Task: [Loss]] = [
        .classification: [.crossEntropy, .hinge],
        .binary: [.binaryCrossEntropy],
        .regression: [.mse, .mae, .huber, .gaussianNLL],
    ]

    /// An error at `path` (`model.layers[2].alpha`), positioned where the user wrote that key.
    func error(at path: String, _ message: String, in raw: JSON) -> ConfigError {
        let node = raw.node(at: path)
        return ConfigError(file: file, line: node?.line ?? 0, column: node?.column ?? 0, path: path, message)
    }

    /// Settings that are each valid but do not fit together, found before any data is read.
    private func checkContradictions(raw: JSON) throws {
        let loss = model.loss.kind, allowed = Config.lossesByTask[task]!
        if !allowed.contains(loss) {
            throw error(at: "model.loss", "\"\(loss.rawValue)\" does not fit data.task \"\(task.rawValue)\"; use \(allowed.map { "\"\($0.rawValue)\"" }.joined(separator: " or "))", in: raw)
        }
        let last = model.layers.count - 1, outputs = model.layers[last].units
        let targets = data.train.target.count
        if task != .regression && targets > 1 && task == .binary {
            throw error(at: "data.train.target", "a binary target is one column of two labels, but \(targets) columns are named", in: raw)
        }
        let needed: Int? = switch loss {
        case .binaryCrossEntropy: 1
        case .mse, .mae, .huber: targets
        case .gaussianNLL: 2 * targets
        default: task == .classification && targets > 1 ? targets : nil
        }
        if let needed, outputs != needed {
            let why = switch loss {
            case .gaussianNLL: "a mean and a scale per target column"
            case .binaryCrossEntropy: "one logit per row"
            case .crossEntropy, .hinge: "one per one-hot target column"
            default: "one per target column"
            }
            throw error(at: "model.layers[\(last)].units", "\(loss.rawValue) needs \(needed) output unit\(needed == 1 ? "" : "s") (\(why)), but the last layer has \(outputs)", in: raw)
        }
        try checkDataContradictions(raw: raw)
        if loss != .crossEntropy {
            for key in ["label_smoothing", "class_weights"] where raw.sets("model.\(key)") {
                throw error(at: "model.\(key)", "\(key) applies to cross_entropy, but model.loss is \"\(loss.rawValue)\"", in: raw)
            }
        }
        if loss != .huber && raw.sets("model.huber_delta") {
            throw error(at: "model.huber_delta", "huber_delta applies to the huber loss, but model.loss is \"\(loss.rawValue)\"", in: raw)
        }
        for (k, layer) in model.layers.enumerated() {
            let path = "model.layers[\(k)]", rawLayer = raw.node(at: path)
            if rawLayer?["alpha"] != nil && ![.leakyRelu, .elu, .prelu].contains(layer.activation) {
                throw error(at: "\(path).alpha", "alpha applies to leaky_relu, elu and prelu, but this layer's activation is \"\(layer.activation.rawValue)\"", in: raw)
            }
            if rawLayer?["pieces"] != nil && layer.activation != .maxout {
                throw error(at: "\(path).pieces", "pieces applies to maxout, but this layer's activation is \"\(layer.activation.rawValue)\"", in: raw)
            }
            if rawLayer?["combine"] != nil && (layer.inputs?.count ?? 1) < 2 {
                throw error(at: "\(path).combine", "combine joins several inputs, but this layer reads \((layer.inputs?.count ?? 1) == 1 ? "one" : "none"); list them in \"inputs\"", in: raw)
            }
            if let i = rawLayer?["init"]?.members {
                let name = i.first { $0.key == "name" }?.value.string
                if i.contains(where: { $0.key == "std" }) && name != "normal" {
                    throw error(at: "\(path).init.std", "std applies to the \"normal\" initialiser, not \"\(name ?? "")\"", in: raw)
                }
                if i.contains(where: { $0.key == "limit" }) && name != "uniform" {
                    throw error(at: "\(path).init.limit", "limit applies to the \"uniform\" initialiser, not \"\(name ?? "")\"", in: raw)
                }
            }
        }
        do {
            try ModelSpec.checkTopology(model)
        } catch let e as ModelError {
            throw error(at: "model.\(e.path)", e.message, in: raw)
        }
        try checkTrainingContradictions(raw: raw)
    }
}

extension Config {
    /// Resuming needs the run's own config: the same model, data, optimizer and seed. Only
    /// `training.epochs` (to train longer) and `output.dir` may differ.
    /// `saved` is the run's resolved config, as its checkpoint at `path` stores it.
    public func checkResumable(fromRunConfig saved: JSON, path: String) throws {
        func strip(_ json: JSON) -> JSON {
            guard var members = json.members else { return json }
            for k in members.indices {
                if members[k].key == "training", var t = members[k].value.members {
                    t.removeAll { $0.key == "epochs" }
                    members[k].value = JSON(.object(t))
                }
            }
            members.removeAll { $0.key == "output" }
            return JSON(.object(members))
        }
        func firstDifference(_ a: JSON, _ b: JSON, _ path: String) -> String? {
            if let am = a.members, let bm = b.members {
                for key in Set(am.map(\.key)).union(bm.map(\.key)).sorted() {
                    guard let av = a[key], let bv = b[key] else { return join(path, key) }
                    if let d = firstDifference(av, bv, join(path, key)) { return d }
                }
                return nil
            }
            if let ai = a.items, let bi = b.items, ai.count == bi.count {
                for (k, (x, y)) in zip(ai, bi).enumerated() { if let d = firstDifference(x, y, "\(path)[\(k)]") { return d } }
                return nil
            }
            return a == b ? nil : path
        }
        let saved = strip(saved), current = strip(resolved)
        if let key = firstDifference(saved, current, "") {
            throw ConfigError(file: file, path: key,
                              "differs from the run in \(path) (\(saved.node(at: key)?.description ?? "absent") there, \(current.node(at: key)?.description ?? "absent") here); resume with the run's config (only training.epochs may change), or start a new run")
        }
    }

    /// The metrics.csv columns a run of this config records.
    public var metricNames: [String] {
        var names = ["train_loss"]
        if hasValidation { names.append("val_loss") }
        if task != .regression {
            names.append("train_accuracy")
            if hasValidation { names.append("val_accuracy") }
        } else if hasValidation {
            names += ["val_mse", "val_mae"]
        }
        return names
    }

    private func checkTrainingContradictions(raw: JSON) throws {
        let name = optimizer.name
        let owners: [(String, [String])] = [("momentum", ["sgd"]), ("nesterov", ["sgd"]), ("betas", ["adam", "adamw"]),
                                            ("eps", ["adam", "adamw", "rmsprop", "adagrad"]), ("decay", ["rmsprop"]), ("history", ["lbfgs"]),
                                            ("clip_norm", ["sgd", "adagrad", "rmsprop", "adam", "adamw"]), ("clip_value", ["sgd", "adagrad", "rmsprop", "adam", "adamw"]),
                                            ("weight_decay", ["sgd", "adagrad", "rmsprop", "adam", "adamw"])]
        for (key, names) in owners where raw.sets("optimizer.\(key)") && !names.contains(name) {
            throw error(at: "optimizer.\(key)", "\(key) applies to \(names.map { "\"\($0)\"" }.joined(separator: ", ")), but optimizer.name is \"\(name)\"", in: raw)
        }
        if optimizer.nesterov && optimizer.momentum == 0 {
            throw error(at: "optimizer.nesterov", "Nesterov momentum needs optimizer.momentum > 0", in: raw)
        }
        if name == "lbfgs" {
            if let k = model.layers.firstIndex(where: { $0.dropout > 0 }) {
                throw error(at: "model.layers[\(k)].dropout", "L-BFGS needs the same loss every time it is evaluated; dropout makes it random. Remove dropout or use a first-order optimizer", in: raw)
            }
            if !data.augment.isEmpty {
                throw error(at: "data.augment", "L-BFGS needs the same loss every time it is evaluated; augmentation makes it random", in: raw)
            }
        }
        let scheduleOwners: [(String, [Schedule.Kind])] = [("gamma", [.step, .multistep]), ("step_size", [.step]), ("milestones", [.multistep]),
                                                          ("decay", [.exponential, .inverseTime]), ("min_lr", [.cosine, .cosineRestarts, .plateau]),
                                                          ("period", [.cosineRestarts]), ("multiplier", [.cosineRestarts]), ("max_lr", [.oneCycle]),
                                                          ("pct_start", [.oneCycle]), ("factor", [.plateau]), ("patience", [.plateau]), ("monitor", [.plateau])]
        for (key, kinds) in scheduleOwners where raw.sets("schedule.\(key)") && !kinds.contains(schedule.kind) {
            throw error(at: "schedule.\(key)", "\(key) applies to the \(kinds.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")) schedule\(kinds.count > 1 ? "s" : ""), but schedule.name is \"\(schedule.kind.rawValue)\"", in: raw)
        }
        if schedule.kind == .multistep && schedule.milestones.isEmpty {
            throw error(at: "schedule", "the multistep schedule needs \"milestones\" (epochs where the rate drops)", in: raw)
        }
        if schedule.warmupEpochs >= epochs {
            throw error(at: "schedule.warmup_epochs", "\(schedule.warmupEpochs) warmup epochs leave none of the \(epochs) training epochs for the schedule", in: raw)
        }
        try checkDecisions(raw: raw)
        if snapshots && schedule.kind != .cosineRestarts {
            throw error(at: "training.snapshots", "snapshots are taken at the end of each cosine_restarts cycle; schedule.name is \"\(schedule.kind.rawValue)\"", in: raw)
        }
        let metrics = metricNames
        for (path, value) in [("training.early_stopping.monitor", earlyStopping?.monitor), ("training.checkpoint.monitor", raw["training"]?["checkpoint"]?["monitor"]?.string),
                              ("schedule.monitor", schedule.kind == .plateau ? plateauMonitor : nil)] {
            guard let value, !metrics.contains(value) else { continue }
            let why = value.hasPrefix("val_") && !hasValidation ? " (there is no validation data: add data.validation)" : ""
            let hint = nearest(value, in: metrics).map { "; did you mean \"\($0)\"?" } ?? ""
            throw error(at: path, "\"\(value)\" will not be recorded\(why); this run records \(metrics.joined(separator: ", "))\(hint)", in: raw)
        }
    }

    static func classWeight(_ value: JSON?) -> ClassWeight? {
        guard let value else { return nil }
        if value.string != nil { return .balanced }
        var weights: [String: Double] = [:]
        for member in value.members ?? [] { weights[member.key] = member.value.number ?? 1 }
        return .perClass(weights)
    }

    static func threshold(_ value: JSON?) -> Threshold? {
        guard let value else { return nil }
        if let number = value.number { return .fixed(number) }
        return .chosen(value.string ?? "f1")
    }

    /// training.class_weight, sampling, threshold and calibration against the task, the loss
    /// and the validation split (class names are checked against the data, which is read later).
    private func checkDecisions(raw: JSON) throws {
        let loss = model.loss.kind
        if classWeight != nil {
            if loss != .crossEntropy && loss != .binaryCrossEntropy {
                throw error(at: "training.class_weight", "class weights apply to cross_entropy and binary_cross_entropy, but model.loss is \"\(loss.rawValue)\"", in: raw)
            }
            if raw.sets("model.class_weights") {
                throw error(at: "training.class_weight", "model.class_weights already weighs the classes; keep one of the two", in: raw)
            }
        }
        if balancedSampling && task == .regression {
            throw error(at: "training.sampling", "balanced sampling draws classes equally often, but data.task is \"regression\"", in: raw)
        }
        if let threshold {
            if task != .binary {
                throw error(at: "training.threshold", "a decision threshold applies to binary tasks (one probability per row), but data.task is \"\(task.rawValue)\"; multiclass decisions are the most probable class", in: raw)
            }
            if case .chosen(let rule) = threshold, !hasValidation {
                throw error(at: "training.threshold", "\"\(rule)\" chooses the threshold on the validation split, and there is none; add \"validation\": {\"split\": 0.2} to data, or give the threshold as a number", in: raw)
            }
        }
        if calibratesTemperature {
            if task == .regression {
                throw error(at: "training.calibration", "temperature scaling calibrates class probabilities, but data.task is \"regression\"", in: raw)
            }
            if !hasValidation {
                throw error(at: "training.calibration", "the temperature is fitted on the validation split, and there is none; add \"validation\": {\"split\": 0.2} to data", in: raw)
            }
        }
    }

    private func checkDataContradictions(raw: JSON) throws {
        let d = raw["data"]
        let p = d?["preprocess"]
        let scalings = ["standardize", "minmax", "center"].filter { p?[$0]?.bool == true }
        if scalings.count > 1 {
            throw error(at: "data.preprocess.\(scalings[1])", "\(scalings.joined(separator: " and ")) are alternatives; choose one scaling", in: raw)
        }
        if let pca = p?["pca"], (pca["components"] == nil) == (pca["variance"] == nil) {
            throw error(at: "data.preprocess.pca", "give exactly one of \"components\" (a count) or \"variance\" (a fraction to keep)", in: raw)
        }
        if data.preprocess.whiten && !data.preprocess.usesPCA {
            throw error(at: "data.preprocess.whiten", "whitening divides principal components; add \"pca\": {\"variance\": 0.99} (or a component count)", in: raw)
        }
        if task != .regression && p?["standardize_targets"]?.bool == true {
            throw error(at: "data.preprocess.standardize_targets", "only regression targets are standardized; data.task is \"\(task.rawValue)\"", in: raw)
        }
        if data.augment.mixup > 0 && model.loss.kind == .hinge {
            throw error(at: "data.augment.mixup", "mixup blends targets, which the hinge loss cannot take; use cross_entropy", in: raw)
        }
        for (name, holdout) in [("validation", data.validation), ("test", data.test)] {
            if case .split(_, true)? = holdout, task == .regression {
                throw error(at: "data.\(name).stratify", "stratifying needs classes; data.task is \"regression\"", in: raw)
            }
        }
        if case .split(let v, _)? = data.validation, case .split(let t, _)? = data.test, v + t >= 1 {
            throw error(at: "data.test.split", "validation (\(v)) and test (\(t)) splits together take the whole training file; leave some for training", in: raw)
        }
        for (key, source) in [("train", d?["train"]), ("validation", d?["validation"]), ("test", d?["test"])] {
            if let delimiter = source?["delimiter"]?.string, delimiter.utf8.count != 1 {
                throw error(at: "data.\(key).delimiter", "found \"\(delimiter)\"; expected a single one-byte character such as \",\", \";\" or a tab", in: raw)
            }
            if let path = source?["path"]?.string, path.lowercased().hasSuffix(".h5") || path.lowercased().hasSuffix(".hdf5") {
                if key == "train" && source?["features"] == nil {
                    throw error(at: "data.train", "an HDF5 source names its datasets: add \"features\" (and \"target\")", in: raw)
                }
                if source?["target"]?.items != nil {
                    throw error(at: "data.\(key).target", "an HDF5 target is one dataset name; several target columns go in one (N, T) dataset", in: raw)
                }
            }
        }
        if let classes = data.classes, Set(classes).count != classes.count {
            throw error(at: "data.classes", "a class is listed twice", in: raw)
        }
        if task == .regression && data.classes != nil {
            throw error(at: "data.classes", "classes apply to classification and binary tasks; data.task is \"regression\"", in: raw)
        }
        if let classes = data.classes, task == .classification, let units = model.layers.last?.units, units != classes.count {
            throw error(at: "model.layers[\(model.layers.count - 1)].units", "data.classes lists \(classes.count) classes but the last layer has \(units) units", in: raw)
        }
        if task == .binary, let classes = data.classes, classes.count != 2 {
            throw error(at: "data.classes", "a binary task has exactly 2 classes, \(classes.count) are listed", in: raw)
        }
    }
}

extension JSON {
    /// Whether the config sets `path` to something other than its default: a resolved config
    /// spells out every default, which must read the same as leaving the key out.
    func sets(_ path: String) -> Bool {
        guard let value = node(at: path) else { return false }
        let components = path.split(separator: ".").map { String($0.split(separator: "[").first!) }
        return ConfigSchema.root.defaultValue(at: components[...]).map { $0 != value } ?? true
    }
}

extension Config {
    static func file(_ holdout: DataSettings.Holdout?) -> SourceSpec? {
        if case .file(let spec)? = holdout { return spec }
        return nil
    }
}

extension JSON {
    /// A copy with `value` at `path` (object keys), creating objects on the way.
    func setting(_ value: JSON, at path: ArraySlice<String>) -> JSON {
        guard let key = path.first else { return value }
        var members = self.members ?? []
        if let k = members.firstIndex(where: { $0.key == key }) {
            members[k].value = members[k].value.setting(value, at: path.dropFirst())
        } else {
            members.append(Member(key: key, value: JSON(.object([])).setting(value, at: path.dropFirst())))
        }
        return JSON(.object(members), line: line, column: column)
    }

    func setting(_ value: JSON, at path: [String]) -> JSON { setting(value, at: path[...]) }

    /// The value at a key path such as `model.layers[2].inputs[0]`, or nil.
    func node(at path: String) -> JSON? {
        var current: JSON? = self
        for part in path.split(separator: ".") {
            var key = Substring(part)
            var indices: [Int] = []
            while let open = key.lastIndex(of: "["), key.hasSuffix("]"), let k = Int(key[key.index(after: open)..<key.index(before: key.endIndex)]) {
                indices.insert(k, at: 0)
                key = key[..<open]
            }
            current = current?[String(key)]
            for k in indices { current = current?.items.flatMap { k < $0.count ? $0[k] : nil } }
        }
        return current
    }
}

/// Applies `KEY=VALUE` to `json`, typing VALUE by the schema at KEY (`model.layers.0.units=64`).
func applyOverride(_ assignment: String, to json: JSON, schema: Schema) throws -> JSON {
    guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
        throw ConfigError(file: "--set", path: "", "\"\(assignment)\" is not KEY=VALUE (for example optimizer.lr=0.01)")
    }
    let key = String(assignment[..<eq]), text = String(assignment[assignment.index(after: eq)...])
    let components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    guard let target = schema.child(at: components[...]) else {
        // Name the first component that does not exist, and its nearest sibling.
        var known = 0
        while known < components.count, schema.child(at: components[...known]) != nil { known += 1 }
        let siblings = schema.keys(at: components[..<known])
        let hint = nearest(components[known], in: siblings).map { "; did you mean \"\(components[..<known].joined(separator: "."))\(known > 0 ? "." : "")\($0)\"?" } ?? ""
        throw ConfigError(file: "--set", path: key, "no such config key\(hint)")
    }
    let value: JSON
    switch target {
    case .string: value = .string(text)
    case .anyOf(let options) where options.contains(where: { if case .string = $0 { true } else { false } }):
        value = (try? JSON.parse(text)).flatMap { $0.number != nil ? $0 : nil } ?? .string(text)
    default:
        guard let parsed = try? JSON.parse(text) else {
            throw ConfigError(file: "--set", path: key, "\"\(text)\" is not a valid value; expected \(target.expectation)")
        }
        value = parsed
    }
    return try setting(value, at: components[...], in: json, key: key)
}

private func setting(_ value: JSON, at path: ArraySlice<String>, in node: JSON, key: String) throws -> JSON {
    guard let first = path.first else { return value }
    if var items = node.items {
        guard let k = Int(first), k >= 0 && k < items.count else {
            throw ConfigError(file: "--set", path: key, "index \(first) is outside the \(items.count) items of the array")
        }
        items[k] = try setting(value, at: path.dropFirst(), in: items[k], key: key)
        return JSON(.array(items), line: node.line, column: node.column)
    }
    var members = node.members ?? []
    if let k = members.firstIndex(where: { $0.key == first }) {
        members[k].value = try setting(value, at: path.dropFirst(), in: members[k].value, key: key)
    } else {
        members.append(JSON.Member(key: first, value: try setting(value, at: path.dropFirst(), in: JSON(.object([])), key: key)))
    }
    return JSON(.object(members), line: node.line, column: node.column)
}
