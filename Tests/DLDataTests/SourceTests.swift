import Foundation
import TestSupport
import DLData
import Testing

@Suite struct CSVTests {
    func read(_ text: String, target: [SourceSpec.Column] = [.name("y")], kind: TargetKind = .categorical(classes: nil),
              header: Bool = true, delimiter: Character = ",", missing: SourceSpec.MissingValues = .error) throws -> Dataset {
        var spec = SourceSpec(path: try writeFile(try temporaryDirectory(), "d.csv", text), target: target)
        spec.header = header
        spec.delimiter = delimiter.asciiValue!
        spec.missing = missing
        return try DataReader.read(spec, kind: kind)
    }

    @Test func headerQuotesCRLFBlankLinesAndStringLabels() throws {
        let d = try read("a,\"b, quoted\",y\r\n1,2,cat\r\n\"3\",4.5,dog\r\n\r\n-1e-3, 7 ,\"cat\"\r\n\r\n\n")
        #expect(d.rows == 3 && d.columns == 2)
        #expect(d.featureNames == ["a", "b, quoted"])
        #expect(d.features == [1, 2, 3, 4.5, -0.001, 7])
        #expect(d.classNames == ["cat", "dog"])
        #expect(d.targets == [0, 1, 0])
        #expect(d.origins == [2, 3, 5])
    }

    @Test func escapedQuotesInsideAField() throws {
        let d = try read("x,y\n1,\"say \"\"hi\"\"\"\n2,plain\n")
        #expect(d.classNames == ["plain", "say \"hi\""])
    }

    @Test func noHeaderTargetByIndexAndOtherDelimiters() throws {
        let d = try read("5;1;2\n3;0;4\n", target: [.index(0)], header: false, delimiter: ";")
        #expect(d.features == [1, 2, 0, 4])
        #expect(d.classNames == ["3", "5"])
        #expect(d.targets == [1, 0])
        let tabs = try read("a\tb\ty\n1\t2\t0\n", delimiter: "\t")
        #expect(tabs.features == [1, 2])
    }

    @Test func numericLabelsSortNumericallyAndAgreeAcrossSpellings() throws {
        let d = try read("x,y\n1,10\n2,9\n3,2\n4,2.0\n5,09\n")
        #expect(d.classNames == ["2", "9", "10"])
        #expect(d.targets == [2, 1, 0, 0, 1])
    }

    @Test func declaredClassesFixTheOrderAndRejectOthers() throws {
        let d = try read("x,y\n1,b\n2,a\n", kind: .categorical(classes: ["b", "a", "c"]))
        #expect(d.classNames == ["b", "a", "c"])
        #expect(d.targets == [0, 1])
        let message = errorText { try read("x,y\n1,b\n2,z\n", kind: .categorical(classes: ["a", "b"])) }
        #expect(message.contains("d.csv:3"))
        #expect(message.contains("label \"z\" is not one of the 2 classes (a, b)"))
    }

    @Test func oneHotTargetColumns() throws {
        let d = try read("x,cat,dog,bird\n1,0,1,0\n2,1,0,0\n3,0,0,1\n", target: [.name("cat"), .name("dog"), .name("bird")])
        #expect(d.classNames == ["cat", "dog", "bird"])
        #expect(d.targets == [1, 0, 2])
        #expect(d.columns == 1)
    }

    @Test func severalRegressionTargets() throws {
        let d = try read("a,y1,b,y2\n1,0.5,2,-1\n3,1.5,4,-2\n", target: [.name("y1"), .name("y2")], kind: .numeric)
        #expect(d.targetWidth == 2 && d.targets == [0.5, -1, 1.5, -2])
        #expect(d.features == [1, 2, 3, 4])
        #expect(errorText { try read("x,y\n1,0.5\n2,big\n", kind: .numeric) }.contains("d.csv:3:3"))
    }

    @Test func missingValuesErrorDropOrMean() throws {
        let text = "a,b,y\n1,2,0\n,5,1\n3,nan,0\n4,inf,1\n6,7,1\n"
        let message = errorText { try read(text) }
        #expect(message.contains("d.csv:3:1") && message.contains("empty") && message.contains("\"nan\" to \"drop\""))
        let dropped = try read(text, missing: .drop)
        #expect(dropped.rows == 2 && dropped.features == [1, 2, 6, 7] && dropped.origins == [2, 6])
        let kept = try read(text, missing: .mean)
        #expect(kept.rows == 5 && kept.features[2].isNaN && kept.features[5].isNaN && kept.features[7].isNaN)
    }

