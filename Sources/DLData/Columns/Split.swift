import DLCore

/// Dividing rows into held-out parts, reproducibly from a seed.
public enum Split {
    /// Picks `count` of `rows` rows to hold out. Stratified (by `classes`, one index per row),
    /// each class gives `fraction` of its rows rounded by largest remainder, so the classes'
    /// proportions in both parts match the whole to within one row each.
    /// Returns (kept, held out), each in ascending row order.
    public static func holdOut(rows: Int, fraction: Double, classes: [Int]? = nil, seed: UInt64) -> (kept: [Int], heldOut: [Int]) {
        var rng = RandomSource(seed: seed)
        // As scikit-learn's train_test_split: a fractional size rounds up.
        let total = min(rows - 1, max(1, Int((fraction * Double(rows)).rounded(.up))))
        var held: [Int] = []
        if let classes {
            var members: [Int: [Int]] = [:]
            for (row, c) in classes.enumerated() { members[c, default: []].append(row) }
            let order = members.keys.sorted()
            let exact = order.map { Double(members[$0]!.count) * Double(total) / Double(rows) }
            var counts = exact.map { Int($0) }
            // Hand the rows still missing to the classes with the largest remainders.
            let remainders = order.indices.sorted { (exact[$0] - Double(counts[$0]), $1) > (exact[$1] - Double(counts[$1]), $0) }
            for k in remainders.prefix(total - counts.reduce(0, +)) { counts[k] += 1 }
            for (k, c) in order.enumerated() {
                var rowsOfClass = members[c]!
                shuffle(&rowsOfClass, &rng)
                held += rowsOfClass.prefix(counts[k])
            }
        } else {
            var all = Array(0..<rows)
            shuffle(&all, &rng)
            held = Array(all.prefix(total))
        }
        let heldSet = Set(held)
        return ((0..<rows).filter { !heldSet.contains($0) }, held.sorted())
    }

    /// K folds: fold k is the held-out part of the k-th split; folds partition the rows.
    /// Stratified folds deal each class's shuffled rows round-robin, so every fold has each
    /// class in proportion (to within one row).
    public static func folds(rows: Int, k: Int, classes: [Int]? = nil, seed: UInt64) -> [[Int]] {
        var rng = RandomSource(seed: seed)
        var folds = [[Int]](repeating: [], count: k)
        if let classes {
            var members: [Int: [Int]] = [:]
            for (row, c) in classes.enumerated() { members[c, default: []].append(row) }
            var next = 0
            for c in members.keys.sorted() {
                var rowsOfClass = members[c]!
                shuffle(&rowsOfClass, &rng)
                for row in rowsOfClass {
                    folds[next % k].append(row)
                    next += 1
                }
            }
        } else {
            var all = Array(0..<rows)
            shuffle(&all, &rng)
            for (i, row) in all.enumerated() { folds[i % k].append(row) }
        }
        return folds.map { $0.sorted() }
    }

    /// Fisher–Yates with our generator (the standard library's shuffle may change between releases).
    static func shuffle(_ items: inout [Int], _ rng: inout RandomSource) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            items.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
    }
}
