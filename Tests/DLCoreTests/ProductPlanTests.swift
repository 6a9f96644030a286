import DLCore
import Foundation
import Testing

/// The per-shape route of products: every split between dltrain's two threads computes the
/// product, a measured plan covers exactly the shapes with a choice, and an executor lists the
/// products of its step.
@Suite(.serialized) struct ProductPlanTests {
    /// Each split (C's columns, C's rows, the whole on one thread) against a double loop, for
    /// every pair of transposes, shapes whose halves are not equal, padded leading dimensions,
    /// and beta 0 and 1. On a two-core machine these shapes are split (a million
    /// multiply-adds and more); elsewhere every split is the whole product.
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func everySplitComputesTheProduct(transposeA: Bool, transposeB: Bool) {
        let (m, n, k) = (72, 98, 160)
        var rng = RandomSource(seed: 7)
        let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 1, ldc = n + 2
        let a = (0..<((transposeA ? k : m) * lda)).map { _ in Float(rng.normal()) }
        let b = (0..<((transposeB ? n : k) * ldb)).map { _ in Float(rng.normal()) }
        let before = (0..<(m * ldc)).map { _ in Float(rng.normal()) }
        let shape = ProductShape(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k)
        #expect(BLAS.ruleRoute(shape) == .columns)
        for split in [ProductRoute.columns, .rows, .whole] {
            for beta in [Float(0), Float(1)] {
                var c = before
                c.withUnsafeMutableBufferPointer { cp in
                    Float.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                               beta: beta, c: cp.baseAddress!, ldc: ldc, route: split)
                }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<ldc {
                        guard j < n else {
                            #expect(c[i * ldc + j] == before[i * ldc + j], "padding at (\(i), \(j)) was written by \(split)")
                            continue
                        }
                        var sum = Double(beta) * Double(before[i * ldc + j])
                        for p in 0..<k {
                            let x = transposeA ? a[p * lda + i] : a[i * lda + p], y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                            sum += Double(x) * Double(y)
                        }
                        worst = Swift.max(worst, Swift.abs(Double(c[i * ldc + j]) - sum) / (1 + Swift.abs(sum)))
                    }
                }
                #expect(worst < 1e-5, "\(shape) split by \(split), beta \(beta): relative error \(worst)")
            }
        }
    }

    @Test func shapeTextRoundTrips() {
        let shape = ProductShape(transposeA: false, transposeB: true, m: 128, n: 512, k: 256)
        #expect(shape.description == "NT 128x512x256")
        #expect(ProductShape(text: "NT 128x512x256") == shape)
        for bad in ["NX 1x2x3", "NN 1x2", "NN 0x2x3", "NN axbxc", "N 1x2x3", "NN 1x2x3 4", ""] {
            #expect(ProductShape(text: bad) == nil, "\(bad)")
        }
    }

    /// Measuring times each shape that has a choice, once each: the large ones the threads
    /// split (keeping a split that can cut the shape) and the small ones the register tiles may
    /// take (keeping the tiles or OpenBLAS); a product with neither choice is not planned.
    @Test func measuredPlanCoversTheShapesWithAChoice() {
        let large = ProductShape(transposeA: false, transposeB: false, m: 64, n: 256, k: 128)
        let narrow = ProductShape(transposeA: true, transposeB: false, m: 256, n: 10, k: 640)
        let small = ProductShape(transposeA: false, transposeB: false, m: 16, n: 16, k: 16)
        let neither = ProductShape(transposeA: false, transposeB: false, m: 32, n: 10, k: 64)
        let plan = ProductPlan.measure([large, small, neither, narrow, large, small])
        let splitting = BLAS.threadCount == 2 && HelperThread.shared != nil
        let expected = [large, small, narrow].filter { $0 == small ? BLAS.tilesAvailable : splitting }
        #expect(plan.entries.map(\.shape) == expected)
        #expect(plan[neither] == nil)
        if splitting { #expect(plan[narrow] != .columns, "a 10-column product cannot be cut in columns of 16") }
        if BLAS.tilesAvailable { #expect(plan[small] == .tiles || plan[small] == .whole) }
        for (shape, route) in plan.entries {
            let rates = plan.lines.first { $0.hasPrefix(shape.description) }
            #expect(rates?.contains("GFLOP/s") == true, "\(plan.lines)")
            #expect(route == BLAS.ruleRoute(shape) || route != .whole || shape.flops < 2e8)
        }
        #expect((plan.measuringSeconds > 0) == !expected.isEmpty)
        #expect(ProductPlan(entries: plan.entries) == ProductPlan(entries: plan.entries))
    }

    /// A two-layer network's step: both forward products, then the backward ones in the order
    /// they run; the first layer's input gradient is never computed, so never listed.
    @Test func executorListsItsStepProducts() throws {
        let g = Graph()
        let x = try g.input("x", shape: [Shape.batch, 784])
        let w1 = try g.parameter("w1", shape: [784, 512]), w2 = try g.parameter("w2", shape: [512, 10])
        let out = try g.matmul(try g.unary(.relu, try g.matmul(x, w1)), w2)
        _ = try g.mean(out)
        let step = try Executor<Float>(graph: g, parameters: ParameterStore<Float>(for: g), batchCapacity: 128)
        step.rows = 5
        #expect(step.stepProducts().map(\.description) == ["NN 128x512x784", "NN 128x10x512", "NT 128x512x10", "TN 512x10x128", "TN 784x512x128"])
        #expect(step.rows == 5)
        let evaluation = try Executor<Float>(graph: g, parameters: step.parameters, batchCapacity: 64, gradients: false)
        #expect(evaluation.stepProducts().map(\.description) == ["NN 64x512x784", "NN 64x10x512"])
    }
}

/// The memory-bound passes shared with the helper: the same result as one thread's pass
/// (zeroing), or the two fixed halves' sums whether or not the helper is free (the norm).
@Suite(.serialized) struct SplitPassesTests {
    @Test(arguments: [0, 5, 1_000, SplitPasses.minimumCount - 1, SplitPasses.minimumCount, 100_003])
    func zeroingClearsExactlyTheWindow(count: Int) {
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count + 2)
        defer { buffer.deallocate() }
        for i in 0..<(count + 2) { buffer[i] = Float(i + 1) }
        SplitPasses.zero(buffer + 1, count: count)
        #expect(buffer[0] == 1 && buffer[count + 1] == Float(count + 2), "a neighbour of the window was written")
        #expect((0..<count).allSatisfy { buffer[1 + $0] == 0 })
    }

    @Test(arguments: [7, 40_000, 100_003])
    func sumOfSquaresIsTheHalvesSum(count: Int) {
        var rng = RandomSource(seed: UInt64(count))
        let x = (0..<count).map { _ in Float(rng.normal()) }
        let reference = x.reduce(0.0) { $0 + Double($1) * Double($1) }
        let free = x.withUnsafeBufferPointer { SplitPasses.sumOfSquares($0.baseAddress!, count: count) }
        #expect(Swift.abs(free - reference) < 1e-5 * reference)
        // With the helper held by another caller, this thread computes both halves: the same bits.
        guard let helper = HelperThread.shared, helper.claim() else { return }
        let busy = x.withUnsafeBufferPointer { SplitPasses.sumOfSquares($0.baseAddress!, count: count) }
        helper.start(HelperThread.Job({ _ in }, UnsafeMutableRawPointer(bitPattern: 1)!))
        helper.finish()
        #expect(busy == free)
    }
}

