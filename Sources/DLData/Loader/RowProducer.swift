import DLCore

/// Raw rows (features, targets) in an epoch's order.
public protocol RowProducer: AnyObject {
    var rows: Int { get }
    var columns: Int { get }
    /// Raw target values per row (class indices have width 1).
    var targetWidth: Int { get }
    /// Orders the next epoch: shuffled from `rng`, or in storage order.
    func beginEpoch(shuffled: Bool, rng: inout RandomSource)
    /// Copies the next `count` rows of the epoch's order; returns how many there were.
    func next(_ count: Int, features: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>) throws -> Int
}

/// Rows of an in-memory dataset, all of them or a subset (a split) by index: splits share
/// the one slab instead of copying it.
///
/// Balanced (`classes`): a shuffled epoch of the same length draws every class equally
/// often, ⌊n/C⌋ rows each and one more for n mod C of them (which ones from the generator).
/// Each class's rows are taken in a shuffled order, reshuffled whenever they run out, so a
/// small class repeats evenly and a large one has a random part left out. An epoch depends
/// on the epoch's generator alone, so a resumed run orders its epochs exactly as before.
public final class InMemoryRows: RowProducer {
    public let dataset: Dataset
    public let indices: [Int]
    private var order: [Int]
    private var position = 0
    /// Balanced: the rows of each class, and a copy shuffled as they are drawn.
    private let classRows: [[Int]]
    private var shuffledClassRows: [[Int]]

    public init(_ dataset: Dataset, indices: [Int]? = nil, balancingClasses classes: Int? = nil) {
        self.dataset = dataset
        self.indices = indices ?? Array(0..<dataset.rows)
        order = self.indices
        var members: [[Int]] = []
        if let classes {
            members = Array(repeating: [], count: classes)
            for r in self.indices { members[Int(dataset.targets[r * dataset.targetWidth])].append(r) }
        }
        classRows = members
        shuffledClassRows = members
    }

    public var rows: Int { indices.count }
    public var columns: Int { dataset.columns }
    public var targetWidth: Int { dataset.targetWidth }
    public var isBalanced: Bool { !classRows.isEmpty }

    public func beginEpoch(shuffled: Bool, rng: inout RandomSource) {
        if isBalanced && shuffled {
            balancedOrder(&rng)
        } else {
            order.withUnsafeMutableBufferPointer { o in
                for i in o.indices { o[i] = indices[i] }
                guard shuffled else { return }
                InMemoryRows.shuffle(o, &rng)
            }
        }
        position = 0
    }

