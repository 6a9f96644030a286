@testable import DLTrain
import Foundation
import TestSupport
import Testing

/// Raw tables end to end: a penguins-like table (text categories, empty cells, a year) from
/// nothing more than the file and the target, predictions on unseen levels and gaps, and every
/// mistake about columns an exit 2 with a clear message.
@Suite(.serialized) struct TableCLITests {
    let cli = CLITests()

    /// Species from island, bill length, flipper length, mass, sex and year, with gaps; the
    /// species is mostly the island's and the bill's. Deterministic (a fixed LCG).
    static func penguins(rows: Int = 300, seed: UInt64 = 1) -> String {
        var state = seed
        func uniform() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let islands = ["Torgersen", "Biscoe", "Dream"], species = ["Adelie", "Gentoo", "Chinstrap"]
        var text = "species,island,bill_length_mm,flipper_length_mm,body_mass_g,sex,year\n"
        for r in 0..<rows {
            let s = r % 3
            let island = uniform() < 0.8 ? islands[s] : islands[Int(uniform() * 3) % 3]
            let bill = 38 + Double(s) * 6 + uniform() * 4
            let flipper = 190 + Double(s) * 12 + uniform() * 10
            let mass = 3500 + Double(s) * 800 + uniform() * 400
            let sex = uniform() < 0.5 ? "male" : "female"
            text += "\(species[s]),\(island),\(uniform() < 0.05 ? "" : String(format: "%.1f", bill)),\(String(format: "%.0f", flipper)),"
            text += "\(uniform() < 0.05 ? "NA" : String(format: "%.0f", mass)),\(uniform() < 0.05 ? "" : sex),\(2007 + r % 3)\n"
        }
        return text
    }

    func directory() throws -> String { try temporaryDirectory() }

    /// onnxruntime on `data`'s raw columns against predict's file (Tests/python/onnx_table_check.py):
    /// the largest difference, relative to max(1, |value|).
    static func onnxDifference(_ model: String, data: String, predictions: String) throws -> Double {
        let script = CLITests.packageRoot.appendingPathComponent("Tests/python/onnx_table_check.py").path
        let r = try runProgram("/usr/bin/env", ["python3", script, model, data, predictions])
        guard r.status == 0, let result = try? JSON.parse(r.stdout), let difference = result["max_rel_diff"]?.number else {
            Issue.record("onnx_table_check failed: \(r.stderr)")
            return .infinity
        }
        // A classifier's label output must be predict's decided class on every row.
        if let mismatches = result["label_mismatches"]?.number, mismatches > 0 { return .infinity }
        return difference
    }

