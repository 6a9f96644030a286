@testable import DLTrain
import Foundation
import TestSupport
import Testing

/// Imbalance and decisions end to end: class weights, balanced sampling, a chosen threshold
/// and temperature scaling through fit, the checkpoint, eval, predict, ONNX and explain; the
/// plots rendered to PNG; every mistake an exit 2 with a clear message.
@Suite(.serialized) struct DecisionsCLITests {
    let cli = CLITests()

    /// Loan defaults, about 9% "yes": debt raises the odds, income lowers them, the south is
    /// riskier, and `noise` is pure noise. Deterministic (a fixed LCG).
    static func loans(rows: Int = 900, seed: UInt64 = 5) -> String {
        var state = seed
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        func normal() -> Double { (-2 * Foundation.log(Swift.max(uniform(), 1e-300))).squareRoot() * Foundation.cos(2 * Double.pi * uniform()) }
        let regions = ["north", "south", "east", "west"]
        var text = "default,income,debt,region,noise\n"
        for _ in 0..<rows {
            let income = 50 + 15 * normal(), debt = 20 + 8 * normal(), region = regions[Int(uniform() * 4) % 4]
            let z = -3.4 + 0.2 * (debt - 20) - 0.08 * (income - 50) + (region == "south" ? 1 : 0)
            let label = uniform() < 1 / (1 + Foundation.exp(-z)) ? "yes" : "no"
            text += "\(label),\(String(format: "%.1f", income)),\(String(format: "%.1f", debt)),\(region),\(String(format: "%.4f", uniform()))\n"
        }
        return text
    }

    /// rsvg-convert renders `svg` to PNG: the picture is well-formed and non-empty.
    static func renders(_ svg: String) throws -> Bool {
        let png = svg + ".png"
        let r = try runProgram("/usr/bin/env", ["rsvg-convert", svg, "-o", png])
        guard r.status == 0, let size = try? FileManager.default.attributesOfItem(atPath: png)[.size] as? Int else {
            Issue.record("rsvg-convert \(svg): \(r.stderr)")
            return false
        }
        return size > 2000
    }

    /// An ensemble whose members stored different thresholds decides at the first's and says
    /// so (text, JSON, predict); `--threshold` chooses and silences it; agreeing members say nothing.
    @Test func ensembleSaysWhichThresholdDecides() throws {
        let dir = try temporaryDirectory()
        let data = try writeFile(dir, "loans.csv", Self.loans(rows: 400))
        for (name, t) in [("low", "0.3"), ("high", "0.6")] {
            let fit = try cli.run(["fit", data, "--target", "default", "--out", dir + "/" + name, "--quiet",
                                   "--set", "training.threshold=\(t)", "--set", "training.epochs=2"])
            #expect(fit.status == 0, "\(fit.stderr)")
        }
        let low = dir + "/low/checkpoints/last.h5", high = dir + "/high/checkpoints/last.h5"
        let note = "the members' stored thresholds differ (0.3, 0.6): the ensemble decides at the first's (0.3); --threshold T decides at T"
        let text = try cli.run(["eval", low, high, "--data", data])
        #expect(text.status == 0 && text.stdout.contains(note), "\(text.stdout)")
        let json = try JSON.parse(try cli.run(["eval", low, high, "--data", data, "--json"]).stdout)
        #expect(json["threshold"]?.number == 0.3)
        #expect(json["member_thresholds"]?.items?.compactMap(\.number) == [0.3, 0.6])
        let predicted = try cli.run(["predict", low, high, "--data", data, "--out", dir + "/p.csv"])
        #expect(predicted.status == 0 && predicted.stderr.contains(note), "\(predicted.stderr)")
        let chosen = try cli.run(["eval", low, high, "--data", data, "--threshold", "0.5", "--json"])
        #expect(!chosen.stdout.contains("member_thresholds") && !chosen.stderr.contains("differ"))
        let agreeing = try cli.run(["eval", low, low, "--data", data])
        #expect(!agreeing.stdout.contains("thresholds differ"), "\(agreeing.stdout)")
    }

