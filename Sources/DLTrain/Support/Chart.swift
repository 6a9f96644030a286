import Foundation

/// A small SVG line-chart writer: panels stacked vertically, each with axes, "nice" ticks,
/// grid lines and a legend. Used for curves.svg (and sweep plots).
struct Chart {
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var color: String
        var dashed = false
        /// Points without a line (a scatter, as for sweep trials).
        var dots = false
    }

    struct Panel {
        var title: String
        var yLabel: String
        var series: [Series]
        var logY = false
        var logX = false

        init(title: String, yLabel: String, series: [Series], logY: Bool = false, logX: Bool = false) {
            self.title = title
            self.yLabel = yLabel
            self.series = series
            self.logY = logY
            self.logX = logX
        }
    }

    var title: String
    var xLabel: String
    var panels: [Panel]
    /// Whole-number x ticks (epochs); off for rates and probabilities.
    var integerXTicks = true
    /// The legend's room right of the plot (wider for long series names).
    var right = 170.0
    let width = 760.0, panelHeight = 230.0, left = 78.0, top = 64.0, gap = 70.0

    func svg() -> String {
        let height = top + Double(panels.count) * (panelHeight + gap)
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="24" text-anchor="middle" font-size="16" font-weight="bold">\(escape(title))</text>

            """
        for (k, panel) in panels.enumerated() {
            out += draw(panel, at: top + Double(k) * (panelHeight + gap))
        }
        return out + "</svg>\n"
    }

    private func draw(_ panel: Panel, at y0: Double) -> String {
        let plotWidth = width - left - right, plotHeight = panelHeight
        let finite = panel.series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!panel.logY || $0.y > 0) && (!panel.logX || $0.x > 0) }
        var out = "<text x=\"\(Int(left))\" y=\"\(Int(y0 - 10))\" font-size=\"14\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
        guard let xMin0 = finite.map(\.x).min(), let xMax0 = finite.map(\.x).max(),
              let yMin0 = finite.map(\.y).min(), let yMax0 = finite.map(\.y).max() else {
            return out + "<text x=\"\(Int(left + 10))\" y=\"\(Int(y0 + 30))\" fill=\"#888\">no data yet</text>\n"
        }
        func transform(_ v: Double, _ log: Bool) -> Double { log ? Foundation.log10(v) : v }
        var (xMin, xMax) = (transform(xMin0, panel.logX), transform(xMax0, panel.logX))
        var (yMin, yMax) = (transform(yMin0, panel.logY), transform(yMax0, panel.logY))
        if xMax - xMin < 1e-12 { xMin -= 0.5; xMax += 0.5 }
        if yMax - yMin < 1e-12 * Swift.max(1, Swift.abs(yMax)) { yMin -= 0.5 * Swift.max(1e-3, Swift.abs(yMin)); yMax += 0.5 * Swift.max(1e-3, Swift.abs(yMax)) }
        let pad = 0.05 * (yMax - yMin)
        yMin -= pad
        yMax += pad
        // Positions from transformed values (ticks are already in log10 units on log axes)...
        func tx(_ t: Double) -> Double { left + (t - xMin) / (xMax - xMin) * plotWidth }
        func ty(_ t: Double) -> Double { y0 + plotHeight - (t - yMin) / (yMax - yMin) * plotHeight }
        // ...and from data values.
        func px(_ x: Double) -> Double { tx(transform(x, panel.logX)) }
        func py(_ y: Double) -> Double { ty(transform(y, panel.logY)) }
        func tickLabel(_ t: Double, _ log: Bool) -> String { log ? Chart.label(Foundation.pow(10, t)) : Chart.label(t) }

        out += "<rect x=\"\(f(left))\" y=\"\(f(y0))\" width=\"\(f(plotWidth))\" height=\"\(f(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        for tick in Chart.ticks(yMin, yMax, log: panel.logY) {
            let y = ty(tick)
            out += "<line x1=\"\(f(left))\" x2=\"\(f(left + plotWidth))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"#e4e4e4\"/>\n"
            out += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(tickLabel(tick, panel.logY))</text>\n"
        }
        for tick in Chart.ticks(xMin, xMax, log: panel.logX, integers: integerXTicks && !panel.logX) {
            let x = tx(tick)
            out += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(y0))\" y2=\"\(f(y0 + plotHeight))\" stroke=\"#f0f0f0\"/>\n"
            out += "<text x=\"\(f(x))\" y=\"\(f(y0 + plotHeight + 16))\" text-anchor=\"middle\">\(tickLabel(tick, panel.logX))</text>\n"
        }
        out += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(y0 + plotHeight + 34))\" text-anchor=\"middle\" fill=\"#444\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(\(f(18)),\(f(y0 + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\" fill=\"#444\">\(escape(panel.yLabel))</text>\n"
        for (k, series) in panel.series.enumerated() {
            let points = series.points.filter { $0.x.isFinite && $0.y.isFinite && (!panel.logY || $0.y > 0) && (!panel.logX || $0.x > 0) }
            let dash = series.dashed ? " stroke-dasharray=\"5,3\"" : ""
            if series.dots {
                for p in points { out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"4\" fill=\"\(series.color)\" fill-opacity=\"0.7\"/>\n" }
            } else if points.count > 1 {
                let path = points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"1.8\"\(dash)/>\n"
            } else {
                for p in points { out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(series.color)\"/>\n" }
            }
            let ly = y0 + 14 + Double(k) * 18, lx = left + plotWidth + 14
            out += "<line x1=\"\(f(lx))\" x2=\"\(f(lx + 22))\" y1=\"\(f(ly - 4))\" y2=\"\(f(ly - 4))\" stroke=\"\(series.color)\" stroke-width=\"2\"\(dash)/>\n"
            out += "<text x=\"\(f(lx + 28))\" y=\"\(f(ly))\">\(escape(series.name))</text>\n"
        }
        return out
    }

    /// Tick positions (in transformed units: log10 for a log axis) at 1, 2 or 5 times a power of ten.
    static func ticks(_ low: Double, _ high: Double, log: Bool, integers: Bool = false) -> [Double] {
        if log {
            let first = Foundation.ceil(low), last = Foundation.floor(high)
            if last >= first { return stride(from: first, through: last, by: Swift.max(1, Foundation.ceil((last - first + 1) / 8))).map { $0 } }
        }
        let rough = (high - low) / 6
        let magnitude = Foundation.pow(10, Foundation.floor(Foundation.log10(rough)))
        var step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        if integers { step = Swift.max(1, step.rounded()) }
        let first = Foundation.ceil(low / step) * step
        return stride(from: first, through: high + step * 1e-9, by: step).map { Swift.abs($0) < step * 1e-9 ? 0 : $0 }
    }

    /// A tick label.
    static func label(_ v: Double) -> String {
        if v == v.rounded() && Swift.abs(v) < 1e6 { return String(Int(v)) }
        if Swift.abs(v) >= 1e-4 && Swift.abs(v) < 1e6 { return String(format: "%.4g", v) }
        return String(format: "%g", v)
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
    private func f(_ v: Double) -> String { Chart.f(v) }
    private func escape(_ s: String) -> String { Chart.escape(s) }
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
