import TestSupport
@testable import DLTrain
import DLData
import Foundation
import Testing

@Suite struct DataPipelineTests {
    static let data = FeatureTrainingTests.data

    func config(_ text: String) throws -> Config { try Config.load(try writeFile(try temporaryDirectory(), "c.json", text)) }

    static let digitsWithEverything = """
        {"seed": 3, "data": {"train": {"path": "\(data)/digits.csv", "target": "label"},
          "validation": {"split": 0.2, "stratify": true}, "task": "classification",
          "preprocess": {"standardize": true},
          "augment": {"noise": 2.0, "mixup": 0.4, "image": {"shape": [8, 8], "flip": true, "translate": 1, "rotate": 15, "scale": 0.1}}},
         "model": {"layers": [{"units": 32, "activation": "relu", "dropout": 0.3}, {"units": 10}], "loss": "cross_entropy"},
         "training": {"epochs": 2, "batch_size": 64}}
        """

    /// Validation metrics are a pure function of the parameters: with heavy augmentation
    /// (noise, mixup, image warps) and dropout on, evaluating twice gives identical numbers,
    /// equal to a run of the same model without any augmentation.
    @Test func augmentationNeverTouchesValidationData() throws {
        let trainer = try Trainer(config: try config(Self.digitsWithEverything))
        try trainer.fit()
        // The trainer's own evaluation batch (256): summation order then matches to the bit.
        let loader = BatchLoader(producer: trainer.data.validation!, batchSize: 256, shuffled: false,
                                 preprocessor: trainer.data.preprocessor, encoding: .oneHot(classes: 10), seed: 0)
        let first = try trainer.evaluate(loader), second = try trainer.evaluate(loader)
        #expect(first == second)
        #expect(trainer.history.last!.metrics["val_loss"] == first["loss"])
        #expect(trainer.history.last!.metrics["val_accuracy"] == first["accuracy"])
    }

    /// The validation split is stratified and disjoint from the training rows.
    @Test func splitsAreDisjointAndStratified() throws {
        let trainer = try Trainer(config: try config(Self.digitsWithEverything.replacingOccurrences(of: "\"validation\"", with: "\"test\": {\"split\": 0.1}, \"validation\"")))
        let train = (trainer.data.train as! InMemoryRows).indices, validation = (trainer.data.validation as! InMemoryRows).indices
        let test = (trainer.data.test as! InMemoryRows).indices
        #expect(Set(train).isDisjoint(with: validation) && Set(train).isDisjoint(with: test) && Set(validation).isDisjoint(with: test))
        #expect(train.count + validation.count + test.count == 1797)
        #expect(validation.count == 360 && test.count == 180)
        // The validation split is stratified over the rows the (unstratified) test split left.
        let labels = (trainer.data.train as! InMemoryRows).dataset.classIndices, pool = train + validation
        for c in 0..<10 {
            let share = Double(pool.filter { labels[$0] == c }.count) / Double(pool.count)
            #expect(Swift.abs(Double(validation.filter { labels[$0] == c }.count) - Double(validation.count) * share) <= 1)
        }
    }

    /// Regression metrics are reported in the target's own units although training uses
    /// standardized targets: the validation MSE equals the mean squared error computed here
    /// from de-standardized predictions.
    @Test func regressionMetricsAreInOriginalUnits() throws {
        let text = """
            {"seed": 1, "data": {"train": {"path": "\(Self.data)/iris-petal-width.csv", "target": "petal_width"},
              "validation": {"split": 0.2}, "task": "regression", "preprocess": {"standardize": true}},
             "model": {"layers": [{"units": 8, "activation": "tanh"}, {"units": 1}], "loss": "mse"},
             "optimizer": {"lr": 0.01}, "training": {"epochs": 30, "batch_size": 16}}
            """
        let trainer = try Trainer(config: try config(text))
        try trainer.fit()
        let p = trainer.data.preprocessor
        #expect(p.targetShift != nil)
        let record = trainer.history.last!
        // val_loss is the MSE of standardized targets: σ² times smaller than in user units.
        let sigma = 1 / Double(p.targetScale![0])
        #expect(Swift.abs(record.metrics["val_mse"]! / (record.metrics["val_loss"]! * sigma * sigma) - 1) < 1e-3)
        #expect(record.metrics["val_mae"]! < 0.5)
    }

    @Test func foldsRotateTheValidationRows() throws {
        let c = try config(Self.digitsWithEverything)
        let a = try TrainingData(config: c, fold: (0, 3)), b = try TrainingData(config: c, fold: (1, 3))
        let va = Set((a.validation as! InMemoryRows).indices), vb = Set((b.validation as! InMemoryRows).indices)
        #expect(va.isDisjoint(with: vb))
        #expect(Swift.abs(va.count - 1797 / 3) <= 1)
        #expect(Set((a.train as! InMemoryRows).indices).isDisjoint(with: va))
    }
}