    private func balancedOrder(_ rng: inout RandomSource) {
        let present = classRows.indices.filter { !classRows[$0].isEmpty }
        let each = order.count / present.count, extra = order.count % present.count
        let start = Int(rng.next() % UInt64(present.count))
        var i = 0
        for (j, k) in present.enumerated() {
            let draws = each + ((j - start + present.count) % present.count < extra ? 1 : 0)
            var drawn = classRows[k].count
            for _ in 0..<draws {
                if drawn == classRows[k].count {
                    shuffledClassRows[k].withUnsafeMutableBufferPointer { rows in
                        classRows[k].withUnsafeBufferPointer { rows.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
                        InMemoryRows.shuffle(rows, &rng)
                    }
                    drawn = 0
                }
                order[i] = shuffledClassRows[k][drawn]
                drawn += 1
                i += 1
            }
        }
        order.withUnsafeMutableBufferPointer { InMemoryRows.shuffle($0, &rng) }
    }

    /// Fisher–Yates.
    private static func shuffle(_ o: UnsafeMutableBufferPointer<Int>, _ rng: inout RandomSource) {
        guard o.count > 1 else { return }
        for i in stride(from: o.count - 1, to: 0, by: -1) { o.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    }

    public func next(_ count: Int, features: UnsafeMutablePointer<Float>, targets: UnsafeMutablePointer<Float>) throws -> Int {
        let n = Swift.min(count, order.count - position), d = dataset.columns, t = dataset.targetWidth
        dataset.features.withUnsafeBufferPointer { x in
            dataset.targets.withUnsafeBufferPointer { y in
                for r in 0..<n {
                    let row = order[position + r]
                    (features + r * d).update(from: x.baseAddress! + row * d, count: d)
                    if t > 0 { (targets + r * t).update(from: y.baseAddress! + row * t, count: t) }
                }
            }
        }
        position += n
        return n
    }
}

/// Rows streamed from an HDF5 file in blocks, for data larger than memory. An epoch visits
/// the blocks in a shuffled order and each block's rows in a shuffled order: memory holds
/// one block, whatever the file's size. Targets (one value per row) are read whole.
public final class HDF5Rows: RowProducer {
    public let file: HDF5File
    public let featuresName: String
    public let rows: Int
    public let columns: Int
    public let blockRows: Int
    public let targetWidth: Int
    /// Class indices or values, one row each.
    public let targets: [Float]
    public let classNames: [String]
    public let imageShape: [Int]?
    private var blockOrder: [Int]
    private var rowOrder: [Int]
    private var block: [Float]
    private var blockIndex = 0, positionInBlock = 0, loadedRows = 0

    /// Opens `spec` for streaming with blocks of at most `memoryLimitMB`/4 of features, or
    /// of exactly `blockRows` rows when given.
    public init(_ spec: SourceSpec, kind: TargetKind, memoryLimitMB: Int, blockRows requestedBlockRows: Int? = nil) throws {
        file = try HDF5File.open(spec.path)
        guard let name = spec.features else { throw DataError(file: spec.path, "an HDF5 source names its features dataset (\"features\")") }
        featuresName = name
        let shape = try file.shape(of: name)
        guard shape.count >= 2, shape[0] > 0 else { throw DataError(file: spec.path, "features \"\(name)\" have shape \(shape); expected (N, D) or (N, H, W[, C])") }
        rows = shape[0]
        // A row must fit in memory even when the file as a whole need not.
        columns = try file.checkedCount(name, Array(shape.dropFirst()), bytesPerElement: 4)
        imageShape = shape.count > 2 ? Array(shape.dropFirst()) : nil
        // A quarter of the budget per block: the block, the batch slots and the model share the rest.
        blockRows = Swift.max(1, Swift.min(rows, requestedBlockRows ?? memoryLimitMB * 1_048_576 / 4 / (4 * columns)))
        if case .name(let targetName)? = spec.target.first {
            let (targetShape, values) = try file.read(targetName, as: Float.self)
            guard targetShape.first == rows else {
                throw DataError(file: spec.path, "features \"\(name)\" have \(rows) rows but targets \"\(targetName)\" have \(targetShape.first ?? 0)")
            }
            let width = targetShape.count == 2 ? targetShape[1] : 1
            let texts: [String]? = kind != .numeric && width == 1 ? values.map { LabelEncoder.canonical(String($0)) } : nil
            let encoded = try LabelEncoder.encode(kind: kind, texts: texts, numbers: values, width: width, names: [targetName],
                                                  path: spec.path, origins: Array(0..<rows), originIsLine: false)
            targets = encoded.targets
            targetWidth = encoded.width
            classNames = encoded.classes
        } else {
            targets = []
            targetWidth = 0
            classNames = []
        }
        let blocks = (rows + blockRows - 1) / blockRows
        blockOrder = Array(0..<blocks)
        rowOrder = Array(0..<blockRows)
        block = [Float](repeating: 0, count: blockRows * columns)
    }

    public func beginEpoch(shuffled: Bool, rng: inout RandomSource) {
        for i in blockOrder.indices { blockOrder[i] = i }
        if shuffled {
            for i in stride(from: blockOrder.count - 1, to: 0, by: -1) { blockOrder.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        }
        blockIndex = 0
        loadedRows = 0
        positionInBlock = 0
        shuffleWithinBlocks = shuffled
        rngForBlocks = RandomSource(seed: shuffled ? rng.next() : 0)
    }

    private var shuffleWithinBlocks = false
    private var rngForBlocks = RandomSource(seed: 0)

    public func next(_ count: Int, features: UnsafeMutablePointer<Float>, targets out: UnsafeMutablePointer<Float>) throws -> Int {
        var produced = 0
        while produced < count {
            if positionInBlock == loadedRows {
                guard blockIndex < blockOrder.count else { break }
                let start = blockOrder[blockIndex] * blockRows
                loadedRows = Swift.min(blockRows, rows - start)
                try block.withUnsafeMutableBufferPointer { try file.readRows(featuresName, start: start, count: loadedRows, into: $0.baseAddress!) }
                for i in 0..<loadedRows { rowOrder[i] = start + i }
                if shuffleWithinBlocks && loadedRows > 1 {
                    for i in stride(from: loadedRows - 1, to: 0, by: -1) { rowOrder.swapAt(i, Int(rngForBlocks.next() % UInt64(i + 1))) }
                }
                positionInBlock = 0
                blockIndex += 1
            }
            let row = rowOrder[positionInBlock], local = row - blockOrder[blockIndex - 1] * blockRows
            block.withUnsafeBufferPointer { (features + produced * columns).update(from: $0.baseAddress! + local * columns, count: columns) }
            for k in 0..<targetWidth { out[produced * targetWidth + k] = targets[row * targetWidth + k] }
            positionInBlock += 1
            produced += 1
        }
        return produced
    }

    /// Reads the whole feature dataset in blocks, calling `body` with each (rows, pointer):
    /// how statistics are fitted without holding the file in memory.
    public func forEachBlock(_ body: (Int, UnsafePointer<Float>) throws -> Void) throws {
        var start = 0
        while start < rows {
            let n = Swift.min(blockRows, rows - start)
            try block.withUnsafeMutableBufferPointer { try file.readRows(featuresName, start: start, count: n, into: $0.baseAddress!) }
            try block.withUnsafeBufferPointer { try body(n, $0.baseAddress!) }
            start += n
        }
    }
}
