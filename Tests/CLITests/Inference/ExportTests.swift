import Foundation
import Testing

/// `dltrain export`: the ONNX model runs in onnxruntime and reproduces `dltrain predict`;
/// the safetensors file holds exactly the checkpoint's weights (Tests/python/onnx_check.py,
/// with onnx, onnxruntime, safetensors and h5py from scripts/setup).
@Suite(.serialized) struct ExportTests {
    let cli = CLITests()
    static let script = CLITests.packageRoot.appendingPathComponent("Tests/python/onnx_check.py").path

    func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let r = try CLITests.execute("/usr/bin/env", ["python3", Self.script] + arguments)
        return (r.status, r.stdout + r.stderr)
    }

    /// Trains `config`, exports it both ways, predicts new rows near `data`'s with dltrain and
    /// with onnxruntime, and returns the comparison (see onnx_check.py).
    func roundTrip(_ config: String, data: String, _ overrides: [String] = []) throws -> [String: Any] {
        let dir = try cli.temporary("export")
        let run = dir.appendingPathComponent("run").path
        let fit = try cli.run(["fit", config, "--quiet", "--out", run] + overrides.flatMap { ["--set", $0] })
        #expect(fit.status == 0, "\(fit.stderr)")
        let checkpoint = run + "/checkpoints/last.h5", model = dir.appendingPathComponent("model.onnx").path
        let weights = dir.appendingPathComponent("model.safetensors").path
        let export = try cli.run(["export", checkpoint, "--format", "onnx", "--out", model])
        #expect(export.status == 0 && export.stderr.contains("ONNX opset 20"), "\(export.stderr)")
        #expect(try cli.run(["export", checkpoint, "--format", "safetensors", "--out", weights]).status == 0)
        let heldout = dir.appendingPathComponent("heldout.csv").path, predictions = dir.appendingPathComponent("predictions.csv").path
        let made = try python(["heldout", model, data, heldout, "5"])
        #expect(made.status == 0, "\(made.output)")
        let predict = try cli.run(["predict", checkpoint, "--data", heldout, "--out", predictions])
        #expect(predict.status == 0, "\(predict.stderr)")
        let compared = try python(["compare", model, heldout, predictions, weights, checkpoint])
        #expect(compared.status == 0, "\(compared.output)")
        let result = try JSONSerialization.jsonObject(with: Data(compared.output.utf8)) as? [String: Any] ?? [:]
        #expect((result["safetensors_missing"] as? [String]) == [], "\(result)")
        #expect((result["safetensors_max_abs_diff"] as? Double) == 0, "\(result)")
        return result
    }

    func expectMatch(_ result: [String: Any], rows: Int, outputs: [String]) {
        #expect(result["rows"] as? Int == rows)
        #expect(result["outputs"] as? [String] == outputs)
        let difference = result["max_abs_diff"] as? Double
        #expect(difference != nil && difference! < 1e-5, "\(result)")
        if outputs.contains("label") { #expect(result["label_mismatches"] as? Int == 0, "\(result)") }
    }

    func data(_ name: String) -> String { CLITests.packageRoot.appendingPathComponent("data/\(name)").path }

    @Test(arguments: [
        ("configs/xor.json", "xor.csv", ["probabilities", "label"]),
        ("configs/iris.json", "iris.csv", ["probabilities", "label"]),
        ("configs/digits.json", "digits.csv", ["probabilities", "label"]),
        ("configs/regression.json", "iris-petal-width.csv", ["predictions"]),
        ("configs/residual.json", "digits.csv", ["probabilities", "label"]),
    ])
    func exampleConfigsMatchPredict(config: String, data: String, outputs: [String]) throws {
        let result = try roundTrip(config, data: self.data(data), ["training.epochs=8"])
        let rows = try String(contentsOfFile: self.data(data), encoding: .utf8).split(separator: "\n").count - 1
        expectMatch(result, rows: rows, outputs: outputs)
    }

    /// Every activation, batch norm (folded) before relu-free and maxout layers, low rank,
    /// dropout, add and concat skips, min-max scaling then whitened PCA.
    @Test func everyActivationAndPreprocessingMatchPredict() throws {
        let dir = try cli.temporary("activations")
        let config = """
            {"seed": 4,
             "data": {"train": {"path": "\(data("iris.csv"))", "target": "species"}, "task": "classification",
                      "preprocess": {"minmax": true, "pca": {"components": 3}, "whiten": true}},
             "model": {"layers": [
               {"name": "a", "units": 8, "activation": "sigmoid"},
               {"name": "b", "units": 8, "activation": "tanh", "batchnorm": true},
               {"name": "c", "units": 8, "activation": "relu", "rank": 3},
               {"name": "d", "units": 8, "activation": "leaky_relu", "alpha": 0.2, "inputs": ["b", "c"], "combine": "add"},
               {"name": "e", "units": 8, "activation": "prelu"},
               {"name": "f", "units": 8, "activation": "elu", "alpha": 0.7},
               {"name": "g", "units": 8, "activation": "selu"},
               {"name": "h", "units": 8, "activation": "gelu", "dropout": 0.1},
               {"name": "i", "units": 8, "activation": "softplus"},
               {"name": "j", "units": 8, "activation": "swish"},
               {"name": "k", "units": 8, "activation": "silu"},
               {"name": "l", "units": 8, "activation": "abs", "rank": 4, "batchnorm": true},
               {"name": "m", "units": 8, "activation": "maxout", "pieces": 3, "batchnorm": true},
               {"name": "out", "units": 3, "inputs": ["m", "a"], "combine": "concat"}],
              "loss": "cross_entropy"},
             "optimizer": {"name": "adam", "lr": 0.01},
             "training": {"epochs": 15, "batch_size": 16}}
            """
        try config.write(to: dir.appendingPathComponent("all.json"), atomically: true, encoding: .utf8)
        expectMatch(try roundTrip(dir.appendingPathComponent("all.json").path, data: data("iris.csv")), rows: 150, outputs: ["probabilities", "label"])
    }

    /// gaussian_nll: the mean and the standard deviation, both in the target's units
    /// (standardized targets undone in the graph); centred inputs.
    @Test func gaussianRegressionMatchesPredict() throws {
        let dir = try cli.temporary("gaussian")
        try """
            {"seed": 2, "data": {"train": {"path": "\(data("iris-petal-width.csv"))", "target": "petal_width"}, "task": "regression",
                                 "preprocess": {"center": true}},
             "model": {"layers": [{"units": 16, "activation": "tanh"}, {"units": 2}], "loss": "gaussian_nll"},
             "optimizer": {"name": "adam", "lr": 0.01}, "training": {"epochs": 30, "batch_size": 16}}
            """.write(to: dir.appendingPathComponent("g.json"), atomically: true, encoding: .utf8)
        expectMatch(try roundTrip(dir.appendingPathComponent("g.json").path, data: data("iris-petal-width.csv")), rows: 150, outputs: ["predictions", "std"])
    }

    /// hinge: probabilities are the softmax of the class scores, as predict reports them.
    @Test func hingeMatchesPredict() throws {
        let result = try roundTrip("configs/iris.json", data: data("iris.csv"), ["model.loss=hinge", "data.preprocess.standardize=true"])
        expectMatch(result, rows: 150, outputs: ["probabilities", "label"])
    }

    @Test func badExportsExitTwo() throws {
        let dir = try cli.temporary("badexport")
        let notCheckpoint = dir.appendingPathComponent("x.h5").path
        try "not hdf5".write(toFile: notCheckpoint, atomically: true, encoding: .utf8)
        let r = try cli.run(["export", notCheckpoint, "--out", dir.appendingPathComponent("m.onnx").path])
        #expect(r.status == 2 && r.stderr.contains("x.h5"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("m.onnx").path))
        let format = try cli.run(["export", notCheckpoint, "--format", "tflite", "--out", "m"])
        #expect(format.status == 2 && format.stderr.contains("onnx") && format.stderr.contains("safetensors"), "\(format.stderr)")
        let missingDirectory = try cli.run(["export", "nothing.h5", "--out", "m.onnx"])
        #expect(missingDirectory.status == 2 && missingDirectory.stderr.contains("nothing.h5"), "\(missingDirectory.stderr)")
    }
}

