import Foundation

/// The pictures of a classifier's evaluation, from one ``ClassificationMetrics``:
///
///     roc.svg           true against false positive rate at every distinct score (binary: the
///                       positive class; several classes: one curve per class, one-vs-rest)
///     pr.svg            precision against recall, the same way, with each class's prevalence
///     calibration.svg   the reliability diagram: accuracy against mean confidence of the
///                       argmax per bin of ECE's 15, and the rows in each bin
///     confusion.svg     the confusion matrix: counts, shaded by the fraction of the true class
enum EvaluationPlots {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    /// Writes the four plots into `directory` (made if missing); returns a line naming them.
    static func write(_ metrics: ClassificationMetrics, to directory: String) throws -> String {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw RunFailure("cannot create the plot directory \(directory): \(error.localizedDescription)")
        }
        let files = [("roc.svg", roc(metrics)), ("pr.svg", precisionRecall(metrics)),
                     ("calibration.svg", calibration([("predictions", metrics)], title: "Reliability diagram")), ("confusion.svg", confusion(metrics))]
        for (name, svg) in files { try writeTextAtomically(svg, to: "\(directory)/\(name)") }
        return "plots: " + files.map { "\(directory)/\($0.0)" }.joined(separator: ", ")
    }

    /// The classes drawn: the positive one of a binary task, every class otherwise (at most 10).
    private static func drawnClasses(_ m: ClassificationMetrics) -> [Int] {
        m.classes.count == 2 ? [1] : Array(0..<Swift.min(m.classes.count, palette.count))
    }

    static func roc(_ m: ClassificationMetrics) -> String {
        var series: [Chart.Series] = []
        for (i, k) in drawnClasses(m).enumerated() {
            let (scores, positives) = m.oneVersusRest(k)
            let p = positives.filter { $0 }.count, n = positives.count - p
            guard p > 0 && n > 0 else { continue }
            let points = [(x: 0.0, y: 0.0)] + ClassificationMetrics.rankingCurve(scores: scores, positives: positives)
                .map { (x: Double($0.falsePositives) / Double(n), y: Double($0.truePositives) / Double(p)) }
            let auc = ClassificationMetrics.rocAUC(scores: scores, positives: positives) ?? .nan
            series.append(Chart.Series(name: String(format: "%@ (AUC %.3f)", String(m.classes[k].prefix(14)), auc), points: points, color: palette[i]))
        }
        series.append(Chart.Series(name: "chance", points: [(0, 0), (1, 1)], color: "#999", dashed: true))
        let title = m.classes.count == 2 ? "ROC curve of \"\(m.classes[1])\"" : "ROC curves, one class against the rest"
        var chart = Chart(title: title, xLabel: "false positive rate", panels: [Chart.Panel(title: "\(m.rows) rows", yLabel: "true positive rate", series: series)])
        chart.integerXTicks = false
        chart.right = 230
        return chart.svg()
    }

    static func precisionRecall(_ m: ClassificationMetrics) -> String {
        var series: [Chart.Series] = []
        for (i, k) in drawnClasses(m).enumerated() {
            let (scores, positives) = m.oneVersusRest(k)
            let p = positives.filter { $0 }.count
            guard p > 0 else { continue }
            let curve = ClassificationMetrics.rankingCurve(scores: scores, positives: positives)
            let points = curve.map { (x: Double($0.truePositives) / Double(p), y: Double($0.truePositives) / Double($0.truePositives + $0.falsePositives)) }
            let prevalence = Double(p) / Double(Swift.max(positives.count, 1))
            var name = String(m.classes[k].prefix(14))
            if m.classes.count == 2, let ap = m.averagePrecision { name += String(format: " (AP %.3f)", ap) }
            series.append(Chart.Series(name: name, points: points, color: palette[i]))
            series.append(Chart.Series(name: String(format: "prevalence %.3f", prevalence), points: [(0, prevalence), (1, prevalence)], color: palette[i], dashed: true))
        }
        let title = m.classes.count == 2 ? "Precision and recall of \"\(m.classes[1])\"" : "Precision and recall, one class against the rest"
        var chart = Chart(title: title, xLabel: "recall", panels: [Chart.Panel(title: "\(m.rows) rows", yLabel: "precision", series: series)])
        chart.integerXTicks = false
        chart.right = 230
        return chart.svg()
    }

    /// The reliability diagram of one or more sets of predictions of the same rows (before and
    /// after calibration): per bin, accuracy against mean confidence (a marker for each
    /// non-empty bin), the diagonal of perfect calibration, and beneath, the rows per bin.
    static func calibration(_ sets: [(name: String, metrics: ClassificationMetrics)], title: String) -> String {
        let width = 780.0, left = 70.0, top = 60.0, size = 360.0, histogramTop = top + size + 60, histogramHeight = 120.0
        let height = histogramTop + histogramHeight + 60
        let bins = ClassificationMetrics.calibrationBins
        func x(_ v: Double) -> Double { left + v * size }
        func y(_ v: Double) -> Double { top + (1 - v) * size }
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="26" text-anchor="middle" font-size="16" font-weight="bold">\(Chart.escape(title))</text>

            """
        out += "<rect x=\"\(Chart.f(left))\" y=\"\(Chart.f(top))\" width=\"\(Chart.f(size))\" height=\"\(Chart.f(size))\" fill=\"none\" stroke=\"#333\"/>\n"
        for t in stride(from: 0.0, through: 1.0001, by: 0.2) {
            out += "<line x1=\"\(Chart.f(left))\" x2=\"\(Chart.f(left + size))\" y1=\"\(Chart.f(y(t)))\" y2=\"\(Chart.f(y(t)))\" stroke=\"#eee\"/>\n"
            out += "<line x1=\"\(Chart.f(x(t)))\" x2=\"\(Chart.f(x(t)))\" y1=\"\(Chart.f(top))\" y2=\"\(Chart.f(top + size))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(Chart.f(left - 6))\" y=\"\(Chart.f(y(t) + 4))\" text-anchor=\"end\">\(String(format: "%.1f", t))</text>\n"
            out += "<text x=\"\(Chart.f(x(t)))\" y=\"\(Chart.f(top + size + 16))\" text-anchor=\"middle\">\(String(format: "%.1f", t))</text>\n"
        }
        out += "<line x1=\"\(Chart.f(x(0)))\" y1=\"\(Chart.f(y(0)))\" x2=\"\(Chart.f(x(1)))\" y2=\"\(Chart.f(y(1)))\" stroke=\"#999\" stroke-dasharray=\"5,3\"/>\n"
        out += "<text x=\"\(Chart.f(left + size / 2))\" y=\"\(Chart.f(top + size + 34))\" text-anchor=\"middle\" fill=\"#444\">confidence (the top probability), 15 bins</text>\n"
        out += "<text transform=\"translate(20,\(Chart.f(top + size / 2))) rotate(-90)\" text-anchor=\"middle\" fill=\"#444\">accuracy in the bin</text>\n"
        let most = Double(sets.flatMap { $0.metrics.binRows }.max() ?? 1)
        for (i, set) in sets.enumerated() {
            let m = set.metrics, color = palette[i]
            var points: [String] = []
            for b in 0..<bins where m.binRows[b] > 0 {
                let confidence = m.binConfidence[b] / Double(m.binRows[b]), accuracy = Double(m.binCorrect[b]) / Double(m.binRows[b])
                points.append("\(Chart.f(x(confidence))),\(Chart.f(y(accuracy)))")
                let radius = 2.5 + 5 * (Double(m.binRows[b]) / most).squareRoot()
                out += "<circle cx=\"\(Chart.f(x(confidence)))\" cy=\"\(Chart.f(y(accuracy)))\" r=\"\(Chart.f(radius))\" fill=\"\(color)\" fill-opacity=\"0.6\"/>\n"
            }
            if points.count > 1 { out += "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"/>\n" }
            let ly = top + 16 + Double(i) * 20, lx = left + size + 20
            out += "<circle cx=\"\(Chart.f(lx + 6))\" cy=\"\(Chart.f(ly - 4))\" r=\"5\" fill=\"\(color)\" fill-opacity=\"0.6\"/>\n"
            out += "<text x=\"\(Chart.f(lx + 18))\" y=\"\(Chart.f(ly))\">\(Chart.escape(set.name)): ECE \(String(format: "%.4f", m.ece))</text>\n"
        }
        if let rows = sets.first?.metrics.rows {
            out += "<text x=\"\(Chart.f(left + size + 20))\" y=\"\(Chart.f(top + 22 + Double(sets.count) * 20))\" fill=\"#666\">\(rows) rows; marker area grows with the bin's rows</text>\n"
        }
        // Rows per bin, each set's bars side by side, the count above each bar.
        out += "<text x=\"\(Chart.f(left))\" y=\"\(Chart.f(histogramTop - 10))\" font-size=\"13\" font-weight=\"bold\">rows per confidence bin</text>\n"
        out += "<rect x=\"\(Chart.f(left))\" y=\"\(Chart.f(histogramTop))\" width=\"\(Chart.f(size))\" height=\"\(Chart.f(histogramHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        let binWidth = size / Double(bins), barWidth = (binWidth - 2) / Double(sets.count)
        for (i, set) in sets.enumerated() {
            for b in 0..<bins where set.metrics.binRows[b] > 0 {
                let count = Double(set.metrics.binRows[b]), h = (histogramHeight - 18) * count / most
                let bx = left + Double(b) * binWidth + 1 + Double(i) * barWidth, by = histogramTop + histogramHeight - h
                out += "<rect x=\"\(Chart.f(bx))\" y=\"\(Chart.f(by))\" width=\"\(Chart.f(barWidth))\" height=\"\(Chart.f(h))\" fill=\"\(palette[i])\" fill-opacity=\"0.6\"/>\n"
                // Side-by-side bars are narrow: their counts stand upright.
                let at = "\(Chart.f(bx + barWidth / 2)),\(Chart.f(by - 3))"
                out += sets.count > 1
                    ? "<text transform=\"translate(\(at)) rotate(-90)\" font-size=\"8\" dy=\"3\">\(set.metrics.binRows[b])</text>\n"
                    : "<text x=\"\(Chart.f(bx + barWidth / 2))\" y=\"\(Chart.f(by - 3))\" text-anchor=\"middle\" font-size=\"8\">\(set.metrics.binRows[b])</text>\n"
            }
        }
        for t in stride(from: 0.0, through: 1.0001, by: 0.2) {
            out += "<text x=\"\(Chart.f(x(t)))\" y=\"\(Chart.f(histogramTop + histogramHeight + 16))\" text-anchor=\"middle\">\(String(format: "%.1f", t))</text>\n"
        }
        return out + "</svg>\n"
    }

    static func confusion(_ m: ClassificationMetrics) -> String {
        let c = m.classes.count, cell = Swift.max(12, Swift.min(56, 520 / Double(c))), labelWidth = 130.0, top = 130.0
        let width = Swift.max(560, labelWidth + cell * Double(c) + 40), height = top + cell * Double(c) + 80
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(width / 2))" y="24" text-anchor="middle" font-size="16" font-weight="bold">Confusion matrix (\(m.rows) rows)</text>
            <text x="\(Int(labelWidth + cell * Double(c) / 2))" y="46" text-anchor="middle" fill="#444">predicted class</text>
            <text transform="translate(16,\(Int(top + cell * Double(c) / 2))) rotate(-90)" text-anchor="middle" fill="#444">true class</text>

            """
        for k in 0..<c {
            let name = Chart.escape(String(m.classes[k].prefix(16)))
            out += "<text x=\"\(Chart.f(labelWidth - 6))\" y=\"\(Chart.f(top + (Double(k) + 0.5) * cell + 4))\" text-anchor=\"end\">\(name)</text>\n"
            let cx = labelWidth + (Double(k) + 0.5) * cell
            out += "<text transform=\"translate(\(Chart.f(cx + 4)),\(Chart.f(top - 6))) rotate(-60)\">\(name)</text>\n"
        }
        for t in 0..<c {
            let total = Double(Swift.max(m.confusion[t].reduce(0, +), 1))
            for p in 0..<c {
                let count = m.confusion[t][p], share = Double(count) / total
                let shade = Int(255 - 200 * share)
                out += "<rect x=\"\(Chart.f(labelWidth + Double(p) * cell))\" y=\"\(Chart.f(top + Double(t) * cell))\" width=\"\(Chart.f(cell))\" height=\"\(Chart.f(cell))\" fill=\"rgb(\(shade),\(shade + (255 - shade) / 3),255)\" stroke=\"#fff\"/>\n"
                if cell >= 24 {
                    out += "<text x=\"\(Chart.f(labelWidth + (Double(p) + 0.5) * cell))\" y=\"\(Chart.f(top + (Double(t) + 0.5) * cell + 4))\" text-anchor=\"middle\" fill=\"\(share > 0.6 ? "white" : "black")\" font-size=\"\(cell >= 40 ? 12 : 9)\">\(count)</text>\n"
                }
            }
        }
        out += "<text x=\"20\" y=\"\(Chart.f(top + cell * Double(c) + 28))\" fill=\"#666\">shade: the share of the row's true class</text>\n"
        out += "<text x=\"20\" y=\"\(Chart.f(top + cell * Double(c) + 46))\" fill=\"#666\">\(m.threshold.map { String(format: "decided at threshold %.4g", $0) } ?? "decided by the most probable class")</text>\n"
        return out + "</svg>\n"
    }
}
