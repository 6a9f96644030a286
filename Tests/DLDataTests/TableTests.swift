import Foundation
import TestSupport
@testable import DLData
import Testing

/// Raw tables: type inference and its errors, and each encoding worked by hand.
@Suite struct TableTests {
    func table(_ text: String, spec: TableSpec = TableSpec(), target: String? = "y") throws -> (RawTable, TablePlan, Int?) {
        let path = try writeFile(try temporaryDirectory(), "t.csv", text)
        var raw = try RawTable.read(SourceSpec(path: path, target: []), missingValues: spec.missingValues)
        let t = target.flatMap { raw.column(named: $0) }
        let plan = try TablePlan(table: &raw, spec: spec, targets: t.map { [$0] } ?? [])
        return (raw, plan, t)
    }

    func encoder(_ text: String, spec: TableSpec = TableSpec(), rows: [Int]? = nil) throws -> (TableEncoder, RawTable, [Float]) {
        let (raw, plan, _) = try table(text, spec: spec)
        let fit = rows ?? Array(0..<raw.rows)
        let e = try TableEncoder(fitting: plan.plans, table: raw, rows: fit, ignored: plan.ignored, missingValues: spec.missingValues)
        var out: [Float] = []
        _ = try e.encode(raw, rows: Array(0..<raw.rows), into: &out)
        return (e, raw, out)
    }