/// Where each parameter's piece of the slab is cut between the threads: a weight matrix where
/// a row split of its gradient product cuts it, anything else large at half, small ones not.
@Suite(.serialized) struct SlabPieceTests {
    @Test func cutsFollowTheRowSplitOfEachMatrix() throws {
        let g = Graph()
        _ = try g.parameter("w1", shape: [784, 512])          // a dense layer's weights: cut at row 400
        _ = try g.parameter("b1", shape: [512])               // small: not cut
        _ = try g.parameter("frozen", shape: [300, 200], trainable: false)  // cut at row 160
        _ = try g.parameter("table", shape: [40_000])         // large, one row: cut at half
        _ = try g.parameter("flat", shape: [16, 4_096])       // large, too few rows for a row split: at half
        let pieces = g.slabPieces()
        #expect(pieces.map(\.range) == g.parameters.map { $0.offset..<($0.offset + $0.count) })
        #expect(pieces[0].cut == 400 * 512 && BLAS.firstPartOfSplit(784) == 400)
        #expect(pieces[1].cut == pieces[1].range.upperBound)
        #expect(pieces[2].cut == pieces[2].range.lowerBound + 160 * 200)
        #expect(pieces[3].cut == pieces[3].range.lowerBound + 20_000)
        #expect(pieces[4].cut == pieces[4].range.lowerBound + 32_768)
        #expect(g.slabPieces(trainableOnly: true).map(\.range) == [pieces[0], pieces[1], pieces[3], pieces[4]].map(\.range))
        #expect(ParameterStore<Float>(for: g).pieces == pieces)
    }

    @Test func zeroingAndSumsFollowTheCut() {
        let count = 3 * SplitPasses.minimumCount + 5
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: count + 2)
        defer { buffer.deallocate() }
        var rng = RandomSource(seed: 11)
        for i in 0..<(count + 2) { buffer[i] = Float(rng.normal()) }
        let piece = SlabPiece(range: 1..<(count + 1), cut: 1 + 2 * SplitPasses.minimumCount + 16)
        // Each part alone, as an uncut piece, on this thread.
        let first = SplitPasses.sumOfSquares(UnsafePointer(buffer), piece: SlabPiece(range: 1..<piece.cut, cut: piece.cut))
        let second = SplitPasses.sumOfSquares(UnsafePointer(buffer), piece: SlabPiece(range: piece.cut..<(count + 1), cut: count + 1))
        #expect(SplitPasses.sumOfSquares(UnsafePointer(buffer), piece: piece) == first + second)
        let before = (buffer[0], buffer[count + 1])
        SplitPasses.zero(buffer, piece: piece)
        #expect(buffer[0] == before.0 && buffer[count + 1] == before.1, "a neighbour of the piece was written")
        #expect((1...count).allSatisfy { buffer[$0] == 0 })
    }
}
