import TestSupport
@testable import DLTrain
import Foundation
import Testing

/// Gradient clipping, seen through one plain-SGD step on the whole iris set (lr 1): the
/// parameters move by exactly the clipped gradient.
@Suite struct ClippingTests {
    func oneStep(_ clip: String) throws -> (before: [Float], after: [Float]) {
        let text = """
            {"seed": 2, "data": {"train": {"path": "\(FeatureTrainingTests.data)/iris.csv", "target": "species"}, "task": "classification"},
             "model": {"layers": [{"units": 8, "activation": "tanh"}, {"units": 3}], "loss": "cross_entropy"},
             "optimizer": {"name": "sgd", "lr": 1\(clip)}, "training": {"epochs": 1, "batch_size": 150}}
            """
        let trainer = try Trainer(config: try Config.load(try writeFile(try temporaryDirectory(), "c.json", text)))
        let before = Array(trainer.parameters.values)
        try trainer.fit()
        return (before, Array(trainer.parameters.values))
    }

    @Test func clipNormBoundsTheStep() throws {
        let (free0, free1) = try oneStep("")
        let freeNorm = zip(free0, free1).map { Double($1 - $0) * Double($1 - $0) }.reduce(0, +).squareRoot()
        #expect(freeNorm > 0.01)
        let (a, b) = try oneStep(", \"clip_norm\": 0.01")
        let norm = zip(a, b).map { Double($1 - $0) * Double($1 - $0) }.reduce(0, +).squareRoot()
        #expect(Swift.abs(norm - 0.01) < 1e-6, "step norm \(norm)")
    }

    @Test func clipValueBoundsEachEntry() throws {
        let (a, b) = try oneStep(", \"clip_value\": 0.001")
        let largest = zip(a, b).map { Swift.abs($1 - $0) }.max()!
        #expect(largest <= 0.001 + 1e-7 && largest > 0.0009)
    }
}
