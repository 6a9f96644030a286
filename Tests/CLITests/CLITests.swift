import Foundation
import TestSupport
import Testing

/// Runs the built `dltrain` binary as a user would and checks exit codes, files and numbers.
@Suite struct CLITests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The dltrain executable beside the test bundle (both are products of one build).
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["DLTRAIN_BIN"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dltrain").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot.appendingPathComponent(".build/debug/dltrain").path
    }

    typealias Result = ProgramResult

    func run(_ arguments: [String], in directory: URL = CLITests.packageRoot, environment: [String: String] = [:]) throws -> Result {
        try Self.execute(Self.binary, arguments, in: directory, environment: environment)
    }

    /// Runs any program from the package root (see ``runProgram(_:_:in:environment:removing:input:)``).
    static func execute(_ executable: String, _ arguments: [String], in directory: URL = CLITests.packageRoot, environment: [String: String] = [:]) throws -> Result {
        try runProgram(executable, arguments, in: directory, environment: environment)
    }

    func temporary(_ name: String = #function) throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-cli-\(name.filter(\.isLetter))-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The README's demo: XOR to 100% training accuracy, with the run directory's files.
    @Test func fitTrainsXORToFullAccuracy() throws {
        let out = try temporary()
        let r = try run(["fit", "configs/xor.json", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("epoch 300/300"))
        #expect(r.stderr.contains("training accuracy 100.0%"))
        #expect(r.stdout.isEmpty, "progress belongs on stderr")
        let metrics = try String(contentsOf: out.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
        #expect(metrics.first == "epoch,train_loss,train_accuracy,lr,seconds,train_loss_smoothed")
        #expect(metrics.count == 301)
        let last = metrics.last!.split(separator: ",")
        #expect(last[0] == "300" && Double(last[2]) == 1)
        #expect(Double(last[1])! < Double(metrics[1].split(separator: ",")[1])!)
        let summary = try String(contentsOf: out.appendingPathComponent("summary.json"), encoding: .utf8)
        #expect(summary.contains("\"train_accuracy\": 1"))
        let config = try String(contentsOf: out.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(config.contains("\"batch_size\": 4") && config.contains(out.path))
    }

    /// The same config and seed give the same numbers.
    @Test func runsAreReproducible() throws {
        let a = try temporary(), b = try temporary()
        for out in [a, b] { #expect(try run(["fit", "configs/xor.json", "--quiet", "--set", "training.epochs=20", "--out", out.path]).status == 0) }
        // Every column but the wall-clock seconds.
        let read = { (u: URL) in
            try String(contentsOf: u.appendingPathComponent("metrics.csv"), encoding: .utf8).split(separator: "\n")
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).enumerated().filter { $0.offset != 4 }.map(\.element).joined(separator: ",") }
        }
        #expect(try read(a) == read(b))
    }

    @Test func badConfigExitsTwoWithKeyPath() throws {
        let dir = try temporary()
        let bad = try String(contentsOf: Self.packageRoot.appendingPathComponent("configs/xor.json"), encoding: .utf8)
            .replacingOccurrences(of: "\"tanh\"", with: "\"tahn\"")
        try bad.write(to: dir.appendingPathComponent("bad.json"), atomically: true, encoding: .utf8)
        let r = try run(["fit", dir.appendingPathComponent("bad.json").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("model.layers[0].activation"))
        #expect(r.stderr.contains("did you mean \"tanh\""))
        #expect(r.stderr.contains("bad.json:9:"))
    }

    @Test func badDataExitsTwoWithLineAndColumn() throws {
        let dir = try temporary()
        try "x1,x2,y\n0,0,0\n0,one,1\n".write(to: dir.appendingPathComponent("xor.csv"), atomically: true, encoding: .utf8)
        let config = try String(contentsOf: Self.packageRoot.appendingPathComponent("configs/xor.json"), encoding: .utf8)
            .replacingOccurrences(of: "../data/xor.csv", with: "xor.csv")
        try config.write(to: dir.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)
        let r = try run(["fit", "c.json"], in: dir)
        #expect(r.status == 2)
        #expect(r.stderr.contains("xor.csv:3:3"))
        #expect(r.stderr.contains("\"one\""))
    }

    @Test func missingFilesAndBadUsageExitTwo() throws {
        let missing = try run(["fit", "no-such.json"])
        #expect(missing.status == 2 && missing.stderr.contains("no such config file"))
        let noArgument = try run(["fit"])
        #expect(noArgument.status == 2 && noArgument.stderr.contains("Missing expected argument"))
        let unknown = try run(["fitt"])
        #expect(unknown.status == 2)
        let badSet = try run(["fit", "configs/xor.json", "--set", "optimizer.lr=-1"])
        #expect(badSet.status == 2 && badSet.stderr.contains("optimizer.lr"))
    }

    @Test func helpShowsExamplesAndVersionPrints() throws {
        let help = try run(["--help"])
        #expect(help.status == 0 && help.stdout.contains("dltrain fit configs/xor.json"))
        let fitHelp = try run(["fit", "--help"])
        #expect(fitHelp.status == 0 && fitHelp.stdout.contains("--set") && fitHelp.stdout.contains("Example"))
        for command in ["eval", "predict", "inspect", "export", "sweep", "gradcheck", "check", "schema"] {
            let r = try run([command, "--help"])
            #expect(r.status == 0 && r.stdout.contains("Example:\n  dltrain \(command)"), "\(command) --help shows no example")
        }
        let completion = try run(["--generate-completion-script", "bash"])
        #expect(completion.status == 0 && completion.stdout.contains("export") && completion.stdout.contains("--distributed"))
        let version = try run(["--version"])
        #expect(version.status == 0 && version.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0.1.0")
    }

    @Test func schemaIsJSONOnStdout() throws {
        let r = try run(["schema"])
        #expect(r.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(object?["$schema"] as? String == "https://json-schema.org/draft/2020-12/schema")
        #expect((object?["properties"] as? [String: Any])?.keys.sorted() == ["data", "model", "optimizer", "output", "schedule", "seed", "training"])
    }

    /// A diverging run (squared error overflowing float32) stops with exit 1 and says what to try.
    @Test func divergenceExitsOne() throws {
        let dir = try temporary()
        try "x,y\n1,2\n2,4\n3,6\n4,8\n".write(to: dir.appendingPathComponent("line.csv"), atomically: true, encoding: .utf8)
        let config = """
            {"data": {"train": {"path": "line.csv", "target": "y"}, "task": "regression"},
             "model": {"layers": [{"units": 4, "activation": "relu"}, {"units": 1}], "loss": "mse"},
             "optimizer": {"name": "sgd", "lr": 1e6}, "training": {"epochs": 50, "batch_size": 2}}
            """
        try config.write(to: dir.appendingPathComponent("c.json"), atomically: true, encoding: .utf8)
        let r = try run(["fit", "c.json", "--quiet", "--out", dir.appendingPathComponent("run").path], in: dir)
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.contains("learning rate"))
        #expect(r.stderr.contains("epoch"))
    }
}

/// The published schema, checked by an independent implementation: every example config
/// validates against `dltrain schema` (Python's jsonschema, draft 2020-12), and a bad one does not.
@Suite struct SchemaValidationTests {
    @Test func exampleConfigsValidateAgainstTheSchema() throws {
        let schema = try CLITests().run(["schema"])
        #expect(schema.status == 0)
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("dltrain-schema-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let schemaPath = dir.appendingPathComponent("schema.json").path
        try schema.stdout.write(toFile: schemaPath, atomically: true, encoding: .utf8)
        let configs = try FileManager.default.contentsOfDirectory(atPath: CLITests.packageRoot.appendingPathComponent("configs").path)
            .filter { $0.hasSuffix(".json") && !$0.hasSuffix("-sweep.json") }.sorted()
        #expect(configs.count >= 4)
        let bad = dir.appendingPathComponent("bad.json").path
        try #"{"data": {"train": {"path": "x.csv", "target": "y"}, "task": "regression"}, "model": {"layers": [{"units": 0}], "loss": "mse"}}"#
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let script = """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            validator = jsonschema.Draft202012Validator(schema)
            for path in sys.argv[2:-1]:
                errors = list(validator.iter_errors(json.load(open(path))))
                print(path, "valid" if not errors else "INVALID: " + "; ".join(e.message for e in errors))
            print("bad config", "rejected" if list(validator.iter_errors(json.load(open(sys.argv[-1])))) else "ACCEPTED")
            """
        let validation = try CLITests.execute("/usr/bin/env", ["python3", "-c", script, schemaPath] + configs.map { CLITests.packageRoot.appendingPathComponent("configs/\($0)").path } + [bad])
        let text = validation.stdout
        #expect(validation.status == 0, "python jsonschema failed (scripts/setup installs it): \(validation.stderr)")
        let lines = text.split(separator: "\n")
        #expect(lines.count == configs.count + 1)
        for line in lines.dropLast() { #expect(line.hasSuffix(" valid"), "\(line)") }
        #expect(lines.last == "bad config rejected")
    }
}

/// The README's config reference is exactly what `scripts/config-reference` makes of
/// `dltrain schema`, so the documentation cannot fall behind the parser.
@Suite struct ReadmeReferenceTests {
    @Test func readmeReferenceMatchesTheSchema() throws {
        let schema = try CLITests().run(["schema"])
        let reference = try runProgram("/usr/bin/env", ["python3", CLITests.packageRoot.appendingPathComponent("scripts/config-reference").path], input: schema.stdout)
        let generated = reference.stdout
        #expect(reference.status == 0 && generated.contains("| `model.layers[].activation` |"))
        let readme = try String(contentsOf: CLITests.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let start = try #require(readme.range(of: "<!-- config-reference:start -->\n")), end = try #require(readme.range(of: "<!-- config-reference:end -->"))
        #expect(String(readme[start.upperBound..<end.lowerBound]) == generated,
                "README's reference is stale: run `.build/debug/dltrain schema | scripts/config-reference` and paste it between the markers")
    }
}