/// The README's h5py snippet, run verbatim, reproduces `dltrain predict` (iris, and digits
/// with batch norm and standardization).
@Suite(.serialized) struct ReadmeSnippetTests {
    let cli = CLITests()

    @Test func h5pySnippetReproducesPredict() throws {
        let work = try cli.temporary("snippet")
        let root = CLITests.packageRoot
        try FileManager.default.createDirectory(at: work.appendingPathComponent("data"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: root.appendingPathComponent("data/iris.csv"), to: work.appendingPathComponent("data/iris.csv"))
        let iris = work.appendingPathComponent("runs/iris").path, digits = work.appendingPathComponent("runs/digits").path
        #expect(try cli.run(["fit", "configs/iris.json", "--quiet", "--out", iris]).status == 0)
        #expect(try cli.run(["fit", "configs/digits.json", "--quiet", "--set", "training.epochs=5", "--out", digits]).status == 0)
        let irisPredictions = work.appendingPathComponent("iris.csv").path, digitsPredictions = work.appendingPathComponent("digits.csv").path
        #expect(try cli.run(["predict", iris + "/checkpoints/best.h5", "--data", "data/iris.csv", "--out", irisPredictions]).status == 0)
        // The digits features alone (the snippet takes a feature matrix).
        let digitsRows = try String(contentsOf: root.appendingPathComponent("data/digits.csv"), encoding: .utf8).split(separator: "\n")
        let label = digitsRows[0].split(separator: ",").firstIndex(of: "label")!
        let features = digitsRows.map { $0.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != label }.map(\.element).joined(separator: ",") }
        let digitsFeatures = work.appendingPathComponent("digits-features.csv").path
        try (features.joined(separator: "\n") + "\n").write(toFile: digitsFeatures, atomically: true, encoding: .utf8)
        #expect(try cli.run(["predict", digits + "/checkpoints/best.h5", "--data", digitsFeatures, "--out", digitsPredictions]).status == 0)

        let r = try CLITests.execute("/usr/bin/env", ["python3", root.appendingPathComponent("Tests/python/readme_snippet.py").path, root.appendingPathComponent("README.md").path,
                                                      work.path, irisPredictions, digits + "/checkpoints/best.h5", digitsFeatures, digitsPredictions])
        #expect(r.status == 0, "\(r.stderr)")
        let lastLine = r.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let differences = (try? JSONSerialization.jsonObject(with: Data(lastLine.utf8)) as? [String: [Double]])?["max_abs_diff"] ?? []
        #expect(differences.count == 2 && differences.allSatisfy { $0 < 1e-5 }, "\(r.stdout)")
    }
}