    @Test(arguments: [
        ("a,b,y\n1,2,0\n3,0\n", ["d.csv:3:", "expected 3 fields", "found 2"]),
        ("a,b,y\n1,2,0\n3,abc,1\n", ["d.csv:3:3:", "\"abc\"", "(\"b\")", "not a number"]),
        ("", ["empty"]),
        ("a,y\n", ["no data rows"]),
        ("a,b\n1,2\n", ["no column named \"y\"", "a, b"]),
        ("a,y\n1,\"open\n", ["quoted field is not closed"]),
    ])
    func badInput(text: String, expected: [String]) {
        let message = errorText { try read(text) }
        for fragment in expected { #expect(message.contains(fragment), "\(message)") }
    }

    @Test func missingFileAndBadIndex() throws {
        #expect(errorText { try DataReader.read(SourceSpec(path: "/nonexistent/d.csv", target: [.index(0)]), kind: .numeric) }.contains("no such file"))
        #expect(errorText { try read("a,y\n1,2\n", target: [.index(5)]) }.contains("outside 0..<2"))
    }

    /// A 60,000 × 785 numeric CSV (MNIST's size) loads; the time is printed, not asserted
    /// (shared machines are noisy; the README has the measured figure).
    @Test func largeNumericFileLoads() throws {
        var text = (0..<784).map { "p\($0)" }.joined(separator: ",") + ",label\n"
        let row = (0..<784).map { String($0 % 17) }.joined(separator: ",")
        text.reserveCapacity(60_000 * (row.count + 4))
        for r in 0..<60_000 { text += row + ",\(r % 10)\n" }
        let path = try writeFile(try temporaryDirectory(), "big.csv", text)
        let clock = ContinuousClock()
        let started = clock.now
        let d = try DataReader.read(SourceSpec(path: path, target: [.name("label")]), kind: .categorical(classes: nil))
        print("loaded 60000 x 785 CSV (\(text.utf8.count / 1_000_000) MB) in \(clock.now - started)")
        #expect(d.rows == 60_000 && d.columns == 784 && d.classNames.count == 10)
        #expect(d.features[784 * 59_999 + 783] == Float(783 % 17))
    }
}

@Suite struct HDF5SourceTests {
    @Test(arguments: HDF5File.ElementType.allCases)
    func everyElementTypeReadsAsFloat(_ type: HDF5File.ElementType) throws {
        let path = try temporaryDirectory() + "/t.h5"
        let values: [Double] = [1, 2, 3, 4, 5, 126]
        do {
            let file = try HDF5File.create(path)
            try file.write("X", shape: [3, 2], values: values, type: type)
            try file.write("y", shape: [3], values: [0, 1, 1] as [Double], type: type)
        }
        let d = try DataReader.read(SourceSpec(path: path, target: [.name("y")], features: "X"), kind: .categorical(classes: nil))
        #expect(d.features == values.map(Float.init))
        #expect(d.classNames == ["0", "1"] && d.targets == [0, 1, 1])
    }

    @Test func imagesChunkedCompressedAndSplitDatasets() throws {
        let path = try temporaryDirectory() + "/img.h5"
        let pixels = (0..<(10 * 4 * 3)).map { Float($0) }
        do {
            let file = try HDF5File.create(path)
            try file.write("train/X", shape: [10, 4, 3], values: pixels, chunkRows: 3, compression: 6)
            try file.write("train/y", shape: [10], values: (0..<10).map { Float($0 % 2) })
            try file.write("val/X", shape: [2, 4, 3], values: Array(pixels.prefix(24)))
        }
        let d = try DataReader.read(SourceSpec(path: path, target: [.name("train/y")], features: "train/X"), kind: .categorical(classes: nil))
        #expect(d.rows == 10 && d.columns == 12 && d.imageShape == [4, 3])
        #expect(d.features == pixels)
        let file = try HDF5File.open(path)
        #expect(file.datasetNames == ["train/X", "train/y", "val/X"])
        var rows = [Float](repeating: 0, count: 2 * 12)
        try file.readRows("train/X", start: 7, count: 2, into: &rows)
        #expect(rows == Array(pixels[(7 * 12)..<(9 * 12)]))
    }

    @Test func missingDatasetListsTheOnesThatExist() throws {
        let path = try temporaryDirectory() + "/t.h5"
        do { try HDF5File.create(path).write("features", shape: [2, 2], values: [1, 2, 3, 4] as [Float]) }
        let message = errorText { try DataReader.read(SourceSpec(path: path, target: [.name("labels")], features: "X"), kind: .numeric) }
        #expect(message.contains("no dataset \"X\"") && message.contains("\"features\""))
        let target = errorText { try DataReader.read(SourceSpec(path: path, target: [.name("labels")], features: "features"), kind: .numeric) }
        #expect(target.contains("no dataset \"labels\""))
    }

