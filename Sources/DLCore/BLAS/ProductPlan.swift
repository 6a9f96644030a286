import Glibc

/// One matrix product as BLAS sees it: `op(A)` (m, k) times `op(B)` (k, n), row-major.
public struct ProductShape: Hashable, Sendable, CustomStringConvertible {
    public let transposeA: Bool, transposeB: Bool
    public let m: Int, n: Int, k: Int

    public init(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int) {
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.m = m
        self.n = n
        self.k = k
    }

    /// "NT 128x512x256": the transposes of A and B, then m x n x k.
    public var description: String { "\(transposeA ? "T" : "N")\(transposeB ? "T" : "N") \(m)x\(n)x\(k)" }

    /// Reads ``description``'s form; nil for anything else.
    public init?(text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 2, parts[0].count == 2, parts[0].allSatisfy({ $0 == "N" || $0 == "T" }) else { return nil }
        let sizes = parts[1].split(separator: "x", omittingEmptySubsequences: false).compactMap { Int($0) }
        guard sizes.count == 3, sizes.allSatisfy({ $0 >= 1 }) else { return nil }
        self.init(transposeA: parts[0].first == "T", transposeB: parts[0].last == "T", m: sizes[0], n: sizes[1], k: sizes[2])
    }

    /// Multiply-adds times two.
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }
}

/// How a product is computed: shared between dltrain's two threads (``BLAS/threadCount`` 2),
/// the caller computing one part of C and the helper thread the other, each a single-threaded
/// OpenBLAS call; whole in one OpenBLAS call; or in dltrain's own register tiles, for a small
/// product.
///
/// Which is fastest depends on the shape, the CPU and the library's kernels for it (on an AMD
/// EPYC Zen 3 with OpenBLAS 0.3.21, rows beat columns by 5% on 512x2048x2048 NN and columns
/// beat rows by 10% on 128x512x784 NN), so a training step can measure its own shapes once
/// (``ProductPlan/measure(_:)``). The route also decides which code computes each element of
/// C, and so its rounding: a run records its plan in the checkpoint and a resume reuses it.
public enum ProductRoute: String, Sendable, CaseIterable {
    /// The caller computes C's first columns (a multiple of 16), the helper the rest.
    case columns
    /// The caller computes C's first rows (a multiple of 16), the helper the rest.
    case rows
    /// The caller computes all of C in OpenBLAS; the helper stays free.
    case whole
    /// The caller computes all of C in dltrain's register tiles (``dl_sgemm_tiles``), which
    /// read A and B in place: for products of up to 2^18 multiply-adds on a CPU with AVX2 and FMA.
    case tiles
}

/// The route of each product shape of a training step, decided once before it trains.
public struct ProductPlan: Sendable, Equatable {
    public private(set) var routes: [ProductShape: ProductRoute] = [:]
    /// The shapes in the order they were planned (the step's order), for printing.
    public private(set) var shapes: [ProductShape] = []
    /// GFLOP/s each candidate reached when the plan was measured; empty for a recorded plan.
    public private(set) var rates: [ProductShape: [ProductRoute: Double]] = [:]
    /// Seconds that measuring took (0 for a recorded plan).
    public private(set) var measuringSeconds = 0.0

    public init() {}

    /// A recorded plan, as ``entries`` lists it.
    public init(entries: [(shape: ProductShape, route: ProductRoute)]) {
        for (shape, route) in entries { add(shape, route) }
    }

    public var isEmpty: Bool { shapes.isEmpty }
    public var entries: [(shape: ProductShape, route: ProductRoute)] { shapes.map { ($0, routes[$0]!) } }
    @inline(__always) public subscript(shape: ProductShape) -> ProductRoute? { routes[shape] }

    private mutating func add(_ shape: ProductShape, _ route: ProductRoute, rates measured: [ProductRoute: Double]? = nil) {
        if routes.updateValue(route, forKey: shape) == nil { shapes.append(shape) }
        if let measured { rates[shape] = measured }
    }