    @Test func calibratedThresholdedModelEndToEnd() throws {
        let dir = try temporaryDirectory()
        let data = try writeFile(dir, "loans.csv", Self.loans())
        let fit = try cli.run(["fit", data, "--target", "default", "--out", dir + "/run", "--set", "training.calibration=temperature",
                               "--set", "training.threshold=f1", "--set", "training.class_weight.yes=2"])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(fit.stderr.contains("training.calibration temperature: T = ") && fit.stderr.contains("training.threshold f1: "), "\(fit.stderr)")
        let summary = try JSON.parse(String(contentsOfFile: dir + "/run/summary.json", encoding: .utf8))
        let decisions = try #require(summary["decisions"])
        let threshold = try #require(decisions["threshold"]?.number), temperature = try #require(decisions["temperature"]?.number)
        #expect(threshold > 0 && threshold < 1 && temperature > 0 && decisions["threshold_rule"]?.string == "f1")
        // The fitted temperature does not raise the validation log loss it minimises.
        #expect(try #require(decisions["validation"]?["log_loss_after"]?.number) <= (decisions["validation"]?["log_loss_before"]?.number ?? 0) + 1e-12)
        #expect(try Self.renders(dir + "/run/calibration.svg"))

        // Both checkpoints carry the decisions (best.h5 holds the restored best weights).
        let best = dir + "/run/checkpoints/best.h5"
        for path in [best, dir + "/run/checkpoints/last.h5"] {
            let d = try Checkpoint.read(path).decisions
            #expect(d.threshold == threshold && d.temperature == temperature, "\(path): \(d)")
        }
        let inspect = try cli.run(["inspect", best])
        #expect(inspect.stdout.contains("decisions: temperature ") && inspect.stdout.contains("chosen for f1 on the validation split"), "\(inspect.stdout)")
        // eval decides at the stored threshold; --threshold overrides it.
        let eval = try JSON.parse(try cli.run(["eval", best, "--data", data, "--json"]).stdout)
        #expect(eval["threshold"]?.number == threshold && eval["mcc"]?.number != nil && eval["pr_auc"]?.number != nil)
        let strict = try JSON.parse(try cli.run(["eval", best, "--data", data, "--json", "--threshold", "0.95"]).stdout)
        #expect(strict["threshold"]?.number == 0.95)
        #expect((strict["per_class"]?["yes"]?["recall"]?.number ?? 1) <= (eval["per_class"]?["yes"]?["recall"]?.number ?? 0))

        // predict writes the decided class: "yes" exactly where p(yes) ≥ the threshold.
        #expect(try cli.run(["predict", best, "--data", data, "--out", dir + "/p.csv"]).status == 0)
        let lines = try String(contentsOfFile: dir + "/p.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        var positives = 0
        for line in lines {
            let fields = line.split(separator: ",")
            let decided = fields[0] == "yes", probability = Float(fields[2])!
            #expect(decided == (probability >= Float(threshold)), "\(line)")
            if decided { positives += 1 }
        }
        #expect(positives > 0 && positives < lines.count)
        // ONNX: the tempered probabilities and the thresholded label, as predict's.
        #expect(try cli.run(["export", best, "--format", "onnx", "--out", dir + "/m.onnx"]).status == 0)
        #expect(try TableCLITests.onnxDifference(dir + "/m.onnx", data: data, predictions: dir + "/p.csv") < 1e-5)

        // eval --plots: four pictures that render.
        let plotted = try cli.run(["eval", best, "--data", data, "--plots", dir + "/plots"])
        #expect(plotted.status == 0 && plotted.stdout.contains("plots: "), "\(plotted.stderr)")
        for name in ["roc", "pr", "calibration", "confusion"] { #expect(try Self.renders(dir + "/plots/\(name).svg"), "\(name).svg") }

        // explain: the noise column ranks in the bottom half; the same seed gives the same numbers.
        let explain = try cli.run(["explain", best, "--data", data, "--json", "--repeats", "4", "--plot", dir + "/importance.svg"])
        #expect(explain.status == 0, "\(explain.stderr)")
        let ranked = try JSON.parse(explain.stdout)
        let columns = try #require(ranked["importances"]?.items?.compactMap { $0["column"]?.string })
        #expect(Set(columns) == ["income", "debt", "region", "noise"], "\(columns)")
        #expect(columns.firstIndex(of: "noise")! >= 2 && columns[0] == "debt", "\(columns)")
        #expect(ranked["importances"]?.items?.first?["drops"]?.items?.count == 4)
        #expect(try Self.renders(dir + "/importance.svg"))
        #expect(try cli.run(["explain", best, "--data", data, "--json", "--repeats", "4", "--plot", dir + "/again.svg"]).stdout == explain.stdout)
        let auc = try JSON.parse(try cli.run(["explain", best, "--data", data, "--json", "--metric", "roc_auc", "--repeats", "2", "--plot", dir + "/auc.svg"]).stdout)
        #expect(auc["metric"]?.string == "roc_auc" && (auc["baseline"]?.number ?? 0) > 0.7)
    }

    /// Balanced weights and balanced sampling each find more of the rare class than the plain run.
    @Test func weightsAndSamplingRaiseTheMinorityRecall() throws {
        let dir = try temporaryDirectory()
        let data = try writeFile(dir, "loans.csv", Self.loans(rows: 1200, seed: 9))
        func recall(_ name: String, _ settings: [String]) throws -> Double {
            let fit = try cli.run(["fit", data, "--target", "default", "--out", dir + "/" + name, "--quiet", "--set", "training.threads=1"] + settings.flatMap { ["--set", $0] })
            try #require(fit.status == 0, "\(fit.stderr)")
            let eval = try JSON.parse(try cli.run(["eval", dir + "/\(name)/checkpoints/best.h5", "--data", data, "--split", "validation", "--json"]).stdout)
            return try #require(eval["per_class"]?["yes"]?["recall"]?.number)
        }
        let plain = try recall("plain", [])
        #expect(try recall("weighted", ["training.class_weight=balanced"]) > plain)
        #expect(try recall("sampled", ["training.sampling=balanced"]) > plain)
    }

    /// Balanced sampling and class weights resume bit for bit.
    @Test func balancedSamplingResumesExactly() throws {
        let dir = try temporaryDirectory()
        _ = try writeFile(dir, "loans.csv", Self.loans(rows: 400))
        let config = try writeFile(dir, "balanced.json", """
            {"data": {"train": {"path": "loans.csv", "target": "default"}, "validation": {"split": 0.2, "stratify": true}},
             "training": {"epochs": 6, "batch_size": 16, "threads": 1, "sampling": "balanced", "class_weight": "balanced"}}
            """)
        #expect(try cli.run(["fit", config, "--out", dir + "/full", "--quiet"]).status == 0)
        #expect(try cli.run(["fit", config, "--out", dir + "/half", "--quiet", "--set", "training.epochs=3"]).status == 0)
        let resumed = try cli.run(["fit", config, "--resume", dir + "/half/checkpoints/last.h5", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Checkpoint.read(dir + "/full/checkpoints/last.h5"), b = try Checkpoint.read(dir + "/half/checkpoints/last.h5")
        for (name, p) in a.parameters { #expect(p.values == b.parameters[name]?.values, "\(name) differs after the resume") }
    }

    /// Every mistake about decisions: exit 2 with the place, what was found and what to do.
    @Test(arguments: [
        ("threshold outside (0, 1)", ["--set", "training.threshold=1.5"], ["training.threshold", "expected a number > 0 and < 1"]),
        ("threshold rule unknown", ["--set", "training.threshold=\"recall\""], ["training.threshold", "\"f1\", \"balanced_accuracy\""]),
        ("class not in the data", ["--set", "training.class_weight.ye=3"], ["training.class_weight.ye", "did you mean \"yes\"?"]),
        ("calibration without validation", ["--set", "training.early_stopping=false", "--set", "training.calibration=temperature"],
         ["training.calibration", "no", "validation"]),
        ("chosen threshold without validation", ["--set", "training.early_stopping=false", "--set", "training.threshold=f1"],
         ["training.threshold", "chooses the threshold on the validation split", "give the threshold as a number"]),
        ("weights for a regression loss", ["--set", "data.task=regression", "--set", "training.class_weight=balanced"], ["training.class_weight"]),
    ])
    func badDecisionsExitTwo(_ what: String, _ settings: [String], _ expected: [String]) throws {
        let dir = try temporaryDirectory()
        let data = try writeFile(dir, "loans.csv", Self.loans(rows: 200))
        let r = try cli.run(["fit", data, "--target", "default", "--out", dir + "/run", "--quiet"] + settings)
        #expect(r.status == 2, "\(what): \(r.stderr)")
        for text in expected { #expect(r.stderr.contains(text), "\(what): \(r.stderr)") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/run/checkpoints"), "\(what): a refused fit wrote a run")
    }

    /// A threshold on a task that is not binary (config and --threshold), explain without the
    /// target or with an unknown metric.
    @Test func notBinaryAndNoTargetAreRefused() throws {
        let dir = try temporaryDirectory()
        let penguins = try writeFile(dir, "penguins.csv", TableCLITests.penguins())
        let multiclass = try cli.run(["fit", penguins, "--target", "species", "--out", dir + "/x", "--set", "training.threshold=0.3"])
        #expect(multiclass.status == 2 && multiclass.stderr.contains("training.threshold") && multiclass.stderr.contains("binary tasks"), "\(multiclass.stderr)")
        #expect(try cli.run(["fit", penguins, "--target", "species", "--out", dir + "/run", "--quiet", "--set", "training.epochs=3"]).status == 0)
        let best = dir + "/run/checkpoints/best.h5"
        let eval = try cli.run(["eval", best, "--data", penguins, "--threshold", "0.3"])
        #expect(eval.status == 2 && eval.stderr.contains("--threshold applies to binary tasks"), "\(eval.stderr)")
        let unlabelled = try writeFile(dir, "new.csv", "island,bill_length_mm,flipper_length_mm,body_mass_g,sex,year\nDream,40,190,3500,male,2008\n")
        let noTarget = try cli.run(["explain", best, "--data", unlabelled, "--plot", dir + "/i.svg"])
        #expect(noTarget.status == 2 && noTarget.stderr.contains("species"), "\(noTarget.stderr)")
        let metric = try cli.run(["explain", best, "--data", penguins, "--metric", "r3", "--plot", dir + "/i.svg"])
        #expect(metric.status == 2 && metric.stderr.contains("--metric r3") && metric.stderr.contains("accuracy"), "\(metric.stderr)")
        let loans = try writeFile(dir, "loans.csv", Self.loans(rows: 200))
        #expect(try cli.run(["fit", loans, "--target", "default", "--out", dir + "/binary", "--quiet", "--set", "training.epochs=2"]).status == 0)
        let outside = try cli.run(["predict", dir + "/binary/checkpoints/best.h5", "--data", loans, "--out", dir + "/p.csv", "--threshold", "1"])
        #expect(outside.status == 2 && outside.stderr.contains("--threshold 1.0 is outside (0, 1)"), "\(outside.stderr)")
    }
}
