import DLData
import Testing

@Suite struct CSVReaderTests {
    func read(_ text: String, target: CSVReader.TargetColumn = .name("y"), classification: Bool = true,
              reader: CSVReader = CSVReader()) throws -> Dataset {
        let dir = try temporaryDirectory()
        return try reader.read(try writeFile(dir, "d.csv", text), target: target, classification: classification)
    }

    @Test func headerQuotesCRLFAndBlankLines() throws {
        let d = try read("a,\"b, quoted\",y\r\n1,2,cat\r\n\"3\",4.5,dog\r\n\r\n-1e-3, 7 ,cat\r\n\r\n\n")
        #expect(d.rows == 3 && d.columns == 2)
        #expect(d.featureNames == ["a", "b, quoted"])
        #expect(d.features == [1, 2, 3, 4.5, -0.001, 7])
        #expect(d.classNames == ["cat", "dog"])
        #expect(d.targets == [0, 1, 0])
    }

    @Test func targetByIndexWithoutHeaderAndOtherDelimiter() throws {
        let d = try read("5;1;2\n3;0;4\n", target: .index(0), reader: CSVReader(delimiter: UInt8(ascii: ";"), hasHeader: false))
        #expect(d.features == [1, 2, 0, 4])
        #expect(d.classNames == ["3", "5"])
        #expect(d.targets == [1, 0])
    }

    @Test func numericLabelsSortNumerically() throws {
        let d = try read("x,y\n1,10\n2,9\n3,2\n")
        #expect(d.classNames == ["2", "9", "10"])
        #expect(d.targets == [2, 1, 0])
    }

    @Test func regressionTargets() throws {
        let d = try read("x,y\n1,0.5\n2,-3\n", classification: false)
        #expect(d.targets == [0.5, -3])
        #expect(d.classNames.isEmpty)
        #expect(errorText { try read("x,y\n1,0.5\n2,big\n", classification: false) }.contains("not a number"))
    }

    @Test func raggedRowNamesLineAndCounts() {
        let message = errorText { try read("a,b,y\n1,2,0\n3,0\n") }
        #expect(message.contains("d.csv:3:"))
        #expect(message.contains("expected 3 fields"))
        #expect(message.contains("found 2"))
    }

    @Test func nonNumericCellNamesLineColumnAndText() {
        let message = errorText { try read("a,b,y\n1,2,0\n3,abc,1\n") }
        #expect(message.contains("d.csv:3:3:"))
        #expect(message.contains("\"abc\""))
        #expect(message.contains("(\"b\")"))
    }

    @Test func emptyMissingAndUnknownTarget() throws {
        #expect(errorText { try read("") }.contains("empty"))
        #expect(errorText { try read("a,y\n") }.contains("no data rows"))
        #expect(errorText { try read("a,b\n1,2\n") }.contains("no column named \"y\""))
        #expect(errorText { try CSVReader().read("/nonexistent/d.csv", target: .index(0), classification: true) }.contains("no such file"))
        #expect(errorText { try read("a,y\n1,2\n", target: .index(5)) }.contains("outside 0..<2"))
    }
}
