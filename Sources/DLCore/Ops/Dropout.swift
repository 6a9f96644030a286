// Inverted dropout (Srivastava et al. 2014): in training, each element is kept with
// probability 1 − p and scaled by 1/(1 − p), so evaluation needs no rescaling.
//
//   y = x ⊙ mask,  mask_i ∈ {0, 1/(1 − p)}       x (...) -> y (...)
//   dx += G ⊙ mask
// Evaluation mode: y = x, dx += G. The mask lives in the node's scratch; `holdMasks` keeps it.

extension Graph {
    public func dropout(_ x: NodeID, rate: Double) throws -> NodeID {
        try checkNode("dropout", x)
        guard rate >= 0 && rate < 1 else { throw ShapeError("dropout", "rate must be in [0, 1), got \(rate)") }
        return append(.dropout(x, rate: rate), shape(x))
    }
}

extension Executor {
    func dropoutForward(_ x: NodeID, _ rate: Double, _ out: NodeID) {
        let n = count(out), xs = value[x.index], ys = value[out.index], mask = scratch[out.index]!
        guard training else {
            ys.update(from: xs, count: n)
            return
        }
        if !holdMasks {
            // Keep when a 32-bit draw is at or above rate · 2³²: exact to 2⁻³², cheap per element.
            let threshold = UInt64(rate * 4_294_967_296.0), kept = T(1 / (1 - rate))
            // A slice of a data-parallel batch draws past the other replicas' rows, so the
            // masks (and the generator afterwards) are those of one process with every row.
            let perRow = n / max(rows, 1)
            if let share { for _ in 0..<(share.rowsBefore * perRow) { _ = rng.next() } }
            for i in 0..<n { mask[i] = (rng.next() >> 32) >= threshold ? kept : 0 }
            if let share { for _ in 0..<((share.globalRows - share.rowsBefore - rows) * perRow) { _ = rng.next() } }
        }
        for i in 0..<n { ys[i] = xs[i] * mask[i] }
    }

    func dropoutBackward(_ x: NodeID, _ rate: Double, _ out: NodeID) {
        guard let dx = grad[x.index] else { return }
        let n = count(out), g = grad[out.index]!
        if forwardWasTraining {
            let mask = scratch[out.index]!
            for i in 0..<n { dx[i] += g[i] * mask[i] }
        } else {
            for i in 0..<n { dx[i] += g[i] }
        }
    }
}
