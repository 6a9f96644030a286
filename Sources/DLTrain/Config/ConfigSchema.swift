import Foundation
import DLCore
import DLData
import DLNN
import DLOptim

/// The config file's declaration: every key, its type, range, default and help text.
/// `dltrain schema` prints it as JSON Schema; the README's reference is made from it.
public enum ConfigSchema {
    public static let tasks = ["classification", "binary", "regression"]
    public static let optimizers = ["sgd", "adagrad", "rmsprop", "adam", "adamw", "lbfgs"]

    static let positive = Schema.Bounds(minimum: 0, exclusiveMinimum: true)

    /// Defaults that depend on another key live with the type that uses them (the schedule,
    /// the optimizers, the initialisers); the help text shows them from there.
    private static let scheduleDefaults = Schedule()

    /// A default as the reference shows it: 1e-8, 0.9, 0 (not 1e-08, 0.8999999761581421, 0.0).
    static func shown<F: BinaryFloatingPoint>(_ x: F) -> String {
        String(format: "%g", Double(x)).replacingOccurrences(of: "e-0", with: "e-")
    }

    static func source(targetRequired: Bool) -> Schema {
        .object([
            .init("path", .string(), required: true, "CSV (.csv) or HDF5 (.h5, .hdf5) file, relative to the config file"),
            .init("target", .anyOf([.string(), .integer(.init(minimum: 0)), .array(.anyOf([.string(), .integer(.init(minimum: 0))]), minItems: 1)]),
                  required: targetRequired,
                  targetRequired ? "target column(s) by header name or 0-based index (several: one-hot classes or multi-output regression); HDF5: the target dataset"
                                 : "target column(s) or dataset (default: the training data's)"),
            .init("features", .string(), "HDF5: the features dataset, (N, D) or (N, H, W[, C])\(targetRequired ? "" : " (default: the training data's)")"),
            .init("header", .boolean, default: .bool(true), "CSV: the first row names the columns"),
            .init("delimiter", .string(), default: .string(","), "CSV: the one-character field separator"),
            .init("nan", .string(allowed: SourceSpec.MissingValues.allCases.map(\.rawValue)), default: .string("error"),
                  "missing or infinite features: error, drop the row, or fill with the training mean"),
        ])
    }

    static let split: Schema = .object([
        .init("split", .number(.init(minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true)), required: true,
              "fraction of the training file held out (rounded up to whole rows)"),
        .init("stratify", .boolean, default: .bool(false), "keep each class's share (classification)"),
    ])

    static func numericHandling(defaults: Bool) -> [Schema.Field] {
        let d = NumericHandling()
        return [
            .init("missing", .string(allowed: NumericHandling.Missing.allCases.map(\.rawValue)), default: defaults ? .string(d.missing.rawValue) : nil,
                  "an empty or missing cell: error, drop the row, the training mean or median, or constant (with fill)"),
            .init("fill", .number(), default: defaults ? .number(d.fill) : nil, "the value of missing: constant"),
            .init("indicator", .boolean, default: defaults ? .bool(d.indicator) : nil, "add a 0/1 input: the cell was missing"),
            .init("scale", .string(allowed: NumericHandling.Scale.allCases.map(\.rawValue)), default: defaults ? .string(d.scale.rawValue) : nil,
                  "standardize (mean 0, variance 1), minmax ([0, 1]), log (log1p, then standardize), none"),
        ]
    }

    static func categoryHandling(defaults: Bool) -> [Schema.Field] {
        let d = CategoryHandling()
        return [
            .init("missing", .string(allowed: CategoryHandling.Missing.allCases.map(\.rawValue)), default: defaults ? .string(d.missing.rawValue) : nil,
                  "an empty or missing cell: a level of its own (level), the most frequent level, error, or drop the row"),
            .init("encoding", .string(allowed: CategoryHandling.Encoding.allCases.map(\.rawValue)), default: defaults ? .string(d.encoding.rawValue) : nil,
                  "onehot, embedding (a learned vector per level), or auto: one-hot up to \(CategoryHandling.oneHotLimit) levels, embedding beyond"),
            .init("embedding_dim", .integer(.init(minimum: 1, maximum: 4096)), "the embedding's width (default min(50, round(1.6 levels^0.56)))"),
            .init("min_count", .integer(.init(minimum: 1)), default: defaults ? .number(Double(d.minCount)) : nil,
                  "levels seen fewer times in the training rows are pooled into one \"other\" level (which also takes unseen levels)"),
        ]
    }

    static let column: Schema = .anyOf([
        .string(allowed: ColumnType.allCases.map(\.rawValue)),
        .object([.init("type", .string(allowed: ColumnType.allCases.map(\.rawValue)), "numeric, category, date (ISO 8601) or ignore (default: inferred from the training file)"),
                 .init("missing", .string(allowed: NumericHandling.Missing.allCases.map(\.rawValue) + CategoryHandling.Missing.allCases.map(\.rawValue).filter { !NumericHandling.Missing.allCases.map(\.rawValue).contains($0) }),
                       "numeric: error, drop, mean, median, constant; category: level, most_frequent, error, drop")]
                + numericHandling(defaults: false).filter { $0.name != "missing" } + categoryHandling(defaults: false).filter { $0.name != "missing" }),
    ])

    static let preprocess: Schema = .object([
        .init("standardize", .boolean, default: .bool(false), "zero mean, unit variance per feature"),
        .init("minmax", .boolean, default: .bool(false), "scale each feature to [0, 1]"),
        .init("center", .boolean, default: .bool(false), "subtract each feature's mean only"),
        .init("pca", .object([
            .init("components", .integer(.init(minimum: 1)), "keep this many principal components"),
            .init("variance", .number(.init(minimum: 0, maximum: 1, exclusiveMinimum: true)), "keep the fewest components that explain this fraction of the variance"),
        ]), "project onto principal components (after scaling)"),
        .init("whiten", .boolean, default: .bool(false), "divide each principal component by its standard deviation (needs pca)"),
        .init("standardize_targets", .boolean, "regression: train on standardized targets, report in original units (default true for regression)"),
    ])

    static let augment: Schema = .object([
        .init("noise", .number(.init(minimum: 0)), default: .number(0), "standard deviation of Gaussian noise on the preprocessed features"),
        .init("mixup", .number(.init(minimum: 0)), default: .number(0), "mixup's alpha: blend each batch with a shuffled copy, weight ~ Beta(alpha, alpha); 0 is off"),
        .init("image", .object([
            .init("shape", .array(.integer(.init(minimum: 1)), minItems: 2, maxItems: 3), required: true, "(H, W) or (H, W, C) of each row's pixels, channels last"),
            .init("flip", .boolean, default: .bool(false), "mirror left-right with probability 1/2"),
            .init("translate", .integer(.init(minimum: 0)), default: .number(0), "shift by up to this many pixels (zero padding)"),
            .init("rotate", .number(.init(minimum: 0, maximum: 180)), default: .number(0), "rotate by up to this many degrees"),
            .init("scale", .number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), default: .number(0), "zoom by a factor in [1 - scale, 1 + scale]"),
        ]), "geometry for features that are images"),
    ])

    public static let initializers = ["normal", "uniform", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
                                      "lecun_normal", "orthogonal", "zeros"]

    public static let layer: Schema = .object([
        .init("units", .integer(.init(minimum: 1, maximum: 16_777_216)), required: true, "output units of the layer"),
        .init("activation", .string(allowed: Activation.allCases.map(\.rawValue)), default: .string("linear"),
              "non-linearity after the affine map (and batch normalisation)"),
        .init("alpha", .number(positive), "leaky_relu's slope (default 0.01), elu's scale (default 1), prelu's initial slope (default 0.25)"),
        .init("pieces", .integer(.init(minimum: 2, maximum: 16_777_216)), "maxout: affine pieces per unit (default 2)"),
        .init("init", .anyOf([
            .string(allowed: initializers),
            .object([
                .init("name", .string(allowed: initializers), required: true, "the scheme"),
                .init("std", .number(positive), "normal: standard deviation (default \(shown(Initializer.defaultNormalStd)), the lectures' 0.01 * randn)"),
                .init("limit", .number(positive), "uniform: half-width of the interval (default \(shown(Initializer.defaultUniformLimit)))"),
            ]),
        ]), "kernel initialisation (default: he_normal for the ReLU family, lecun_normal for selu, xavier_uniform otherwise)"),
        .init("bias_init", .number(), default: .number(0), "constant initial bias (a small positive value keeps ReLU units alive)"),
        .init("batchnorm", .anyOf([
            .boolean,
            .object([
                .init("momentum", .number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), default: .number(0.9),
                      "weight kept by the running averages each step"),
                .init("epsilon", .number(positive), default: .number(1e-5), "added to the variance"),
            ]),
        ]), default: .bool(false), "batch normalisation before the activation"),
        .init("dropout", .number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), default: .number(0),
              "fraction of this layer's outputs dropped in training (inverted dropout)"),
        .init("trainable", .boolean, default: .bool(true), "false freezes every parameter of the layer"),
        .init("rank", .integer(.init(minimum: 1, maximum: 16_777_216)), "factorise the kernel into two matrices of this inner size (low-rank layer)"),
        .init("inputs", .array(.string(), minItems: 1), "names of earlier layers (or \"input\") this layer reads; default the previous layer"),
        .init("combine", .string(allowed: LayerSpec.Combine.allCases.map(\.rawValue)), "how several inputs are joined (default add)"),
        .init("l1", .number(.init(minimum: 0)), "L1 penalty on this layer's kernel (default model.l1)"),
        .init("l2", .number(.init(minimum: 0)), "L2 penalty on this layer's kernel (default model.l2)"),
        .init("name", .string(), "layer name, referenced by inputs and used in parameter names (default dense_K)"),
    ])

    public static let root: Schema = .object([
        .init("seed", .integer(.init(minimum: 0, maximum: 9_007_199_254_740_991)), default: .number(0),
              "seed of every random choice: initialisation and shuffling"),
        .init("data", .object([
            .init("train", source(targetRequired: true), required: true, "the training data"),
            .init("validation", .anyOf([split, source(targetRequired: false)]), "a validation file, or a split of the training file; metrics each epoch"),
            .init("test", .anyOf([split, source(targetRequired: false)]), "a test file, or a split of the training file; metrics at the end"),
            .init("task", .string(allowed: tasks), "what the target is (default: inferred from the target column, see the README's Tables)"),
            .init("columns", .map(column), "CSV tables: each column's type and handling by name (\"col\": \"ignore\" is short for {\"type\": \"ignore\"}); unnamed columns are inferred"),
            .init("missing_values", .array(.string()), "CSV tables: cell texts read as missing (default \(TableSpec.defaultMissingValues.map { "\"\($0)\"" }.joined(separator: ", ")))"),
            .init("defaults", .object([
                .init("numeric", .object(numericHandling(defaults: true)), default: .object([]), "numeric columns"),
                .init("category", .object(categoryHandling(defaults: true)), default: .object([]), "category columns"),
            ]), "CSV tables: the handling of every column data.columns does not set"),
            .init("classes", .array(.string(), minItems: 2), "the class labels in index order (default: the training data's, sorted); other labels are errors"),
            .init("preprocess", preprocess, default: .object([]), "fitted on the training split, applied to every split and stored"),
            .init("augment", augment, default: .object([]), "training batches only"),
            .init("memory_limit_mb", .integer(.init(minimum: 1)), "stream an HDF5 training file larger than this in blocks instead of loading it"),
            .init("split_seed", .integer(.init(minimum: 0, maximum: 9_007_199_254_740_991)), "seed of the splits and folds (default: seed); fix it to compare model seeds on one split"),
        ]), required: true, "where the data comes from and what it means"),
        .init("model", .object([
            .init("layers", .array(layer, minItems: 1), required: true, "dense layers from input to output; the last is the output"),
            .init("loss", .string(allowed: Loss.allCases.map(\.rawValue)), required: true, "training objective"),
            .init("label_smoothing", .number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), default: .number(0),
                  "cross_entropy: weight of the uniform distribution mixed into the target"),
            .init("class_weights", .array(.number(positive), minItems: 2), "cross_entropy: one weight per class, in class order"),
            .init("huber_delta", .number(positive), "huber: where the loss turns from quadratic to linear (default \(shown(LossSpec(.huber).huberDelta)))"),
            .init("l1", .number(.init(minimum: 0)), default: .number(0), "L1 penalty on every kernel, added to the loss"),
            .init("l2", .number(.init(minimum: 0)), default: .number(0), "L2 penalty (Σ w²) on every kernel, added to the loss"),
            .init("init_from", .string(), "a checkpoint whose parameters initialise the layers of the same name and shape (transfer learning)"),
        ]), "the network (default for a CSV table: chosen from the data, see the README's Tables; required otherwise)"),
        .init("optimizer", .object([
            .init("name", .string(allowed: optimizers), default: .string("adam"), "update rule"),
            .init("lr", .number(positive), default: .number(0.001), "learning rate (lbfgs: the first line-search step)"),
            .init("momentum", .number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), default: .number(0), "sgd: momentum coefficient"),
            .init("nesterov", .boolean, default: .bool(false), "sgd: Nesterov momentum"),
            .init("betas", .array(.number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), minItems: 2, maxItems: 2),
                  default: .array([.number(0.9), .number(0.999)]), "adam, adamw: decay rates of the moment estimates"),
            .init("eps", .number(positive), "adam, adamw, rmsprop: added to the denominator (default \(shown(Adam.defaultEpsilon))); adagrad (default \(shown(AdaGrad.defaultEpsilon)))"),
            .init("decay", .number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), "rmsprop: weight of the running mean square (default \(shown(RMSProp.defaultDecay)))"),
            .init("weight_decay", .number(.init(minimum: 0)), "L2 pull towards zero on every trainable parameter: decoupled for adamw (default \(shown(Adam.defaultDecoupledWeightDecay))), added to the gradient otherwise (default 0)"),
            .init("clip_norm", .number(positive), "rescale the gradient when its global L2 norm exceeds this"),
            .init("clip_value", .number(positive), "clamp each gradient entry to [-clip_value, clip_value]"),
            .init("history", .integer(.init(minimum: 1)), "lbfgs: curvature pairs kept (default \(LBFGS.defaultHistory))"),
        ]), default: .object([]), "how parameters are updated"),
        .init("schedule", .object([
            .init("name", .string(allowed: Schedule.Kind.allCases.map(\.rawValue)), default: .string("constant"), "how the learning rate changes per epoch"),
            .init("warmup_epochs", .integer(.init(minimum: 0)), default: .number(0), "linear warmup epochs in front of the schedule"),
            .init("gamma", .number(positive), "step, multistep: factor per step (default \(scheduleDefaults.gamma))"),
            .init("step_size", .integer(.init(minimum: 1)), "step: epochs per step (default \(scheduleDefaults.stepSize))"),
            .init("milestones", .array(.integer(.init(minimum: 1)), minItems: 1), "multistep: epochs (after warmup) where the rate is multiplied by gamma"),
            .init("decay", .number(positive), "exponential: k in lr e^(-k t); inverse_time: k in lr / (1 + k t) (default \(scheduleDefaults.decay))"),
            .init("min_lr", .number(.init(minimum: 0)), "cosine, cosine_restarts, plateau: the lowest rate (default \(shown(scheduleDefaults.minimumRate)))"),
            .init("period", .integer(.init(minimum: 1)), "cosine_restarts: epochs of the first cycle (default \(scheduleDefaults.restartPeriod))"),
            .init("multiplier", .integer(.init(minimum: 1)), "cosine_restarts: growth of each next cycle (default \(scheduleDefaults.restartMultiplier))"),
            .init("max_lr", .number(positive), "one_cycle: the peak rate (default optimizer.lr)"),
            .init("pct_start", .number(.init(minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true)), "one_cycle: fraction of epochs rising (default \(scheduleDefaults.warmupFraction))"),
            .init("factor", .number(.init(minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true)), "plateau: rate multiplier per reduction (default \(scheduleDefaults.factor))"),
            .init("patience", .integer(.init(minimum: 0)), "plateau: epochs without improvement before a reduction (default \(scheduleDefaults.patience))"),
            .init("monitor", .string(), "plateau: the metric watched (default val_loss, or train_loss without validation)"),
        ]), default: .object([]), "the learning-rate schedule"),
        .init("training", .object([
            .init("epochs", .integer(.init(minimum: 1)), default: .number(10), "passes over the training data"),
            .init("batch_size", .integer(.init(minimum: 1)), default: .number(32), "rows per minibatch"),
            .init("drop_last", .boolean, default: .bool(false), "skip the last, smaller batch of each epoch"),
            .init("prefetch", .boolean, default: .bool(true), "prepare the next batch on a background thread (when the process may run on more than one CPU)"),
            .init("threads", .integer(.init(minimum: 1)), "BLAS threads (default: every core); bit-identical resumes need the same count"),
            .init("early_stopping", .object([
                .init("monitor", .string(), default: .string("val_loss"), "the metric watched: a metrics.csv column"),
                .init("mode", .string(allowed: ["auto", "min", "max"]), default: .string("auto"), "whether smaller or larger is better (auto: max for accuracy, min otherwise)"),
                .init("patience", .integer(.init(minimum: 0)), default: .number(10), "epochs without improvement before stopping"),
                .init("min_delta", .number(.init(minimum: 0)), default: .number(0), "the smallest change that counts as an improvement"),
                .init("restore_best", .boolean, default: .bool(true), "end with the best epoch's weights, also when training runs its course"),
            ]), "stop when the monitored metric stops improving (false: off, as leaving it out; with no training section a table gets it by default)"),
            .init("checkpoint", .object([
                .init("every", .integer(.init(minimum: 1)), default: .number(1), "write checkpoints/last.h5 every this many epochs"),
                .init("monitor", .string(), "the metric that decides best.h5 (default: early_stopping.monitor, else val_loss or train_loss)"),
            ]), default: .object([]), "checkpoints/last.h5 and checkpoints/best.h5"),
            .init("on_nonfinite", .string(allowed: ["stop", "skip_batch", "rollback"]), default: .string("stop"),
                  "a NaN or infinite loss or gradient: stop (exit 1), skip the batch, or roll back to the last epoch and halve the learning rate"),
            .init("max_rollbacks", .integer(.init(minimum: 1)), default: .number(3), "rollback: how many times before stopping"),
            .init("snapshots", .boolean, default: .bool(false), "cosine_restarts: keep a checkpoint at the end of every cycle (a snapshot ensemble)"),
            .init("sharpness_every", .integer(.init(minimum: 1)), "every this many epochs, the Hessian's top eigenvalue on a training batch in diagnostics.csv"),
            .init("class_weight", .anyOf([.string(allowed: ["balanced"]), .map(.number(.init(minimum: 0, exclusiveMinimum: true)))]),
                  "cross_entropy and binary_cross_entropy: \"balanced\" (n_rows / (n_classes · rows of the class), from the training rows) or a weight per class name (others 1); the loss is the weighted mean"),
            .init("sampling", .string(allowed: ["none", "balanced"]), default: .string("none"),
                  "balanced: each epoch draws every class equally often (rows of small classes repeat, of large ones a random part is left out), from the seed"),
            .init("threshold", .anyOf([.number(.init(minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true)), .string(allowed: ["f1", "balanced_accuracy"])]),
                  "binary: the probability at which a row is decided positive, or \"f1\" / \"balanced_accuracy\" to choose it on the validation split after training (default: 0.5)"),
            .init("calibration", .string(allowed: ["none", "temperature"]), default: .string("none"),
                  "temperature: after training, one temperature dividing the logits, fitted on the validation split to minimise its log loss"),
        ]), default: .object([]), "the training loop"),
        .init("output", .object([
            .init("dir", .string(), "run directory, relative to the working directory (default runs/CONFIG-NAME)"),
        ]), default: .object([]), "where results go"),
    ])
}

/// The config's JSON Schema document, with its draft and title.
public func configJSONSchema() -> JSON {
    var members = ConfigSchema.root.jsonSchema().members ?? []
    members.insert(JSON.Member(key: "$schema", value: .string("https://json-schema.org/draft/2020-12/schema")), at: 0)
    members.insert(JSON.Member(key: "title", value: .string("dltrain config")), at: 1)
    return JSON(.object(members))
}