    /// Times each route ``BLAS`` may take for each shape that has a choice, on this machine now,
    /// and keeps the fastest: C's columns, rows or whole for a product the two threads split,
    /// OpenBLAS or the register tiles for a small one. Candidates are timed in interleaved
    /// rounds and each keeps its best round, so a slow moment of a shared machine does not
    /// decide. The rule's route (``BLAS/ruleRoute(_:)``) stays unless another is at least 3%
    /// faster, so that nearly equal candidates do not flip from run to run. Empty when no shape
    /// has a choice.
    public static func measure(_ step: [ProductShape]) -> ProductPlan {
        var plan = ProductPlan()
        let started = monotonicSeconds()
        let splitting = BLAS.splitting && HelperThread.shared != nil
        var seen = Set<ProductShape>()
        let shapes = step.filter { seen.insert($0).inserted && (BLAS.isTilesCandidate($0) || splitting && BLAS.isSplitCandidate($0)) }
        guard let largest = shapes.map({ Swift.max($0.m * $0.k, $0.k * $0.n, $0.m * $0.n) }).max() else { return plan }
        let a = UnsafeMutablePointer<Float>.allocate(capacity: largest), b = UnsafeMutablePointer<Float>.allocate(capacity: largest)
        let c = UnsafeMutablePointer<Float>.allocate(capacity: largest)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        for i in 0..<largest {  // small values whose products stay normal numbers
            a[i] = Float(i % 7 + 1) / 64
            b[i] = Float(i % 5 + 1) / 64
            c[i] = 0
        }
        for shape in shapes {
            let rule = BLAS.ruleRoute(shape)
            // A whole product on one thread is half as fast as a split one once it is large.
            let candidates = rule == .tiles ? [ProductRoute.tiles, .whole]
                : [ProductRoute.columns, .rows, .whole].filter { BLAS.canTake(shape, $0) && ($0 != .whole || shape.flops < 2e8) }
            // A small product takes microseconds: shorter timings, and less time for the shape.
            let window = rule == .tiles ? 3e-4 : 2e-3, budget = rule == .tiles ? 8e-3 : 6e-2
            var best = [ProductRoute: Double]()
            let lda = shape.transposeA ? shape.m : shape.k, ldb = shape.transposeB ? shape.k : shape.n
            // Round 0 warms up; then at least 3 rounds, and more while the shape has had less than its budget.
            var spent = 0.0, round = 0
            while round < 4 || (round < 12 && spent < budget) {
                for route in candidates {
                    let seconds = timePerCall(over: window) {
                        BLAS.sgemm(shape.transposeA, shape.transposeB, shape.m, shape.n, shape.k, 1, a, lda, b, ldb, 0, c, shape.n, route: route)
                    }
                    spent += Swift.max(seconds, window)
                    if round > 0 { best[route] = Swift.min(best[route] ?? .infinity, seconds) }
                }
                round += 1
            }
            let fastest = candidates.min { best[$0]! < best[$1]! }!
            let chosen = best[fastest]! < 0.97 * best[rule]! ? fastest : rule
            plan.add(shape, chosen, rates: best.mapValues { shape.flops / $0 / 1e9 })
        }
        plan.measuringSeconds = monotonicSeconds() - started
        return plan
    }

    /// Seconds per call of `body`, over at least `window` seconds.
    private static func timePerCall(over window: Double, _ body: () -> Void) -> Double {
        let start = monotonicSeconds()
        var calls = 0, elapsed = 0.0
        repeat {
            body()
            calls += 1
            elapsed = monotonicSeconds() - start
        } while elapsed < window
        return elapsed / Double(calls)
    }

    /// One line per planned shape: "NN 128x512x784 columns (columns 162, rows 148, whole 87 GFLOP/s)".
    public var lines: [String] {
        entries.map { shape, route in
            guard let measured = rates[shape] else { return "\(shape) \(route.rawValue) (recorded)" }
            let figures = ProductRoute.allCases.compactMap { r in measured[r].map { "\(r.rawValue) \(Int($0.rounded()))" } }
            return "\(shape) \(route.rawValue) (\(figures.joined(separator: ", ")) GFLOP/s)"
        }
    }
}
