import DLNN
import DLCore

/// The config file's declaration: every key, its type, range, default and help text.
/// `dltrain schema` prints it as JSON Schema; the README's reference is made from it.
public enum ConfigSchema {
    public static let tasks = ["classification", "binary", "regression"]
    public static let optimizers = ["sgd", "adam"]

    static let positive = Schema.Bounds(minimum: 0, exclusiveMinimum: true)

    public static let source: Schema = .object([
        .init("path", .string(), required: true, "CSV file, relative to the config file"),
        .init("target", .anyOf([.string(), .integer(.init(minimum: 0))]), required: true,
              "the target column, by header name or 0-based index"),
    ])

    public static let initializers = ["normal", "uniform", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
                                      "lecun_normal", "orthogonal", "zeros"]

    public static let layer: Schema = .object([
        .init("units", .integer(.init(minimum: 1)), required: true, "output units of the layer"),
        .init("activation", .string(allowed: Activation.allCases.map(\.rawValue)), default: .string("linear"),
              "non-linearity after the affine map (and batch normalisation)"),
        .init("alpha", .number(positive), "leaky_relu's slope (default 0.01), elu's scale (default 1), prelu's initial slope (default 0.25)"),
        .init("pieces", .integer(.init(minimum: 2)), "maxout: affine pieces per unit (default 2)"),
        .init("init", .anyOf([
            .string(allowed: initializers),
            .object([
                .init("name", .string(allowed: initializers), required: true, "the scheme"),
                .init("std", .number(positive), "normal: standard deviation (default 0.01, the lectures' 0.01 * randn)"),
                .init("limit", .number(positive), "uniform: half-width of the interval (default 0.05)"),
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
        .init("rank", .integer(.init(minimum: 1)), "factorise the kernel into two matrices of this inner size (low-rank layer)"),
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
            .init("train", source, required: true, "the training data"),
            .init("task", .string(allowed: tasks), required: true, "what the target is"),
        ]), required: true, "where the data comes from and what it means"),
        .init("model", .object([
            .init("layers", .array(layer, minItems: 1), required: true, "dense layers from input to output; the last is the output"),
            .init("loss", .string(allowed: Loss.allCases.map(\.rawValue)), required: true, "training objective"),
            .init("label_smoothing", .number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), default: .number(0),
                  "cross_entropy: weight of the uniform distribution mixed into the target"),
            .init("class_weights", .array(.number(positive), minItems: 2), "cross_entropy: one weight per class, in class order"),
            .init("huber_delta", .number(positive), "huber: where the loss turns from quadratic to linear (default 1)"),
            .init("l1", .number(.init(minimum: 0)), default: .number(0), "L1 penalty on every kernel, added to the loss"),
            .init("l2", .number(.init(minimum: 0)), default: .number(0), "L2 penalty (Σ w²) on every kernel, added to the loss"),
        ]), required: true, "the network"),
        .init("optimizer", .object([
            .init("name", .string(allowed: optimizers), default: .string("adam"), "update rule"),
            .init("lr", .number(positive), default: .number(0.001), "learning rate"),
            .init("momentum", .number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), default: .number(0), "sgd: momentum coefficient"),
            .init("nesterov", .boolean, default: .bool(false), "sgd: Nesterov momentum"),
            .init("betas", .array(.number(.init(minimum: 0, maximum: 1, exclusiveMaximum: true)), minItems: 2, maxItems: 2),
                  default: .array([.number(0.9), .number(0.999)]), "adam: decay rates of the moment estimates"),
            .init("eps", .number(positive), default: .number(1e-8), "adam: added to the denominator"),
        ]), default: .object([]), "how parameters are updated"),
        .init("training", .object([
            .init("epochs", .integer(.init(minimum: 1)), default: .number(10), "passes over the training data"),
            .init("batch_size", .integer(.init(minimum: 1)), default: .number(32), "rows per minibatch"),
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