    func failure(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    @Test func typesAreInferredAndMissingTokensRead() throws {
        let (raw, plan, _) = try table("id,island,mass,y\n1,Biscoe,3750,a\n2,Dream,NA,b\n3, Biscoe ,,a\n")
        #expect(plan.plans.map(\.kind) == [.numeric, .category, .numeric])
        let mass = raw.columns[2]
        #expect(mass.missingCells == 2 && mass.numericCells == 1 && mass.firstMissing?.line == 3)
        #expect(raw.columns[1].levels == ["Biscoe", "Dream"] && raw.columns[1].levelCounts == [2, 1])
    }

    @Test func strayTextInANumberColumnNamesTheCellAndBothWaysOut() {
        let message = failure { _ = try table("x,y\n1,a\n2,b\nunknown,a\n4,b\n") }
        #expect(message.contains("t.csv:4:1") && message.contains("\"unknown\"") && message.contains("\"category\"") && message.contains("data.missing_values"), "\(message)")
    }

    @Test func mostlyTextWithNumbersIsACategoryOfBoth() throws {
        let (raw, plan, _) = try table("code,y\nA1,a\n7,b\nB2,a\nC3,b\n")
        #expect(plan.plans[0].kind == .category)
        #expect(Set(raw.columns[0].levels) == ["A1", "7", "B2", "C3"])
    }

    @Test func columnsThatTellNothingAreErrors() {
        #expect(failure { _ = try table("x,c,y\n1,,a\n2,,b\n") }.contains("column \"c\" is empty in every row"))
        #expect(failure { _ = try encoder("x,c,y\n1,k,a\n2,k,b\n") }.contains("category column \"c\" has one level (\"k\")"))
        var spec = TableSpec()
        spec.columns["when"] = ColumnSpec(type: .date)
        let message = failure { _ = try encoder("when,y\n2024-01-05,a\n2024-13-01,b\n", spec: spec) }
        #expect(message.contains("t.csv:3") && message.contains("\"2024-13-01\" is not an ISO 8601 date"), "\(message)")
    }

    /// One-hot: kept levels by frequency (ties by name), then "other" (rare and unseen), then
    /// "(missing)"; fitted on the given rows only, so a level only in the others is unseen.
    @Test func oneHotWithPoolingOtherAndMissing() throws {
        var spec = TableSpec()
        spec.categoryDefaults.minCount = 2
        let text = "c,y\nb,1\na,1\nb,0\na,0\nrare,1\n,0\nnew,1\n"
        let (e, raw, out) = try encoder(text, spec: spec, rows: [0, 1, 2, 3, 4, 5])
        #expect(e.columns[0].levels == ["a", "b"] && e.columns[0].pooledLevels == ["rare"])
        #expect(e.width == 4 && e.inputNames == ["c=a", "c=b", "c=(other)", "c=(missing)"])
        #expect(out == [0, 1, 0, 0,  1, 0, 0, 0,  0, 1, 0, 0,  1, 0, 0, 0,  0, 0, 1, 0,  0, 0, 0, 1,  0, 0, 1, 0])
        var again: [Float] = []
        let report = try e.encode(raw, rows: Array(0..<raw.rows), into: &again)
        #expect(report.unseen == ["c": 1])
    }

    /// `eval`, `predict` and `explain` read a table a piece at a time, each piece encoded with
    /// the trained encoder: together the pieces give the rows, targets, file lines, unseen
    /// levels and rows without a target of the whole file, also where a piece has no target
    /// at all or a quoted cell spans lines; a file whose rows all lack the target is refused as
    /// when read whole, and an error names the file's line.
    @Test func piecesAgreeWithTheWholeFile() throws {
        var spec = TableSpec()
        spec.columns["when"] = ColumnSpec(type: .date)
        let islands = ["Biscoe", "Dream", "Torgersen"]
        var train = "island,mass,when,y\n"
        for r in 0..<60 { train += "\(islands[r % 3]),\(r % 5 == 0 ? "" : String(3000 + 10 * r)),2024-02-\(10 + r % 19),\(r % 2 == 0 ? "a" : "b")\n" }
        let (e, _, _) = try encoder(train, spec: spec)
        var held = "island,mass,when,y,comment\n"
        for r in 0..<400 {
            let island = r % 37 == 0 ? "Atlantis" : r % 53 == 0 ? "\"Dream,\nnorth\"" : islands[r % 3]
            let target = (100..<140).contains(r) || r % 11 == 0 ? "" : r % 2 == 0 ? "a" : "b"
            held += "\(island),\(r % 7 == 0 ? "NA" : String(2900 + 7 * r)),2024-03-\(10 + r % 19),\(target),note \(r)\n"
        }
        let dir = try temporaryDirectory()
        let source = SourceSpec(path: try writeFile(dir, "held.csv", held), target: [.name("y")])
        let kind = TargetKind.categorical(classes: ["a", "b"])
        let whole = try TableFile.read(source, encoder: e, kind: kind, requireTarget: true, droppingRows: false)
        var features: [Float] = [], targets: [Float] = [], origins: [Int] = [], unseen: [String: Int] = [:]
        var dropped = 0, pieces = 0, emptyPieces = 0
        try TableFile.stream(source, encoder: e, kind: kind, requireTarget: true, chunkBytes: 150) { read in
            features += read.dataset.features
            targets += read.dataset.targets
            origins += read.dataset.origins
            unseen.merge(read.report.unseen, uniquingKeysWith: +)
            dropped += read.droppedWithoutTarget
            pieces += 1
            if read.dataset.rows == 0 { emptyPieces += 1 }
            #expect(read.extraColumns == ["comment"])
        }
        #expect(pieces > 50 && emptyPieces > 0)
        #expect(whole.dataset.rows == 326 && dropped == whole.droppedWithoutTarget && dropped == 74)
        #expect(features == whole.dataset.features && targets == whole.dataset.targets && origins == whole.dataset.origins)
        #expect(unseen == whole.report.unseen && unseen["island"] == 15, "\(unseen)")

        let noTarget = try writeFile(dir, "none.csv", "island,mass,when,y\n" + String(repeating: "Dream,3000,2024-03-11,\n", count: 50))
        let message = failure { try TableFile.stream(SourceSpec(path: noTarget, target: [.name("y")]), encoder: e, kind: kind, requireTarget: true, chunkBytes: 64) { _ in } }
        #expect(message.contains("none.csv") && message.contains("the target column \"y\" is empty in every row"), "\(message)")
        let bad = try writeFile(dir, "bad.csv", "island,mass,when,y\n" + String(repeating: "Dream,3000,2024-03-11,a\n", count: 30) + "Dream,3000\n")
        let badLine = failure { try TableFile.stream(SourceSpec(path: bad, target: [.name("y")]), encoder: e, kind: kind, requireTarget: true, chunkBytes: 64) { _ in } }
        #expect(badLine.contains("bad.csv:32") && badLine.contains("expected 4 fields"), "\(badLine)")
    }

    /// Numbers: the mean fill of the present values, then standardization of the filled
    /// column (as scikit-learn's SimpleImputer then StandardScaler), and the indicator.
    @Test func numericFillIndicatorAndScales() throws {
        var spec = TableSpec()
        spec.numericDefaults.indicator = true
        let (e, _, out) = try encoder("x,y\n1,a\n3,b\n,a\n", spec: spec)
        // Filled: 1, 3, 2 -> mean 2, population std sqrt(2/3).
        let s = Float(1 / (2.0 / 3).squareRoot())
        #expect(e.columns[0].fill == [2] && e.columns[0].shift == [2])
        #expect(Swift.abs(out[0] + s) < 1e-6 && Swift.abs(out[2] - s) < 1e-6 && out[4] == 0)
        #expect(out[1] == 0 && out[3] == 0 && out[5] == 1)
        spec.numericDefaults = NumericHandling()
        spec.numericDefaults.missing = .median
        spec.numericDefaults.scale = .minmax
        let (m, _, minmax) = try encoder("x,y\n0,a\n10,b\n4,a\n,b\n", spec: spec)
        #expect(m.columns[0].fill == [4] && minmax == [0, 1, 0.4, 0.4])
        spec.numericDefaults.scale = .log
        spec.numericDefaults.missing = .constant
        spec.numericDefaults.fill = 0
        let (_, _, logged) = try encoder("x,y\n0,a\n\(exp(1.0) - 1),b\n,a\n", spec: spec)
        // log1p: 0, 1, 0 -> mean 1/3, std sqrt(2/9).
        let sd = (2.0 / 9).squareRoot()
        #expect(Swift.abs(Double(logged[1]) - (1 - 1.0 / 3) / sd) < 1e-5)
    }

    /// 2024-03-15 was a Friday, the 75th day of a leap year; 12:00 is half a day.
    @Test func datesExpandIntoDocumentedInputs() throws {
        let d = try #require(TableEncoder.CivilDate.parse("2024-03-15T13:30:00+01:30"))
        #expect(d.year == 2024 && d.month == 3 && d.day == 15 && d.hasTime && d.secondsOfDay == 12 * 3600)
        let parts = d.parts(hasTime: true)
        #expect(parts[0] == 2024 && Swift.abs(parts[1] - sin(2 * .pi * 2 / 12)) < 1e-12)
        #expect(Swift.abs(parts[3] - sin(2 * .pi * 4 / 7)) < 1e-12 && parts[5] == 75)
        #expect(Swift.abs(parts[6] - sin(.pi)) < 1e-12 && Swift.abs(parts[7] + 1) < 1e-12)
        #expect(TableEncoder.CivilDate.parse("2023-02-29") == nil && TableEncoder.CivilDate.parse("2024-02-29Z") == nil)
        #expect(TableEncoder.CivilDate.parse("1969-12-31")!.parts(hasTime: false)[3] == sin(2 * .pi * 2 / 7))  // a Wednesday
    }

    @Test func embeddingsGoLastAsIndices() throws {
        var spec = TableSpec()
        spec.columns["c"] = ColumnSpec(type: .category)
        spec.columns["c"]!.category.encoding = .embedding
        let (e, _, out) = try encoder("c,x,y\nb,1,a\na,2,b\nb,3,a\n", spec: spec)
        #expect(e.denseWidth == 1 && e.width == 2 && e.embeddings.map(\.levels) == [4])
        #expect(e.embeddings[0].dim == CategoryHandling.embeddingWidth(levels: 4))
        // Levels: b (twice), a; indices b = 0, a = 1.
        #expect([out[1], out[3], out[5]] == [0, 1, 0])
    }
}
