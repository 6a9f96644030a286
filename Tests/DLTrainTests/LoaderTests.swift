import DLData
import Testing

@Suite struct LoaderTests {
    /// Over an epoch the batches are a permutation of the rows, with features and
    /// targets kept together; the next epoch's order differs; the same seed repeats it.
    @Test func epochIsAPermutation() {
        let rows = 23, d = 3
        let data = Dataset(features: (0..<(rows * d)).map(Float.init), rows: rows, columns: d,
                           featureNames: ["a", "b", "c"], targets: (0..<rows).map(Float.init), classNames: [])
        let loader = MinibatchLoader(dataset: data, batchSize: 5, seed: 3)
        #expect(loader.batchCount == 5)
        var x = [Float](repeating: 0, count: 5 * d), y = [Float](repeating: 0, count: 5)
        var seen: [Int] = []
        loader.shuffle()
        for b in 0..<loader.batchCount {
            let n = loader.gather(batch: b, features: &x, targets: &y)
            for r in 0..<n {
                let row = Int(y[r])
                #expect(x[r * d] == Float(row * d) && x[r * d + 2] == Float(row * d + 2))
                seen.append(row)
            }
        }
        #expect(seen.sorted() == Array(0..<rows))
        #expect(seen != Array(0..<rows))
        let first = (0..<5).flatMap { loader.indices(ofBatch: $0) }
        loader.shuffle()
        #expect((0..<5).flatMap { loader.indices(ofBatch: $0) } != first)
        let again = MinibatchLoader(dataset: data, batchSize: 5, seed: 3)
        again.shuffle()
        #expect((0..<5).flatMap { again.indices(ofBatch: $0) } == seen)
        #expect(MinibatchLoader(dataset: data, batchSize: 5, seed: 3, dropLast: true).batchCount == 4)
    }
}