    @Test func lengthMismatchAndNonFiniteAndFakeFiles() throws {
        let dir = try temporaryDirectory(), path = dir + "/t.h5"
        do {
            let file = try HDF5File.create(path)
            try file.write("X", shape: [3, 1], values: [1, .nan, 3] as [Float])
            try file.write("y", shape: [2], values: [0, 1] as [Float])
            try file.write("y3", shape: [3], values: [0, 1, 1] as [Float])
        }
        var filled = SourceSpec(path: path, target: [.name("y")], features: "X")
        filled.missing = .mean
        #expect(errorText { try DataReader.read(filled, kind: .numeric) }.contains("3 rows but targets \"y\" have 2"))
        #expect(errorText { try DataReader.read(SourceSpec(path: path, target: [.name("y3")], features: "X"), kind: .numeric) }.contains("is nan"))
        var drop = SourceSpec(path: path, target: [.name("y3")], features: "X")
        drop.missing = .drop
        #expect(try DataReader.read(drop, kind: .numeric).targets == [0, 1])
        let fake = try writeFile(dir, "fake.h5", "not hdf5")
        #expect(errorText { try HDF5File.open(fake) }.contains("not an HDF5 file"))
        #expect(errorText { try HDF5File.open(dir + "/none.h5") }.contains("no such file"))
    }
}

@Suite struct CSVStreamTests {
    /// Reading in chunks (cut at record boundaries, never inside a quoted field) gives the
    /// same rows as reading the whole file, line numbers included.
    @Test func chunksAgreeWithTheWholeFile() throws {
        var text = "a,\"b\",y\n"
        for r in 0..<500 { text += "\(r),\"\(r % 7)\",\"class\n\(r % 3)\"\n" }
        let path = try writeFile(try temporaryDirectory(), "s.csv", text)
        let spec = SourceSpec(path: path, target: [.name("y")])
        let kind = TargetKind.categorical(classes: ["class\n0", "class\n1", "class\n2"])
        let whole = try DataReader.read(spec, kind: kind)
        var features: [Float] = [], targets: [Float] = [], origins: [Int] = [], chunks = 0
        try CSVReader.stream(spec, kind: kind, chunkBytes: 97) { chunk in
            features += chunk.features
            targets += chunk.targets
            origins += chunk.origins
            chunks += 1
        }
        #expect(chunks > 10)
        #expect(features == whole.features && targets == whole.targets && origins == whole.origins)
        let bad = try writeFile(try temporaryDirectory(), "b.csv", "a,y\n1,x\n2\n")
        #expect(errorText { try CSVReader.stream(SourceSpec(path: bad, target: [.name("y")]), kind: .categorical(classes: ["x"]), chunkBytes: 4) { _ in } }.contains("b.csv:3"))
    }
}

/// A file may declare any shape: a dataset larger than memory (chunked, never written, so the
/// file is tiny) is refused with a message, not believed.
@Suite struct CraftedHDF5Tests {
    @Test func hugeDeclaredShapesAreRefused() throws {
        let path = try temporaryDirectory() + "/huge.h5"
        let written = try runProgram("/usr/bin/env", ["python3", "-c", """
            import h5py, sys
            with h5py.File(sys.argv[1], "w") as f:
                f.create_dataset("X", shape=(10**12, 8), dtype="float32", chunks=(1024, 8))
                f.create_dataset("y", shape=(10**12,), dtype="int32", chunks=(1024,))
                f.create_dataset("wide", shape=(4, 2**62), dtype="float32", chunks=(1, 1024))
            """, path])
        try #require(written.status == 0, "\(written.stderr)")
        let whole = errorText { try DataReader.read(SourceSpec(path: path, target: [.name("y")], features: "X"), kind: .numeric) }
        #expect(whole.contains("declares shape [1000000000000, 8]") && whole.contains("more than this machine's memory"))
        let overflow = errorText { try HDF5File.open(path).read("wide") }
        #expect(overflow.contains("too large to exist"))
        let streamed = errorText { try HDF5Rows(SourceSpec(path: path, target: [.name("y")], features: "wide"), kind: .numeric, memoryLimitMB: 64) }
        #expect(streamed.contains("declares shape"))
    }
}
