import Foundation
import Testing

/// Distinct bad configs fed to `dltrain fit`: each exits with code 2 and names the key path
/// (and, for values in the file, its line:column).
@Suite struct BadConfigTests {
    static let iris = CLITests.packageRoot.appendingPathComponent("data/iris.csv").path

    static let valid = """
        {
          "seed": 1,
          "data": {"train": {"path": "\(iris)", "target": "species"}, "task": "classification"},
          "model": {
            "layers": [{"units": 8, "activation": "relu"}, {"units": 3}],
            "loss": "cross_entropy"
          },
          "optimizer": {"name": "adam", "lr": 0.01},
          "training": {"epochs": 2, "batch_size": 16}
        }
        """

    /// (what is wrong, the text replaced, its replacement, what the message must contain)
    static let cases: [(String, String, String, [String])] = [
        ("activation typo", "\"relu\"", "\"rleu\"", ["model.layers[0].activation", "did you mean \"relu\"", "c.json:5:"]),
        ("negative units", "\"units\": 8", "\"units\": -8", ["model.layers[0].units", ">= 1"]),
        ("zero units", "\"units\": 3", "\"units\": 0", ["model.layers[1].units", ">= 1"]),
        ("fractional units", "\"units\": 8", "\"units\": 2.5", ["model.layers[0].units", "an integer"]),
        ("dropout above 1", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"dropout\": 1.5", ["model.layers[0].dropout", "< 1"]),
        ("negative dropout", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"dropout\": -0.1", ["model.layers[0].dropout", ">= 0"]),
        ("unknown layer key", "\"units\": 8", "\"unit\": 8", ["model.layers[0].unit", "did you mean \"units\""]),
        ("unknown section", "\"optimizer\":", "\"optimiser\":", ["optimiser", "did you mean \"optimizer\""]),
        ("loss typo", "\"cross_entropy\"", "\"cross_entropie\"", ["model.loss", "did you mean \"cross_entropy\""]),
        ("loss not fitting the task", "\"cross_entropy\"", "\"mse\"", ["model.loss", "does not fit data.task \"classification\""]),
        ("binary loss with 3 outputs", "\"task\": \"classification\"", "\"task\": \"binary\"", ["model.loss"]),
        ("task typo", "\"classification\"", "\"clasification\"", ["data.task", "did you mean \"classification\""]),
        ("missing path", "\"path\": \"\(iris)\", ", "", ["data.train", "missing required key \"path\""]),
        ("negative target index", "\"target\": \"species\"", "\"target\": -2", ["data.train.target"]),
        ("negative learning rate", "\"lr\": 0.01", "\"lr\": -0.01", ["optimizer.lr", "> 0"]),
        ("learning rate as text", "\"lr\": 0.01", "\"lr\": \"fast\"", ["optimizer.lr", "expected a number"]),
        ("momentum with adam", "\"lr\": 0.01", "\"lr\": 0.01, \"momentum\": 0.9", ["optimizer.momentum", "sgd"]),
        ("nesterov without momentum", "\"name\": \"adam\"", "\"name\": \"sgd\", \"nesterov\": true", ["optimizer.nesterov", "momentum > 0"]),
        ("three betas", "\"lr\": 0.01", "\"lr\": 0.01, \"betas\": [0.9, 0.99, 0.999]", ["optimizer.betas", "exactly 2"]),
        ("zero epochs", "\"epochs\": 2", "\"epochs\": 0", ["training.epochs", ">= 1"]),
        ("batch size as text", "\"batch_size\": 16", "\"batch_size\": \"big\"", ["training.batch_size", "an integer"]),
        ("init typo", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"init\": \"he_norml\"", ["model.layers[0].init", "did you mean \"he_normal\""]),
        ("std on a uniform init", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"init\": {\"name\": \"uniform\", \"std\": 0.1}", ["model.layers[0].init.std", "\"normal\""]),
        ("alpha on relu", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"alpha\": 0.2", ["model.layers[0].alpha", "leaky_relu"]),
        ("pieces on relu", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"pieces\": 3", ["model.layers[0].pieces", "maxout"]),
        ("input from a missing layer", "{\"units\": 3}", "{\"units\": 3, \"inputs\": [\"h9\"]}", ["model.layers[1].inputs[0]", "no layer named \"h9\""]),
        ("input from a later layer", "\"activation\": \"relu\"}", "\"activation\": \"relu\", \"inputs\": [\"dense_1\"]}", ["model.layers[0].inputs[0]", "cycles"]),
        ("duplicate names", "{\"units\": 3}", "{\"units\": 3, \"name\": \"dense_0\"}", ["model.layers[1].name", "already taken"]),
        ("label smoothing with hinge", "\"loss\": \"cross_entropy\"", "\"loss\": \"hinge\", \"label_smoothing\": 0.1", ["model.label_smoothing", "cross_entropy"]),
        ("huber delta without huber", "\"loss\": \"cross_entropy\"", "\"loss\": \"cross_entropy\", \"huber_delta\": 2", ["model.huber_delta", "huber"]),
        ("combine without inputs", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"combine\": \"concat\"", ["model.layers[0].combine", "inputs"]),
        ("batchnorm momentum above 1", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"batchnorm\": {\"momentum\": 1.2}", ["model.layers[0].batchnorm.momentum", "< 1"]),
        ("no layers", "[{\"units\": 8, \"activation\": \"relu\"}, {\"units\": 3}]", "[]", ["model.layers", "at least 1"]),
        ("negative seed", "\"seed\": 1", "\"seed\": -1", ["seed", ">= 0"]),
        ("invalid JSON", "\"seed\": 1,", "\"seed\": 1,,", ["c.json:2:13", "invalid JSON"]),
        ("class weights for 2 of 3 classes", "\"loss\": \"cross_entropy\"", "\"loss\": \"cross_entropy\", \"class_weights\": [1, 2]", ["model.class_weights", "3 classes"]),
        ("a layer that feeds nothing", "{\"units\": 3}", "{\"units\": 3, \"inputs\": [\"input\"]}", ["model.layers[0]", "feeds no later layer"]),
        ("zero rank", "\"activation\": \"relu\"", "\"activation\": \"relu\", \"rank\": 0", ["model.layers[0].rank", ">= 1"]),
        ("negative l2", "\"loss\": \"cross_entropy\"", "\"loss\": \"cross_entropy\", \"l2\": -0.1", ["model.l2", ">= 0"]),
        ("output units not matching classes", "{\"units\": 3}", "{\"units\": 4}", ["model.layers[1].units", "3 classes", "set it to 3"]),
        ("adding inputs of different widths", "{\"units\": 3}", "{\"units\": 3, \"inputs\": [\"dense_0\", \"input\"]}", ["model.layers[1].inputs", "equal width"]),
        ("data file missing", "\"path\": \"\(iris)\"", "\"path\": \"nowhere.csv\"", ["nowhere.csv", "no such file"]),
        ("target column missing", "\"target\": \"species\"", "\"target\": \"kind\"", ["no column named \"kind\"", "species"]),
    ]