    @Test func penguinsTrainFromTheFileAndTargetAndPredictUnseenLevels() throws {
        let dir = try directory()
        let data = try writeFile(dir, "penguins.csv", Self.penguins())
        let fit = try cli.run(["fit", data, "--target", "species", "--out", dir + "/run"])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(fit.stderr.contains("data.task: classification (the target \"species\" holds 3 text values)"), "\(fit.stderr)")
        let summary = try JSON.parse(String(contentsOfFile: dir + "/run/summary.json", encoding: .utf8))
        let accuracy = try #require(summary["best"]?["val_accuracy"]?.number)
        #expect(accuracy > 0.9, "validation accuracy \(accuracy)")
        // The run's config spells out the column types and the chosen defaults.
        let config = try JSON.parse(String(contentsOfFile: dir + "/run/config.json", encoding: .utf8))
        #expect(config["data"]?["columns"]?["island"]?.string == "category" && config["data"]?["columns"]?["year"]?.string == "numeric")
        #expect(config["model"]?["layers"]?.items?.count == 3 && config["training"]?["early_stopping"] != nil)

        // inspect lists every column: type, inputs, handling, levels, fill values.
        let inspect = try cli.run(["inspect", dir + "/run/checkpoints/best.h5"])
        #expect(inspect.status == 0 && inspect.stdout.contains("columns of the table"), "\(inspect.stderr)")
        #expect(inspect.stdout.contains("island") && inspect.stdout.contains("one-hot; 3 levels") && inspect.stdout.contains("missing: mean (fill"), "\(inspect.stdout)")

        // The same from a config of two keys.
        let two = try writeFile(dir, "two.json", #"{"data": {"train": {"path": "penguins.csv", "target": "species"}}}"#)
        #expect(try cli.run(["fit", two, "--out", dir + "/two", "--quiet"]).status == 0)

        // New rows: an island never seen, empty cells, an extra column, no target.
        let fresh = try writeFile(dir, "new.csv", """
            island,bill_length_mm,flipper_length_mm,body_mass_g,sex,year,comment
            Atlantis,39.0,191,3600,male,2008,first
            Biscoe,,215,,,2009,second
            Dream,50.1,205,4400,female,2007,third
            """)
        let predict = try cli.run(["predict", dir + "/run/checkpoints/best.h5", "--data", fresh, "--out", dir + "/p.csv"])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(predict.stderr.contains("column \"island\": 1 row with a level unseen in training"), "\(predict.stderr)")
        #expect(predict.stderr.contains("ignored columns the model does not read: comment"))
        let lines = try String(contentsOfFile: dir + "/p.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4 && lines[0] == "predicted,probability_Adelie,probability_Chinstrap,probability_Gentoo")
        // ONNX: one input per raw column, the encoding in the graph; onnxruntime on the raw
        // rows (unseen level and gaps included) matches predict to 1e-5.
        let onnx = try cli.run(["export", dir + "/run/checkpoints/best.h5", "--format", "onnx", "--out", dir + "/m.onnx"])
        #expect(onnx.status == 0 && onnx.stderr.contains("one input per column"), "\(onnx.stderr)")
        #expect(try Self.onnxDifference(dir + "/m.onnx", data: fresh, predictions: dir + "/p.csv") < 1e-5)
        #expect(try cli.run(["predict", dir + "/run/checkpoints/best.h5", "--data", data, "--out", dir + "/all.csv"]).status == 0)
        #expect(try Self.onnxDifference(dir + "/m.onnx", data: data, predictions: dir + "/all.csv") < 1e-5)
        #expect(try cli.run(["export", dir + "/run/checkpoints/best.h5", "--format", "safetensors", "--out", dir + "/m.safetensors"]).status == 0)

        // eval --json reports the unseen levels too.
        let labelled = try writeFile(dir, "labelled.csv", "species,island,bill_length_mm,flipper_length_mm,body_mass_g,sex,year\nAdelie,Atlantis,39.0,191,3600,male,2008\nGentoo,Biscoe,,215,,,2009\n")
        let eval = try cli.run(["eval", dir + "/run/checkpoints/best.h5", "--data", labelled, "--json"])
        #expect(eval.status == 0, "\(eval.stderr)")
        let metrics = try JSON.parse(eval.stdout)
        #expect(metrics["unseen_levels"]?["island"]?.number == 1 && metrics["n"]?.number == 2)
        // A trained column missing from the file is named.
        let short = try writeFile(dir, "short.csv", "island,bill_length_mm\nDream,40\n")
        let refused = try cli.run(["predict", dir + "/run/checkpoints/best.h5", "--data", short, "--out", dir + "/q.csv"])
        #expect(refused.status == 2 && refused.stderr.contains("has no column \"flipper_length_mm\", which the model was trained on"), "\(refused.stderr)")
    }

    /// eval and predict read a raw table a piece at a time (memory stays at a piece): in
    /// pieces of a few hundred bytes they print and write exactly what they do in one piece,
    /// unseen levels and rows without a target counted over the whole file.
    @Test func evalAndPredictReadATableInPieces() throws {
        let dir = try directory()
        let data = try writeFile(dir, "penguins.csv", Self.penguins())
        let fit = try cli.run(["fit", data, "--target", "species", "--out", dir + "/run", "--set", "training.epochs=5", "--quiet"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let checkpoint = dir + "/run/checkpoints/best.h5"
        var lines = Self.penguins(rows: 500, seed: 7).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for r in stride(from: 1, to: 500, by: 23) { lines[r] = lines[r].replacingOccurrences(of: ",Dream,", with: ",Atlantis,").replacingOccurrences(of: ",Biscoe,", with: ",Atlantis,") }
        for r in 200..<260 { lines[r] = "," + lines[r].drop { $0 != "," }.dropFirst() }
        let held = try writeFile(dir, "held.csv", lines.joined(separator: "\n"))
        let unseen = lines.dropFirst().filter { $0.contains(",Atlantis,") && !$0.hasPrefix(",") }.count
        #expect(unseen > 5)

        let whole = try Evaluation.evaluate(checkpoints: [checkpoint], path: held, split: nil, topK: nil, chunkBytes: 1 << 30)
        let pieces = try Evaluation.evaluate(checkpoints: [checkpoint], path: held, split: nil, topK: nil, chunkBytes: 300)
        #expect(pieces.text == whole.text && pieces.json == whole.json)
        #expect(whole.json["rows_without_target"]?.number == 60 && whole.json["n"]?.number == 440, "\(whole.text)")
        #expect(whole.json["unseen_levels"]?["island"]?.number == Double(unseen), "\(whole.text)")

        let one = try Evaluation.predict(checkpoints: [checkpoint], path: held, output: dir + "/one.csv", chunkBytes: 1 << 30)
        let many = try Evaluation.predict(checkpoints: [checkpoint], path: held, output: dir + "/many.csv", chunkBytes: 300)
        #expect(one.rows == 500 && many.rows == 500 && one.notes == many.notes)
        #expect(try String(contentsOfFile: dir + "/one.csv", encoding: .utf8) == String(contentsOfFile: dir + "/many.csv", encoding: .utf8))
    }

    @Test func aRegressionTargetWithGapsDropsThoseRowsAndSaysSo() throws {
        let dir = try directory()
        var text = "y,a,b\n"
        for r in 0..<200 { text += (r % 5 == 0 ? "" : "\(Double(r) * 0.5 + 0.25)") + ",\(r),\(r % 2 == 0 ? "even" : "odd")\n" }
        let data = try writeFile(dir, "gaps.csv", text)
        let fit = try cli.run(["fit", data, "--target", "y", "--out", dir + "/run", "--set", "training.epochs=5"])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(fit.stderr.contains("40 of 200 rows have no \"y\" (the target) and are left out"), "\(fit.stderr)")
        #expect(fit.stderr.contains("data.task: regression (the target \"y\" holds numbers with fractions)"))
    }

    @Test func anEmbeddedColumnTrainsAndResumesExactly() throws {
        let dir = try directory()
        _ = try writeFile(dir, "penguins.csv", Self.penguins())
        let config = try writeFile(dir, "embed.json", """
            {"data": {"train": {"path": "penguins.csv", "target": "species"},
                      "columns": {"island": {"type": "category", "encoding": "embedding", "embedding_dim": 3}}},
             "training": {"epochs": 6, "batch_size": 16, "threads": 1}}
            """)
        #expect(try cli.run(["fit", config, "--out", dir + "/full", "--quiet"]).status == 0)
        #expect(try cli.run(["fit", config, "--out", dir + "/half", "--quiet", "--set", "training.epochs=3"]).status == 0)
        let resumed = try cli.run(["fit", config, "--resume", dir + "/half/checkpoints/last.h5", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Checkpoint.read(dir + "/full/checkpoints/last.h5"), b = try Checkpoint.read(dir + "/half/checkpoints/last.h5")
        let table = try #require(a.parameters["embedding_0/table"])
        #expect(table.shape == [5, 3])  // Torgersen, Biscoe, Dream, then "other" and "(missing)"
        for (name, p) in a.parameters { #expect(p.values == b.parameters[name]?.values, "\(name) differs after the resume") }
        // The embedding exports to ONNX as a Gather from the learned table.
        #expect(try cli.run(["export", dir + "/full/checkpoints/last.h5", "--format", "onnx", "--out", dir + "/e.onnx"]).status == 0)
        #expect(try cli.run(["predict", dir + "/full/checkpoints/last.h5", "--data", dir + "/penguins.csv", "--out", dir + "/e.csv"]).status == 0)
        #expect(try Self.onnxDifference(dir + "/e.onnx", data: dir + "/penguins.csv", predictions: dir + "/e.csv") < 1e-5)
    }

    /// `data.preprocess` (here PCA) transforms the numeric block alone; the one-hot block and
    /// the embedding index pass through, in training, predict and the ONNX graph alike.
    @Test func preprocessProjectsTheNumericBlockOnly() throws {
        let dir = try directory()
        _ = try writeFile(dir, "penguins.csv", Self.penguins())
        let config = try writeFile(dir, "pca.json", """
            {"data": {"train": {"path": "penguins.csv", "target": "species"},
                      "columns": {"island": {"type": "category", "encoding": "embedding", "embedding_dim": 2}},
                      "preprocess": {"standardize": true, "pca": {"components": 2}}},
             "training": {"epochs": 8, "batch_size": 16}}
            """)
        let fit = try cli.run(["fit", config, "--out", dir + "/run"])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(fit.stderr.contains("PCA keeps 2 of 4 components"), "\(fit.stderr)")
        let checkpoint = try Checkpoint.read(dir + "/run/checkpoints/best.h5")
        let p = checkpoint.preprocessor, table = try #require(checkpoint.table)
        // bill, flipper, mass, year are the numeric block; sex's 4 one-hot inputs and island's index pass through.
        #expect(table.numericWidth == 4 && p.transformedColumns == 4 && p.passthroughColumns == 5 && p.outputColumns == 7)
        #expect(checkpoint.featureNames.suffix(5) == ["sex=male", "sex=female", "sex=(other)", "sex=(missing)", "island (embedding index)"]
                || checkpoint.featureNames.suffix(5) == ["sex=female", "sex=male", "sex=(other)", "sex=(missing)", "island (embedding index)"],
                "\(checkpoint.featureNames)")
        #expect(try cli.run(["predict", dir + "/run/checkpoints/best.h5", "--data", dir + "/penguins.csv", "--out", dir + "/p.csv"]).status == 0)
        #expect(try cli.run(["export", dir + "/run/checkpoints/best.h5", "--format", "onnx", "--out", dir + "/m.onnx"]).status == 0)
        #expect(try Self.onnxDifference(dir + "/m.onnx", data: dir + "/penguins.csv", predictions: dir + "/p.csv") < 1e-5)
        // A checkpoint of the earlier layout (inputs in column order, no "layout" stored) whose
        // one-hot block came before a number is refused, not misread.
        let old = dir + "/old.h5"
        try FileManager.default.copyItem(atPath: dir + "/run/checkpoints/best.h5", toPath: old)
        let strip = "import h5py, json, numpy; f = h5py.File('\(old)', 'r+'); t = json.loads(bytes(f['meta/table.json'][()])); del t['layout']; "
            + "del f['meta/table.json']; f['meta/table.json'] = numpy.frombuffer(json.dumps(t).encode(), dtype=numpy.uint8)"
        #expect(try runProgram("/usr/bin/env", ["python3", "-c", strip]).status == 0)
        let stale = try cli.run(["predict", old, "--data", dir + "/penguins.csv", "--out", dir + "/old.csv"])
        #expect(stale.status == 2 && stale.stderr.contains("earlier dltrain") && stale.stderr.contains("Retrain"), "\(stale.stderr)")
        // A table of categories alone has no numeric block to project.
        _ = try writeFile(dir, "words.csv", "y,a,b\n" + (0..<60).map { "\($0 % 2),\(["x", "y", "z"][$0 % 3]),\(["u", "v"][$0 % 2])" }.joined(separator: "\n") + "\n")
        let refused = try cli.run(["fit", dir + "/words.csv", "--target", "y", "--out", dir + "/w", "--set", "data.preprocess.standardize=true"])
        #expect(refused.status == 2 && refused.stderr.contains("data.preprocess") && refused.stderr.contains("has none"), "\(refused.stderr)")
    }

    /// A regression table (a target in the hundreds, standardized in training), and a date
    /// column in every form CivilDate reads (a time with "T" or a space, seconds with a
    /// decimal point or comma, zones Z, ±HH, ±HHMM, ±HH:MM, gaps), parsed in the ONNX graph.
    @Test func regressionAndDatesExportToONNX() throws {
        let dir = try directory()
        var text = "price,size,kind\n"
        for r in 0..<300 { text += "\(200 + r * 3 + (r % 7) * 11),\(r % 2 == 0 ? "" : String(r)),\(["a", "b", "c"][r % 3])\n" }
        let data = try writeFile(dir, "prices.csv", text)
        #expect(try cli.run(["fit", data, "--target", "price", "--out", dir + "/run", "--quiet", "--set", "training.epochs=20"]).status == 0)
        #expect(try cli.run(["export", dir + "/run/checkpoints/best.h5", "--format", "onnx", "--out", dir + "/r.onnx"]).status == 0)
        #expect(try cli.run(["predict", dir + "/run/checkpoints/best.h5", "--data", data, "--out", dir + "/r.csv"]).status == 0)
        #expect(try Self.onnxDifference(dir + "/r.onnx", data: data, predictions: dir + "/r.csv") < 1e-5)

        let forms = ["", "T07:05", " 23:59:59", "T00:00:00Z", "T12:30:15.25+01:00", "T06:45:00,5-0530", "T18:00-05", "T23:59:60+14:00", "T00:01-12:00", "NA"]
        var dated = "price,size,when\n"
        for r in 0..<300 {
            let day = String(format: "%04d-%02d-%02d", 1900 + (r * 37) % 200, 1 + r % 12, 1 + (r * 7) % 28)
            let cell = r % 13 == 0 ? "" : (forms[r % forms.count] == "NA" ? "NA" : day + forms[r % forms.count])
            dated += "\(100 + r % 50 + (r % 7) * 9),\(r % 10),\"\(cell)\"\n"
        }
        dated += "150,3,2000-02-29T12:00\n150,3,1900-03-01\n150,4,2024-12-31T23:59:59.999-00:30\n"
        let dates = try writeFile(dir, "dates.csv", dated)
        let fit = try cli.run(["fit", dates, "--target", "price", "--out", dir + "/dated", "--quiet", "--set", "training.epochs=10", "--set", "data.columns.when=date"])
        #expect(fit.status == 0, "\(fit.stderr)")
        let export = try cli.run(["export", dir + "/dated/checkpoints/best.h5", "--format", "onnx", "--out", dir + "/d.onnx"])
        #expect(export.status == 0 && export.stderr.contains("RegexFullMatch"), "\(export.stderr)")
        #expect(try cli.run(["predict", dir + "/dated/checkpoints/best.h5", "--data", dates, "--out", dir + "/d.csv"]).status == 0)
        #expect(try Self.onnxDifference(dir + "/d.onnx", data: dates, predictions: dir + "/d.csv") < 1e-5)
    }

    /// Every mistake about columns: exit 2, the place, what was found, what to do.
    @Test(arguments: [
        ("unknown column", #"{"columns": {"iland": "category"}}"#, ["data.columns.iland", "did you mean \"island\"?"]),
        ("ignored target", #"{"columns": {"species": "ignore"}}"#, ["data.columns.species", "is the target", "cannot be ignored"]),
        ("not a date", #"{"columns": {"island": "date"}}"#, ["penguins.csv:", "is not an ISO 8601 date", "\"category\""]),
        ("one level", #"{"columns": {"sex": {"type": "category"}, "constant": "category"}}"#, ["category column \"constant\" has one level"]),
        ("all missing", #"{"columns": {}}"#, ["column \"empty\" is empty in every row", "\"ignore\""]),
        ("stray text", #"{}"#, ["\"bill_length_mm\" holds numbers", "\"short\"", "data.missing_values"]),
    ])
    func badColumnsExitTwo(_ what: String, _ data: String, _ expected: [String]) throws {
        let dir = try directory()
        var lines = Self.penguins(rows: 60).split(separator: "\n").map(String.init)
        switch what {
        case "one level":
            lines[0] += ",constant"
            for k in 1..<lines.count { lines[k] += ",same" }
        case "all missing":
            lines[0] += ",empty"
            for k in 1..<lines.count { lines[k] += "," }
        case "stray text":
            var fields = lines[7].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            fields[2] = "short"
            lines[7] = fields.joined(separator: ",")
        default: break
        }
        let table = lines.joined(separator: "\n") + "\n"
        _ = try writeFile(dir, "penguins.csv", table)
        let body = data.dropFirst().dropLast()
        let config = try writeFile(dir, "c.json", "{\"data\": {\"train\": {\"path\": \"penguins.csv\", \"target\": \"species\"}\(body.isEmpty ? "" : ", ")\(body)}}")
        let r = try cli.run(["fit", config, "--out", dir + "/run", "--quiet"])
        #expect(r.status == 2, "\(what): exit \(r.status): \(r.stderr)")
        for text in expected { #expect(r.stderr.contains(text), "\(what): \(r.stderr)") }
    }

    /// init writes the config fit would choose, every column and default spelled out: training
    /// on it gives what training on the bare file gives.
    @Test func initWritesTheConfigThatFitWouldChoose() throws {
        let dir = try directory()
        _ = try writeFile(dir, "penguins.csv", Self.penguins())
        let made = try cli.run(["init", "penguins.csv", "--target", "species", "--out", "penguins.json"], in: URL(fileURLWithPath: dir))
        #expect(made.status == 0 && made.stderr.contains("wrote penguins.json"), "\(made.stderr)")
        let config = try JSON.parse(String(contentsOfFile: dir + "/penguins.json", encoding: .utf8))
        #expect(config["data"]?["train"]?["path"]?.string == "penguins.csv")
        #expect(config["data"]?["columns"]?["island"]?["encoding"]?.string == "onehot" && config["data"]?["columns"]?["year"]?["scale"]?.string == "standardize")
        #expect(config["optimizer"]?["name"]?.string == "adamw" && config["training"]?["epochs"]?.number == 200)
        let settings = ["--set", "training.epochs=4", "--set", "training.threads=1", "--quiet"]
        #expect(try cli.run(["fit", "penguins.json", "--out", "a"] + settings, in: URL(fileURLWithPath: dir)).status == 0)
        #expect(try cli.run(["fit", "penguins.csv", "--target", "species", "--out", "b"] + settings, in: URL(fileURLWithPath: dir)).status == 0)
        func rows(_ run: String) throws -> [String] {
            let lines = try String(contentsOfFile: "\(dir)/\(run)/metrics.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            let seconds = lines[0].firstIndex(of: "seconds")!
            return lines.map { $0.enumerated().filter { $0.offset != seconds }.map { String($0.element) }.joined(separator: ",") }
        }
        #expect(try rows("a") == rows("b"))
        let again = try cli.run(["init", "penguins.csv", "--target", "species", "--out", "penguins.json"], in: URL(fileURLWithPath: dir))
        #expect(again.status == 2 && again.stderr.contains("exists and is kept"))
    }

    /// Excel's byte-order mark is not part of the first column's name; a column of dates read
    /// as a category, and one with a value per row, get a hint.
    @Test func byteOrderMarkAndHintsForDatesAndIDs() throws {
        let dir = try directory()
        var text = "\u{FEFF}when,id,size,y\n"
        for r in 0..<120 { text += "2024-0\(1 + r % 9)-1\(r % 10),row\(r),\(r % 13),\(r % 2 == 0 ? "a" : "b")\n" }
        let data = try writeFile(dir, "bom.csv", text)
        let r = try cli.run(["fit", data, "--target", "when", "--out", dir + "/dates", "--quiet", "--set", "training.epochs=1"])
        #expect(r.status == 0, "\(r.stderr)")
        let hints = try cli.run(["fit", data, "--target", "y", "--out", dir + "/run", "--set", "training.epochs=1"])
        #expect(hints.status == 0, "\(hints.stderr)")
        #expect(hints.stderr.contains("column \"when\" looks like dates") && hints.stderr.contains("\"columns\": {\"when\": \"date\"}"), "\(hints.stderr)")
        #expect(hints.stderr.contains("column \"id\" has a different value in almost every row"), "\(hints.stderr)")
    }

    @Test func aTargetWithOneClassIsRefused() throws {
        let dir = try directory()
        let data = try writeFile(dir, "one.csv", "y,x,c\nyes,1,a\nyes,2,b\nyes,3,a\n")
        let r = try cli.run(["fit", data, "--target", "y", "--out", dir + "/run", "--quiet"])
        #expect(r.status == 2 && r.stderr.contains("the target column \"y\" has one class (\"yes\")"), "\(r.stderr)")
    }
}
