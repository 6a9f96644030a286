import TestSupport
@testable import DLTrain
import DLNN
import Foundation
import Testing

/// Every layer feature, activation, initialiser and loss trains: a small config using it
/// lowers the training loss on real data.
@Suite struct FeatureTrainingTests {
    static let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data").path

    /// Trains `layers` (JSON array text) with `loss` and `extra` model keys; returns (first, last) epoch loss.
    func train(layers: String, loss: String = "cross_entropy", task: String = "classification", extra: String = "",
               epochs: Int = 30, lr: Double = 0.01) throws -> (Double, Double) {
        let source = switch task {
        case "regression": "\"path\": \"\(Self.data)/iris-petal-width.csv\", \"target\": \"petal_width\""
        case "binary": "\"path\": \"\(Self.data)/xor.csv\", \"target\": \"y\""
        default: "\"path\": \"\(Self.data)/iris.csv\", \"target\": \"species\""
        }
        let text = """
            {"seed": 5, "data": {"train": {\(source)}, "task": "\(task)"},
             "model": {"layers": \(layers), "loss": "\(loss)"\(extra)},
             "optimizer": {"name": "adam", "lr": \(lr)}, "training": {"epochs": \(epochs), "batch_size": 16}}
            """
        let dir = try temporaryDirectory()
        let trainer = try Trainer(config: try Config.load(try writeFile(dir, "c.json", text)))
        try trainer.fit()
        return (trainer.history.first!.trainLoss, trainer.history.last!.trainLoss)
    }

    func expectFalls(_ result: (Double, Double), _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.1.isFinite && result.1 < 0.8 * result.0, "\(comment): loss \(result.0) -> \(result.1)", sourceLocation: sourceLocation)
    }

    @Test(arguments: Activation.allCases)
    func activation(_ activation: Activation) throws {
        expectFalls(try train(layers: "[{\"units\": 16, \"activation\": \"\(activation.rawValue)\"}, {\"units\": 3}]"), "\(activation)")
    }

    @Test(arguments: ConfigSchema.initializers)
    func initializer(_ name: String) throws {
        let initializer = name == "normal" ? "{\"name\": \"normal\", \"std\": 0.1}" : "\"\(name)\""
        // zeros is symmetric (every unit stays equal) but the output bias and the single
        // effective unit still learn; the loss falls, just less far.
        expectFalls(try train(layers: "[{\"units\": 16, \"activation\": \"tanh\", \"init\": \(initializer), \"bias_init\": 0.01}, {\"units\": 3}]"), "\(name)")
    }

    @Test(arguments: Loss.allCases)
    func loss(_ loss: Loss) throws {
        let (task, outputs) = switch loss {
        case .crossEntropy, .hinge: ("classification", 3)
        case .binaryCrossEntropy: ("binary", 1)
        case .gaussianNLL: ("regression", 2)
        default: ("regression", 1)
        }
        let epochs = task == "binary" ? 200 : 30
        expectFalls(try train(layers: "[{\"units\": 8, \"activation\": \"tanh\"}, {\"units\": \(outputs)}]", loss: loss.rawValue,
                              task: task, epochs: epochs), "\(loss)")
    }

    @Test func layerFeatures() throws {
        expectFalls(try train(layers: "[{\"units\": 16, \"activation\": \"relu\", \"batchnorm\": true}, {\"units\": 3}]"), "batchnorm")
        expectFalls(try train(layers: "[{\"units\": 16, \"activation\": \"relu\", \"batchnorm\": {\"momentum\": 0.99}}, {\"units\": 3}]"), "batchnorm momentum")
        expectFalls(try train(layers: "[{\"units\": 32, \"activation\": \"relu\", \"dropout\": 0.3}, {\"units\": 3}]"), "dropout")
        expectFalls(try train(layers: "[{\"units\": 8, \"activation\": \"maxout\", \"pieces\": 3}, {\"units\": 3}]"), "maxout")
        expectFalls(try train(layers: "[{\"units\": 16, \"activation\": \"relu\", \"rank\": 2}, {\"units\": 3}]"), "low rank")
        expectFalls(try train(layers: """
            [{"name": "stem", "units": 16, "activation": "relu"},
             {"name": "block", "units": 16, "activation": "relu"},
             {"name": "merge", "units": 16, "activation": "relu", "inputs": ["stem", "block"]},
             {"units": 3, "inputs": ["merge", "input"], "combine": "concat"}]
            """), "skip connections")
        expectFalls(try train(layers: "[{\"units\": 16, \"activation\": \"relu\"}, {\"units\": 3}]",
                              extra: ", \"l2\": 0.001, \"l1\": 0.0001, \"label_smoothing\": 0.1, \"class_weights\": [1, 2, 1]"), "penalties and loss options")
    }

    /// The penalty is part of the reported loss: the same run with l2 reports a larger loss at epoch 1.
    @Test func penaltyIsVisibleInTheLoss() throws {
        let layers = "[{\"units\": 16, \"activation\": \"relu\"}, {\"units\": 3}]"
        let plain = try train(layers: layers, epochs: 1), penalised = try train(layers: layers, extra: ", \"l2\": 0.1", epochs: 1)
        #expect(penalised.0 > plain.0 + 0.05)
    }

    /// A frozen layer's parameters do not move.
    @Test func frozenLayerStaysPut() throws {
        let text = """
            {"data": {"train": {"path": "\(Self.data)/iris.csv", "target": "species"}, "task": "classification"},
             "model": {"layers": [{"units": 8, "activation": "relu", "trainable": false}, {"units": 3}], "loss": "cross_entropy"},
             "training": {"epochs": 3}}
            """
        let trainer = try Trainer(config: try Config.load(try writeFile(try temporaryDirectory(), "c.json", text)))
        let kernel = trainer.model.graph.parameters.first { $0.name == "dense_0/kernel" }!
        let output = trainer.model.graph.parameters.first { $0.name == "dense_1/kernel" }!
        let before = Array(trainer.parameters.values(of: kernel)), outputBefore = Array(trainer.parameters.values(of: output))
        try trainer.fit()
        #expect(Array(trainer.parameters.values(of: kernel)) == before)
        #expect(Array(trainer.parameters.values(of: output)) != outputBefore)
    }
}
