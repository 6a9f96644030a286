import TestSupport
import DLCore
@testable import DLData
import Foundation
import Testing

/// Each step against a reference computed independently in the test.
@Suite struct PreprocessTests {
    /// 200 rows × 4 correlated features with different scales and offsets.
    static func data(rows: Int = 200) -> Dataset {
        var rng = RandomSource(seed: 3)
        var x: [Float] = []
        for _ in 0..<rows {
            let a = rng.normal(), b = rng.normal()
            x += [Float(10 + 3 * a), Float(-2 + a + 0.5 * b), Float(100 * b), Float(0.01 * rng.normal() + 5)]
        }
        return Dataset(features: x, rows: rows, columns: 4, featureNames: ["a", "b", "c", "d"],
                       targets: (0..<rows).map { Float($0 % 3) * 2 + 1 }, classNames: [])
    }

    func column(_ d: Dataset, _ c: Int) -> [Double] { (0..<d.rows).map { Double(d.features[$0 * d.columns + c]) } }
    func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
    func std(_ v: [Double]) -> Double { let m = mean(v); return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)).squareRoot() }

    @Test func standardizeMinmaxCenter() throws {
        let raw = Self.data()
        for scaling in [PreprocessSpec.Scaling.standardize, .minmax, .center] {
            var spec = PreprocessSpec()
            spec.scaling = scaling
            let out = try Preprocessor(fitting: spec, on: raw).applied(to: raw)
            for c in 0..<4 {
                let before = column(raw, c), after = column(out, c)
                let expected: [Double] = switch scaling {
                case .standardize: before.map { ($0 - mean(before)) / std(before) }
                case .minmax: before.map { ($0 - before.min()!) / (before.max()! - before.min()!) }
                default: before.map { $0 - mean(before) }
                }
                for (a, b) in zip(after, expected) { #expect(Swift.abs(a - b) < 2e-4 * Swift.max(1, Swift.abs(b)), "\(scaling) column \(c)") }
            }
        }
    }

    /// Fitted on the training rows only, applied unchanged to other rows.
    @Test func fittedOnTrainingRowsOnly() throws {
        let raw = Self.data()
        var spec = PreprocessSpec()
        spec.scaling = .standardize
        let train = Array(0..<100)
        let p = try Preprocessor(fitting: spec, on: raw, indices: train)
        let trainColumn = train.map { Double(raw.features[$0 * 4 + 2]) }
        #expect(Swift.abs(Double(p.shift[2]) - mean(trainColumn)) < 1e-3)
        #expect(Swift.abs(Double(p.scale[2]) - 1 / std(trainColumn)) < 1e-6)
    }

    @Test func meanImputationUsesTrainingMeans() throws {
        var raw = Self.data(rows: 10)
        raw.features[0] = .nan
        let p = try Preprocessor(fitting: PreprocessSpec(), on: raw)
        let others = (1..<10).map { Double(raw.features[$0 * 4]) }
        #expect(Swift.abs(Double(p.fill![0]) - mean(others)) < 1e-4)
        #expect(Swift.abs(Double(p.applied(to: raw).features[0]) - mean(others)) < 1e-4)
    }

    @Test func regressionTargetsStandardizeAndInvert() throws {
        let raw = Self.data()
        var spec = PreprocessSpec()
        spec.standardizeTargets = true
        let p = try Preprocessor(fitting: spec, on: raw)
        let out = p.applied(to: raw)
        let t = out.targets.map(Double.init)
        #expect(Swift.abs(mean(t)) < 1e-5 && Swift.abs(std(t) - 1) < 1e-5)
        var back = out.targets
        p.invertTargets(&back, rows: raw.rows, width: 1)
        for (a, b) in zip(back, raw.targets) { #expect(Swift.abs(a - b) < 1e-5) }
    }

    /// PCA and whitening against numpy's eigendecomposition of the same covariance,
    /// computed by Python in the test (numpy is installed by scripts/setup).
    @Test func pcaAndWhiteningMatchNumpy() throws {
        let raw = Self.data()
        let dir = try temporaryDirectory()
        let csv = (0..<raw.rows).map { r in (0..<4).map { String(raw.features[r * 4 + $0]) }.joined(separator: ",") }.joined(separator: "\n")
        try csv.write(toFile: dir + "/x.csv", atomically: true, encoding: .utf8)
        let script = """
            import numpy as np, sys
            x = np.loadtxt(sys.argv[1], delimiter=",")
            x = (x - x.mean(0)) / x.std(0)
            c = np.cov(x, rowvar=False)
            w, v = np.linalg.eigh(c)
            order = np.argsort(w)[::-1]; w = w[order]; v = v[:, order]
            v = v * np.sign(v[np.abs(v).argmax(0), range(4)])
            z = (x - x.mean(0)) @ v[:, :2]
            white = (x - x.mean(0)) @ (v / np.sqrt(w + 1e-5))
            values = list(w) + list(z[:5].ravel()) + list(np.cov(white, rowvar=False).ravel())
            print(" ".join(repr(float(v)) for v in values))
            """
        let numpy = try runProgram("/usr/bin/env", ["python3", "-c", script, dir + "/x.csv"])
        let text = numpy.stdout
        #expect(numpy.status == 0, "numpy missing? scripts/setup installs it: \(numpy.stderr)")
        let reference = text.split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        try #require(reference.count == 4 + 10 + 16)

        var spec = PreprocessSpec()
        spec.scaling = .standardize
        spec.pcaComponents = 2
        let pca = try Preprocessor(fitting: spec, on: raw)
        for k in 0..<2 { #expect(Swift.abs(pca.explainedVariance[k] - reference[k]) < 1e-4 * reference[k]) }
        let projected = pca.applied(to: raw)
        #expect(projected.columns == 2)
        for i in 0..<10 { #expect(Swift.abs(Double(projected.features[i]) - reference[4 + i]) < 1e-3, "component value \(i)") }
        #expect(Swift.abs(pca.keptVarianceFraction! - (reference[0] + reference[1]) / reference[0..<4].reduce(0, +)) < 1e-6)

        // Feature b is a linear combination of a and c: the covariance has rank 3, and keeping
        // all but 1e-6 of the variance keeps 3 components.
        spec.pcaComponents = nil
        spec.pcaVariance = 0.999999
        spec.whiten = true
        let white = try Preprocessor(fitting: spec, on: raw).applied(to: raw)
        #expect(white.columns == 3)
        for i in 0..<3 {
            for j in 0..<3 {
                let a = column(white, i), b = column(white, j), ma = mean(a), mb = mean(b)
                let cov = zip(a, b).map { ($0 - ma) * ($1 - mb) }.reduce(0, +) / Double(a.count - 1)
                #expect(Swift.abs(cov - reference[14 + i * 4 + j]) < 1e-3, "whitened covariance [\(i), \(j)]")
            }
        }
        spec.pcaVariance = 0.5
        #expect(try Preprocessor(fitting: spec, on: raw).outputColumns == (reference[0] / reference[0..<4].reduce(0, +) >= 0.5 ? 1 : 2))
    }
}

@Suite struct SplitTests {
    /// Stratified: each class keeps its share in both parts to within one row; the parts
    /// partition the rows; the same seed gives the same split.
    @Test func stratifiedHoldOutKeepsProportions() {
        let classes = (0..<1000).map { $0 < 600 ? 0 : ($0 < 900 ? 1 : 2) }  // 60% / 30% / 10%
        let (kept, held) = Split.holdOut(rows: 1000, fraction: 0.25, classes: classes, seed: 1)
        #expect(held.count == 250 && kept.count == 750)
        #expect(Set(kept).union(held) == Set(0..<1000) && Set(kept).isDisjoint(with: held))
        for (c, share) in [(0, 0.6), (1, 0.3), (2, 0.1)] {
            #expect(Swift.abs(Double(held.filter { classes[$0] == c }.count) - 250 * share) <= 1)
        }
        #expect(Split.holdOut(rows: 1000, fraction: 0.25, classes: classes, seed: 1).heldOut == held)
        #expect(Split.holdOut(rows: 1000, fraction: 0.25, classes: classes, seed: 2).heldOut != held)
        #expect(Split.holdOut(rows: 10, fraction: 0.15, seed: 1).heldOut.count == 2)  // rounds up, as scikit-learn
    }

    @Test func foldsPartitionAndStratify() {
        let classes = (0..<103).map { $0 % 3 == 0 ? 1 : 0 }
        let folds = Split.folds(rows: 103, k: 5, classes: classes, seed: 4)
        #expect(folds.flatMap { $0 }.sorted() == Array(0..<103))
        #expect(folds.map(\.count).max()! - folds.map(\.count).min()! <= 1)
        let perFold = folds.map { f in f.filter { classes[$0] == 1 }.count }
        #expect(perFold.max()! - perFold.min()! <= 1)
    }
}

@Suite struct LoaderTests {
    static func data(rows: Int = 23) -> Dataset {
        Dataset(features: (0..<(rows * 3)).map(Float.init), rows: rows, columns: 3, featureNames: ["a", "b", "c"],
                targets: (0..<rows).map { Float($0 % 4) }, classNames: ["0", "1", "2", "3"])
    }

    /// An epoch's rows, features and targets, batches copied out or (`inPlace`) read in the
    /// loader's slots; in place, each batch is read again just before the next is asked for,
    /// after the producing thread has had time to fill the other slot, and must not have changed.
    func epoch(_ loader: BatchLoader, width: Int, inPlace: Bool = false) throws -> (rows: [Int], features: [[Float]], targets: [[Float]]) {
        loader.startEpoch()
        var x = [Float](repeating: 0, count: loader.batchSize * 3), y = [Float](repeating: 0, count: loader.batchSize * width)
        var rows: [Int] = [], features: [[Float]] = [], targets: [[Float]] = []
        while true {
            let n: Int
            if inPlace {
                let batch = try loader.nextInPlace()
                n = batch.rows
                x.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: batch.features, count: n * 3) }
                y.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: batch.targets, count: n * width) }
                usleep(2_000)
                #expect(Array(UnsafeBufferPointer(start: batch.features, count: n * 3)) == Array(x.prefix(n * 3)), "a served slot changed")
            } else {
                n = try loader.next(features: &x, targets: &y)
            }
            if n == 0 { break }
            for r in 0..<n {
                rows.append(Int(x[r * 3]) / 3)
                features.append(Array(x[(r * 3)..<(r * 3 + 3)]))
                targets.append(Array(y[(r * width)..<((r + 1) * width)]))
            }
        }
        return (rows, features, targets)
    }

    /// Over an epoch the batches are a permutation of the rows, each row's features and
    /// target together, with and without the prefetching thread, copied out or read in place;
    /// epochs differ; seeds repeat, and in place serves what copying does.
    @Test(arguments: [(true, false), (false, false), (true, true), (false, true)])
    func epochIsAPermutation(prefetching: Bool, inPlace: Bool) throws {
        let data = Self.data()
        let p = try Preprocessor(fitting: PreprocessSpec(), on: data)
        let make = { BatchLoader(producer: InMemoryRows(data), batchSize: 5, shuffled: true, preprocessor: p,
                                 encoding: .oneHot(classes: 4), seed: 9, prefetching: prefetching) }
        let loader = make()
        #expect(loader.batchCount == 5)
        let first = try epoch(loader, width: 4, inPlace: inPlace)
        #expect(first.rows.sorted() == Array(0..<23) && first.rows != Array(0..<23))
        for (k, row) in first.rows.enumerated() {
            #expect(first.features[k] == [Float(row * 3), Float(row * 3 + 1), Float(row * 3 + 2)])
            var hot = [Float](repeating: 0, count: 4)
            hot[row % 4] = 1
            #expect(first.targets[k] == hot)
        }
        #expect(try epoch(loader, width: 4, inPlace: inPlace).rows != first.rows)
        #expect(try epoch(make(), width: 4, inPlace: inPlace).rows == first.rows)
        let other = try epoch(make(), width: 4, inPlace: !inPlace)
        #expect(other.rows == first.rows && other.features == first.features && other.targets == first.targets)
    }

    /// The prefetching thread runs on the CPU where the training step's helper thread last ran
    /// (where time is given up between products); a loader that prepares its batches between
    /// steps binds nothing.
    @Test func producerFollowsTheHelperThread() throws {
        let helper = try #require(HelperThread.shared)
        _ = try #require(helperCPU(helper), "the helper ran no job of its own, so it has no CPU to follow")
        let data = Self.data()
        let p = try Preprocessor(fitting: PreprocessSpec(), on: data)
        for prefetching in [true, false] {
            let loader = BatchLoader(producer: InMemoryRows(data), batchSize: 10, shuffled: true, preprocessor: p,
                                     encoding: .indices, seed: 2, prefetching: prefetching)
            let before = try #require(helper.cpu)
            loader.startEpoch()
            #expect(try loader.nextInPlace().rows == 10)
            let after = try #require(helper.cpu)
            if !prefetching {
                #expect(loader.producerCPU == -1)
            } else if before == after {
                #expect(loader.producerCPU == after)
            } else {
                // Tests running beside this one gave the helper jobs on another CPU meanwhile.
                #expect(loader.producerCPU == before || loader.producerCPU == after)
            }
            loader.finishEpoch()
        }
    }

    /// Balanced sampling: 34 rows of class 0 and 6 of class 1 (indices 3, 7, ..., 23 are
    /// class 1). An epoch has 40 draws, 20 of each class: the 6 rows repeat 3 or 4 times,
    /// 20 of the 34 appear once. The epoch follows from the generator alone.
    @Test func balancedEpochsDrawClassesEquallyOften() throws {
        let rows = 40
        let labels = (0..<rows).map { $0 % 4 == 3 && $0 < 24 ? Float(1) : 0 }
        let data = Dataset(features: (0..<(rows * 3)).map(Float.init), rows: rows, columns: 3, featureNames: ["a", "b", "c"],
                           targets: labels, classNames: ["no", "yes"])
        let p = try Preprocessor(fitting: PreprocessSpec(), on: data)
        let make = { BatchLoader(producer: InMemoryRows(data, balancingClasses: 2), batchSize: 8, shuffled: true, preprocessor: p,
                                 encoding: .indices, seed: 4, prefetching: false) }
        let loader = make()
        var epochs: [[Int]] = []
        for _ in 0..<3 {
            let drawn = try epoch(loader, width: 1).rows
            #expect(drawn.count == rows)
            let minority = drawn.filter { labels[$0] == 1 }, majority = drawn.filter { labels[$0] == 0 }
            #expect(minority.count == 20 && majority.count == 20)
            let repeats = Dictionary(grouping: minority, by: { $0 }).mapValues(\.count)
            #expect(repeats.count == 6 && repeats.values.allSatisfy { $0 == 3 || $0 == 4 }, "\(repeats)")
            #expect(Set(majority).count == 20)
            epochs.append(drawn)
        }
        #expect(epochs[0] != epochs[1])
        // A loader started at the second epoch's generator state draws that epoch again.
        let again = make()
        _ = try epoch(again, width: 1)
        let state = again.rng
        let resumed = make()
        resumed.rng = state
        #expect(try epoch(resumed, width: 1).rows == epochs[1])
    }

    @Test func dropLastAndSubsetsAndStoppingEarly() throws {
        let data = Self.data()
        let p = try Preprocessor(fitting: PreprocessSpec(), on: data)
        let dropping = BatchLoader(producer: InMemoryRows(data), batchSize: 5, dropLast: true, shuffled: true, preprocessor: p,
                                   encoding: .indices, seed: 1)
        #expect(dropping.batchCount == 4)
        #expect(try epoch(dropping, width: 1).rows.count == 20)
        let subset = BatchLoader(producer: InMemoryRows(data, indices: [3, 7, 11]), batchSize: 2, shuffled: false, preprocessor: p,
                                 encoding: .indices, seed: 1)
        #expect(try epoch(subset, width: 1).rows == [3, 7, 11])
        // Leaving an epoch half-read must not hang the next one (or the process).
        dropping.startEpoch()
        var x = [Float](repeating: 0, count: 15), y = [Float](repeating: 0, count: 5)
        _ = try dropping.next(features: &x, targets: &y)
        #expect(try epoch(dropping, width: 1).rows.count == 20)
    }

    /// Streaming from HDF5 in blocks covers every row once per epoch, shuffled across blocks.
    @Test func hdf5StreamVisitsEveryRowOnce() throws {
        let path = try temporaryDirectory() + "/s.h5"
        let rows = 1000
        do {
            let file = try HDF5File.create(path)
            try file.write("X", shape: [rows, 3], values: (0..<(rows * 3)).map(Float.init), chunkRows: 64)
            try file.write("y", shape: [rows], values: (0..<rows).map { Float($0 % 2) })
        }
        var spec = SourceSpec(path: path, target: [.name("y")], features: "X")
        spec.missing = .error
        let stream = try HDF5Rows(spec, kind: .categorical(classes: nil), memoryLimitMB: 0)
        #expect(stream.blockRows == 1)  // a 0 MB budget still streams, a row at a time
        #expect(try HDF5Rows(spec, kind: .categorical(classes: nil), memoryLimitMB: 1).blockRows == rows)  // 12 kB fits in one block
        let blocky = try HDF5Rows(spec, kind: .categorical(classes: nil), memoryLimitMB: 1, blockRows: 100)
        let p = try Preprocessor(fitting: PreprocessSpec(), columns: 3, featureNames: ["a", "b", "c"], targets: [], targetWidth: 1) { body in
            try blocky.forEachBlock { n, x in try body(n, UnsafeMutablePointer(mutating: x)) }
        }
        let loader = BatchLoader(producer: blocky, batchSize: 32, shuffled: true, preprocessor: p, encoding: .indices, seed: 5)
        let seen = try epoch(loader, width: 1)
        #expect(seen.rows.sorted() == Array(0..<rows) && seen.rows != Array(0..<rows))
        for (k, row) in seen.rows.enumerated() { #expect(seen.targets[k] == [Float(row % 2)]) }
    }
}
