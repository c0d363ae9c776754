import Foundation

/// One epoch of a task's training, for the report's curve.
public struct TrainingPoint: Sendable {
    public var epoch: Int
    public var validationDice: Double?
    public var cascadeDice: Double?
    public init(epoch: Int, validationDice: Double?, cascadeDice: Double?) {
        (self.epoch, self.validationDice, self.cascadeDice) = (epoch, validationDice, cascadeDice)
    }
}

/// What the page shows beside the scores: each case's worst slice (a PNG, base64) and
/// how the task trained.
public struct HTMLReportExtras: Sendable {
    public var title: String
    /// Case name → its worst slice and the PNG of it.
    public var errorSlices: [String: (slice: ErrorSlice, pngBase64: String)]
    public var training: (task: String, points: [TrainingPoint])?
    public init(title: String, errorSlices: [String: (slice: ErrorSlice, pngBase64: String)] = [:],
                training: (task: String, points: [TrainingPoint])? = nil) {
        (self.title, self.errorSlices, self.training) = (title, errorSlices, training)
    }
}

extension ScoreReport {
    /// A self-contained page (no scripts, no outside files): the summary, the cases worst
    /// Dice first with the slice where each goes most wrong, the training curve, and what
    /// could not be scored. Opens in any browser, and prints.
    public func html(_ extras: HTMLReportExtras) -> String {
        var page = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
                    "<title>\(escape(extras.title))</title>", "<style>\(Self.style)</style></head><body>",
                    "<h1>\(escape(extras.title))</h1>"]
        let s = summary
        page.append("<p>\(cases.count) case\(cases.count == 1 ? "" : "s") scored"
                    + (failures.isEmpty ? "" : ", <b>\(failures.count) failed</b>")
                    + (unpaired.isEmpty ? "" : ", \(unpaired.count) unpaired")
                    + ". Distances in \(escape(distanceUnits)); NSD tolerance \(fixed(tolerance, 3)).</p>")
        page.append("<table><tr><th></th><th>Dice</th><th>IoU</th><th>HD95</th><th>NSD</th></tr>")
        for (label, pick) in [("mean", \MetricSummary.mean), ("median", \.median), ("std", \.std), ("min", \.min)] {
            page.append("<tr><th>\(label)</th>" + [s.dice, s.iou, s.hd95, s.nsd].map { "<td>\(fixed($0[keyPath: pick]))</td>" }.joined() + "</tr>")
        }
        page.append("</table><p>\(escape(detectionLine))</p>")

        if let training = extras.training, !training.points.isEmpty {
            page.append("<h2>Training of task \(escape(training.task))</h2>" + trainingCurve(training.points))
        }

        page.append("<h2>Cases, worst Dice first</h2>")
        page.append("<p>The slice with the most false voxels: <span class=\"key agree\"></span> agreement, "
                    + "<span class=\"key fp\"></span> predicted only (false positive), <span class=\"key fn\"></span> reference only (false negative).</p>")
        page.append("<table><tr><th>case</th><th>Dice</th><th>IoU</th><th>HD95</th><th>NSD</th><th>TP</th><th>FP</th><th>FN</th>"
                    + "<th>found</th><th>false</th><th>worst slice</th></tr>")
        for c in cases.sorted(by: { ($0.metrics.dice.isNaN ? -1 : $0.metrics.dice) < ($1.metrics.dice.isNaN ? -1 : $1.metrics.dice) }) {
            let m = c.metrics, o = m.overlap, d = m.detection
            var cells = ["<td title=\"\(escape(c.prediction)) against \(escape(c.reference))\">\(escape(c.name))</td>"]
            cells += [m.dice, m.iou, m.hd95, m.nsd].map { "<td>\(fixed($0))</td>" }
            cells += [o.truePositives, o.falsePositives, o.falseNegatives].map { "<td>\($0)</td>" }
            cells += ["<td>\(d.found)/\(d.referenceComponents)</td>", "<td>\(d.falseComponents)</td>"]
            if let (slice, png) = extras.errorSlices[c.name] {
                let place = c.size[2] > 1 ? "slice \(slice.index + 1) of \(c.size[2])" : "the image"
                cells.append("<td><img src=\"data:image/png;base64,\(png)\" width=\"256\" alt=\"errors of \(escape(c.name))\">"
                             + "<br>\(place), pixels from (\(slice.origin.x), \(slice.origin.y)): \(slice.falsePositives) FP, \(slice.falseNegatives) FN</td>")
            } else {
                cells.append("<td>no false voxels</td>")
            }
            page.append("<tr>" + cells.joined() + "</tr>")
        }
        page.append("</table>")
        if !failures.isEmpty {
            page.append("<h2>Not scored</h2><ul>" + failures.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        }
        if !unpaired.isEmpty {
            page.append("<h2>Unpaired files</h2><ul>" + unpaired.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        }
        page.append("</body></html>")
        return page.joined(separator: "\n") + "\n"
    }

    private static let style = """
        body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
        td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}td:first-child{text-align:left}\
        img{image-rendering:pixelated;background:#000}.key{display:inline-block;width:1em;height:1em;vertical-align:middle}\
        .agree{background:rgb(170,170,170)}.fp{background:rgb(255,140,0)}.fn{background:rgb(40,120,255)}
        """

    /// Validation Dice per epoch as an inline SVG: stage 1 solid, the cascade dashed.
    private func trainingCurve(_ points: [TrainingPoint]) -> String {
        let (width, height, pad) = (480.0, 200.0, 30.0)
        let last = Double(max(points.map(\.epoch).max() ?? 1, 2))
        func x(_ epoch: Int) -> Double { pad + (width - 2 * pad) * Double(epoch - 1) / (last - 1) }
        func y(_ dice: Double) -> Double { height - pad - (height - 2 * pad) * min(max(dice, 0), 1) }
        func line(_ values: [(Int, Double)], _ style: String) -> String {
            guard !values.isEmpty else { return "" }
            let path = values.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
            return "<polyline fill=\"none\" stroke-width=\"2\" \(style) points=\"\(path)\"/>"
        }
        let stage1 = points.compactMap { p in p.validationDice.map { (p.epoch, $0) } }
        let cascade = points.compactMap { p in p.cascadeDice.map { (p.epoch, $0) } }
        var svg = ["<svg width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"validation Dice per epoch\">"]
        for tick in [0.0, 0.5, 1.0] {
            svg.append(String(format: "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", pad, width - pad, y(tick), y(tick))
                       + String(format: "<text x=\"2\" y=\"%.1f\" font-size=\"11\">%.1f</text>", y(tick) + 4, tick))
        }
        svg.append(line(stage1, "stroke=\"#1f5fbf\""))
        svg.append(line(cascade, "stroke=\"#d46a00\" stroke-dasharray=\"5,3\""))
        svg.append(String(format: "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">epoch 1 … %d</text>", pad, height - 8, Int(last)))
        svg.append("</svg>")
        return svg.joined() + "<p>Validation Dice per epoch: <span style=\"color:#1f5fbf\">stage 1 (the tokens' own masks)</span>, "
            + "<span style=\"color:#d46a00\">the cascade (dashed)</span>.</p>"
    }
}

private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
