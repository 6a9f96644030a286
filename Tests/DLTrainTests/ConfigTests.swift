import TestSupport
@testable import DLTrain
import Foundation
import Testing

@Suite struct ConfigTests {
    static let valid = """
        {
          "data": {"train": {"path": "train.csv", "target": "y"}, "task": "classification"},
          "model": {"layers": [{"units": 8, "activation": "relu"}, {"units": 3}], "loss": "cross_entropy"}
        }
        """

    func load(_ text: String, overrides: [String] = []) throws -> Config {
        let dir = try temporaryDirectory()
        return try Config.load(try writeFile(dir, "c.json", text), overrides: overrides)
    }

    @Test func defaultsAreFilledAndPathsResolved() throws {
        let c = try load(Self.valid)
        #expect(c.optimizer.name == "adam" && c.optimizer.learningRate == 0.001)
        #expect(c.epochs == 10 && c.batchSize == 32 && c.seed == 0)
        #expect(c.data.train.path.hasSuffix("/train.csv") && c.data.train.path.hasPrefix("/"))
        #expect(c.resolved["training"]?["batch_size"]?.number == 32)
        #expect(c.model.layers.map(\.name) == ["dense_0", "dense_1"])
        #expect(c.outputDirectory == "runs/c")
    }

    @Test func overridesAreTypedBySchema() throws {
        let c = try load(Self.valid, overrides: ["optimizer.lr=0.5", "model.layers.0.units=64", "data.train.target=3",
                                                 "model.layers.1.activation=tanh", "training.epochs=2"])
        #expect(c.optimizer.learningRate == 0.5)
        #expect(c.model.layers[0].units == 64)
        #expect(c.data.train.target == [.index(3)])
        #expect(c.model.layers[1].activation == .tanh)
        #expect(c.epochs == 2)
    }

    /// Each bad config: the error names the key path, what was found and what is allowed.
    @Test(arguments: [
        ("\"activation\": \"relu\"", "\"activation\": \"rellu\"", ["model.layers[0].activation", "rellu", "did you mean \"relu\"", "c.json:3:"]),
        ("\"units\": 8", "\"units\": -8", ["model.layers[0].units", "-8", ">= 1"]),
        ("\"units\": 8", "\"units\": 8.5", ["model.layers[0].units", "an integer"]),
        ("\"loss\": \"cross_entropy\"", "\"loss\": \"crossentropy\"", ["model.loss", "did you mean \"cross_entropy\""]),
        ("\"loss\": \"cross_entropy\"", "\"loss\": \"mse\"", ["model.loss", "does not fit data.task"]),
        ("\"task\": \"classification\"", "\"task\": \"clasification\"", ["data.task", "did you mean \"classification\""]),
        ("\"layers\":", "\"layer\":", ["model", "layer", "did you mean \"layers\""]),
        ("\"target\": \"y\"", "\"target\": -1", ["data.train.target", "-1"]),
        ("\"target\": \"y\"", "\"target\": \"y\", \"pth\": 1", ["data.train.pth", "did you mean \"path\""]),
    ])
    func badConfig(original: String, replacement: String, expected: [String]) throws {
        let text = Self.valid.replacingOccurrences(of: original, with: replacement)
        #expect(text != Self.valid)
        let message = errorText { try load(text) }
        for fragment in expected { #expect(message.contains(fragment), "\(message)") }
    }

    @Test func structuralErrors() throws {
        #expect(errorText { try load("{\"data\": 1}") }.contains("data: found an integer 1; expected an object"))
        #expect(errorText { try load("{}") }.contains("missing required key \"data\""))
        #expect(errorText { try load("[1,") }.contains("invalid JSON"))
        // Only a CSV table has its task and network chosen from the data.
        let h5 = #"{"data": {"train": {"path": "d.h5", "features": "X", "target": "y"}}, "model": {"layers": [{"units": 2}], "loss": "cross_entropy"}}"#
        #expect(errorText { try load(h5) }.contains("data: missing required key \"task\""))
        let noModel = #"{"data": {"train": {"path": "d.h5", "features": "X", "target": "y"}, "task": "classification"}}"#
        #expect(errorText { try load(noModel) }.contains("missing required key \"model\""))
        #expect(errorText { try Config.load("/nonexistent/c.json") }.contains("no such config file"))
        let binary = Self.valid.replacingOccurrences(of: "\"classification\"", with: "\"binary\"")
            .replacingOccurrences(of: "cross_entropy", with: "binary_cross_entropy")
        #expect(errorText { try load(binary) }.contains("needs 1 output unit"))
        let momentum = Self.valid.replacingOccurrences(of: "\"model\"", with: "\"optimizer\": {\"momentum\": 0.9}, \"model\"")
        #expect(errorText { try load(momentum) }.contains("applies to \"sgd\""))
    }

    @Test func badOverrides() throws {
        #expect(errorText { try load(Self.valid, overrides: ["optimizer.lr"]) }.contains("KEY=VALUE"))
        #expect(errorText { try load(Self.valid, overrides: ["optimizer.lrr=0.1"]) }.contains("did you mean \"optimizer.lr\""))
        #expect(errorText { try load(Self.valid, overrides: ["optimizer.lr=fast"]) }.contains("expected a number > 0"))
        #expect(errorText { try load(Self.valid, overrides: ["model.layers.7.units=3"]) }.contains("index 7"))
        #expect(errorText { try load(Self.valid, overrides: ["optimizer.lr=-1"]) }.contains("optimizer.lr"))
    }

    /// The published schema is generated from the parser's declaration.
    @Test func schemaDescribesTheParser() throws {
        let schema = configJSONSchema()
        #expect(schema["$schema"]?.string == "https://json-schema.org/draft/2020-12/schema")
        let layer = schema["properties"]?["model"]?["properties"]?["layers"]?["items"]
        #expect(layer?["properties"]?["activation"]?["enum"]?.items?.count == DLNNActivationCount.value)
        #expect(layer?["additionalProperties"]?.bool == false)
        #expect(schema["required"]?.items?.map(\.string) == ["data"])
    }

    /// Every example config shipped in configs/ is accepted.
    @Test func exampleConfigsValidate() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let configs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("configs").path).filter { $0.hasSuffix(".json") }
        #expect(!configs.isEmpty)
        for name in configs {
            let path = root.appendingPathComponent("configs/\(name)").path
            if name.hasSuffix("-sweep.json") { _ = try SweepSpec.load(path) } else { _ = try Config.load(path) }
        }
    }
}

import DLNN
enum DLNNActivationCount { static let value = Activation.allCases.count }
