@testable import DLTrain
import DLCore
import Foundation
import Testing

/// gradcheck, check, diagnostics.csv and sharpness.
@Suite(.serialized) struct DiagnosticsTests {
    let cli = CLITests()

    static let examples = ["xor", "iris", "digits", "regression", "residual"]

    @Test(arguments: examples)
    func gradcheckPassesOnEveryExampleConfig(_ name: String) throws {
        let r = try cli.run(["gradcheck", "configs/\(name).json"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("parameters pass") && !r.stdout.contains("FAIL"))
    }

    /// A deliberately broken backward rule (ReLU's derivative off by 0.1·sign(x)) is caught,
    /// and the report names the parameters it corrupts.
    @Test func gradcheckCatchesABrokenBackwardRule() throws {
        let r = try cli.run(["gradcheck", "configs/iris.json"], environment: ["DLTRAIN_FAULT": "broken_backward=relu"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("FAIL dense_0/kernel[") && r.stdout.contains("backward rules disagree"))
        let fine = try cli.run(["gradcheck", "configs/iris.json"], environment: ["DLTRAIN_FAULT": "broken_backward=tanh"])
        #expect(fine.status == 0, "a broken op the model does not use changes nothing")
    }

    @Test func gradcheckFallsBackToRandomRows() throws {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-gc-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let config = try String(contentsOf: CLITests.packageRoot.appendingPathComponent("configs/iris.json"), encoding: .utf8)
            .replacingOccurrences(of: "../data/iris.csv", with: "missing.csv")
        try config.write(to: dir.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)
        let r = try cli.run(["gradcheck", "c.json"], in: dir)
        #expect(r.status == 0 && r.stdout.contains("could not be read") && r.stdout.contains("random rows"))
    }

    @Test func checkPassesOnDigitsAndCatchesATinyLearningRate() throws {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-check-\(UUID().uuidString.prefix(6))")
        let good = try cli.run(["check", "configs/digits.json", "--out", out.path])
        #expect(good.status == 0, "\(good.stdout)")
        #expect(good.stdout.contains("all 6 checks pass"))
        for name in ["initial loss", "regularisation raises the loss", "overfit a small sample", "learning-rate range test", "activations at initialisation", "sharpness"] {
            #expect(good.stdout.contains(name))
        }
        let svg = try String(contentsOf: out.appendingPathComponent("lr_range.svg"), encoding: .utf8)
        #expect(svg.contains("learning rate (log scale)") && svg.contains("suggested lr"))
        let slow = try cli.run(["check", "configs/digits.json", "--set", "optimizer.lr=1e-7", "--out", out.path])
        #expect(slow.status == 1)
        #expect(slow.stdout.contains("overfit a small sample") && slow.stdout.contains("not learnt"))
        #expect(slow.stdout.contains("the learning rate (1e-07) is likely too low"))
    }

    /// The lecture's experiment: 0.01·randn in a deep tanh network makes activations vanish.
    @Test func checkFlagsVanishingActivations() throws {
        let layers = (0..<6).map { _ in "{\"units\": 64, \"activation\": \"tanh\", \"init\": {\"name\": \"normal\", \"std\": 0.01}}" }.joined(separator: ",")
        let r = try cli.run(["check", "configs/digits.json", "--set", "model.layers=[\(layers), {\"units\": 10}]", "--set", "model.l2=0",
                             "--set", "model.layers.0.batchnorm=false", "--out", NSTemporaryDirectory() + "dltrain-vanish"])
        #expect(r.stdout.contains("activations shrink layer by layer"), "\(r.stdout)")
    }

    @Test func diagnosticsFileDuringFit() throws {
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-diag-\(UUID().uuidString.prefix(6))")
        #expect(try cli.run(["fit", "configs/digits.json", "--quiet", "--out", out.path, "--set", "training.epochs=4", "--set", "training.sharpness_every=2"]).status == 0)
        let lines = try String(contentsOf: out.appendingPathComponent("diagnostics.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(lines[0] == ["epoch", "layer", "update_ratio", "grad_norm", "weight_norm", "dead_units", "sharpness", "stability_bound"])
        let layers = lines.dropFirst().filter { $0[1] != "(model)" }
        #expect(layers.count == 12)
        for row in layers {
            let ratio = Double(row[2])!
            #expect(ratio > 1e-5 && ratio < 0.1, "\(row)")
            #expect(Double(row[4])! > 0 && (0...1).contains(Double(row[5])!))
        }
        let sharp = lines.filter { $0[1] == "(model)" }
        #expect(sharp.map { $0[0] } == ["2", "4"] && sharp.allSatisfy { Double($0[6])! > 0 && Double($0[7]) == 2000 })
    }

    /// Power iteration on exact Hessian-vector products finds the top eigenvalue of linear
    /// regression's Hessian 2XᵀX/n (computed here by LAPACK) within 1%.
    @Test func sharpnessMatchesTheClosedForm() throws {
        var rng = RandomSource(seed: 5)
        let n = 40, d = 6
        let x = (0..<(n * d)).map { i in rng.normal() * Double(1 + i % d) }  // unequal column scales
        let y = (0..<n).map { _ in rng.normal() }
        let g = Graph()
        let features = try g.input("x", shape: [Shape.batch, d]), target = try g.input("y", shape: [Shape.batch, 1])
        let w = try g.parameter("w", shape: [d, 1])
        let r = try g.sub(try g.matmul(features, w), target)
        let loss = try g.mean(try g.mul(r, r))
        let store = ParameterStore<Double>(for: g)
        let inputs: [NodeID: Tensor<Double>] = [features: try Tensor(shape: [n, d], scalars: x), target: try Tensor(shape: [n, 1], scalars: y)]
        let (lambda, _) = try Diagnostics.sharpness(graph: g, parameters: store, inputs: inputs, loss: loss, rows: n, iterations: 500, tolerance: 1e-10)
        var xtx = x.withUnsafeBufferPointer { LinearAlgebra.gram($0.baseAddress!, rows: n, columns: d) }
        for i in xtx.indices { xtx[i] *= 2 / Double(n) }
        let exact = try LinearAlgebra.symmetricEigen(xtx, n: d).values[0]
        #expect(Swift.abs(lambda - exact) / exact < 0.01, "power iteration \(lambda), exact \(exact)")
    }
}
