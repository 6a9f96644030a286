import DLNN

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

    public static let layer: Schema = .object([
        .init("units", .integer(.init(minimum: 1)), required: true, "output units of the layer"),
        .init("activation", .string(allowed: Activation.allCases.map(\.rawValue)), default: .string("linear"),
              "non-linearity after the affine map"),
        .init("alpha", .number(positive), "slope for leaky_relu (default 0.01) or scale for elu (default 1)"),
        .init("name", .string(), "layer name, used for parameter names (default dense_K)"),
    ])

    public static let root: Schema = .object([
        .init("seed", .integer(.init(minimum: 0, maximum: 9_007_199_254_740_991)), default: .number(0),
              "seed of every random choice: initialisation and shuffling"),
        .init("data", .object([
            .init("train", source, required: true, "the training data"),
            .init("task", .string(allowed: tasks), required: true, "what the target is"),
        ]), required: true, "where the data comes from and what it means"),
        .init("model", .object([
            .init("layers", .array(layer, minItems: 1), required: true, "dense layers from input to output"),
            .init("loss", .string(allowed: Loss.allCases.map(\.rawValue)), required: true, "training objective"),
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
