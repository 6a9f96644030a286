import DLOptim
import TestSupport
@testable import DLTrain
import Foundation
import Testing

/// The one optimizer factory: every key of `optimizer.*` reaches the optimizer, unset keys take
/// the optimizer's own defaults, and the checks get the same optimizer as fit.
@Suite struct OptimizerFactoryTests {
    func settings(_ optimizer: String) throws -> Config.OptimizerSettings {
        let dir = try temporaryDirectory()
        let text = """
            {"data": {"train": {"path": "train.csv", "target": "y"}, "task": "classification"},
             "model": {"layers": [{"units": 3}], "loss": "cross_entropy"}, "optimizer": \(optimizer)}
            """
        return try Config.load(try writeFile(dir, "c.json", text)).optimizer
    }

    @Test func adamwIsDecoupledWithItsDefaultDecay() throws {
        let adam = try #require(OptimizerFactory.firstOrder(try settings(#"{"name": "adamw"}"#), parameterCount: 4, spans: [0..<4]) as? Adam)
        #expect(adam.decoupled && adam.weightDecay == Adam.defaultDecoupledWeightDecay && adam.epsilon == Adam.defaultEpsilon)
        let coupled = try #require(OptimizerFactory.firstOrder(try settings(#"{"name": "adam"}"#), parameterCount: 4, spans: [0..<4]) as? Adam)
        #expect(!coupled.decoupled && coupled.weightDecay == 0)
    }

    @Test func everyKeyReachesTheOptimizer() throws {
        let adam = try #require(OptimizerFactory.firstOrder(try settings(#"{"name": "adamw", "eps": 0.001, "weight_decay": 0.2, "betas": [0.5, 0.6]}"#),
                                                            parameterCount: 4, spans: [0..<4]) as? Adam)
        #expect(adam.epsilon == 0.001 && adam.weightDecay == 0.2 && adam.beta1 == 0.5 && adam.beta2 == 0.6)
        let rms = try #require(OptimizerFactory.firstOrder(try settings(#"{"name": "rmsprop", "eps": 0.01, "decay": 0.5, "weight_decay": 0.1}"#),
                                                           parameterCount: 4, spans: [0..<4]) as? RMSProp)
        #expect(rms.epsilon == 0.01 && rms.decay == 0.5 && rms.weightDecay == 0.1)
        let ada = try #require(OptimizerFactory.firstOrder(try settings(#"{"name": "adagrad"}"#), parameterCount: 4, spans: [0..<4]) as? AdaGrad)
        #expect(ada.epsilon == AdaGrad.defaultEpsilon)
    }

    /// `check` used to build its own optimizers, without eps and weight decay and with AdamW
    /// as coupled Adam; now it takes fit's, and Adam only in place of L-BFGS.
    @Test func checksTakeFitsOptimizer() throws {
        let adamw = try settings(#"{"name": "adamw", "eps": 0.001}"#)
        let checked = try #require(OptimizerFactory.firstOrderOrAdam(adamw, parameterCount: 4, spans: [0..<4]) as? Adam)
        #expect(checked.decoupled && checked.epsilon == 0.001)
        let lbfgs = try settings(#"{"name": "lbfgs"}"#)
        #expect(OptimizerFactory.firstOrderOrAdam(lbfgs, parameterCount: 4, spans: [0..<4]) is Adam)
        guard case .lbfgs = OptimizerFactory.make(lbfgs, parameterCount: 4, spans: [0..<4]) else {
            Issue.record("lbfgs built as a first-order optimizer")
            return
        }
    }
}