    @Test(arguments: cases.indices)
    func badConfigExitsTwo(_ index: Int) throws {
        let (what, original, replacement, expected) = Self.cases[index]
        #expect(Self.valid.contains(original), "\(what): the template has no \(original)")
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-bad-\(index)-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.valid.replacingOccurrences(of: original, with: replacement).write(to: dir.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)
        let r = try CLITests().run(["fit", "c.json", "--out", dir.appendingPathComponent("run").path], in: dir)
        #expect(r.status == 2, "\(what): exit \(r.status), \(r.stderr)")
        for fragment in expected { #expect(r.stderr.contains(fragment), "\(what): \(r.stderr)") }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("run/metrics.csv").path), "\(what): training must not start")
    }

    @Test func theTemplateItselfTrains() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-good-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Self.valid.write(to: dir.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)
        #expect(try CLITests().run(["fit", "c.json", "--quiet"], in: dir).status == 0)
    }

    @Test func badOverridesExitTwo() throws {
        for (assignment, fragment) in [("model.layers.0.units=-3", "model.layers[0].units"), ("model.layers.0.activaton=relu", "did you mean"),
                                       ("training.epochs=many", "training.epochs"), ("model.layers.5.units=3", "index 5")] {
            let r = try CLITests().run(["fit", "configs/iris.json", "--set", assignment])
            #expect(r.status == 2 && r.stderr.contains(fragment), "\(assignment): \(r.stderr)")
        }
    }
}
