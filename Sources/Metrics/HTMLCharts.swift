import Foundation

// Inline SVG charts for the HTML report: plain shapes with a <title> each, so a reader
// hovering a mark sees its value and no chart library is needed.

/// Validation Dice per epoch: stage 1 solid, the cascade dashed.
func trainingCurveSVG(_ points: [TrainingPoint]) -> String {
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
    var svg = ["<svg id=\"training-curve\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"validation Dice per epoch\">"]
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

/// Per-case Dice on a 0…1 axis: a histogram of 20 bins, one dot per case above it (a
/// few cases read better as dots, many as bars), and the mean as a dashed line.
func diceDistributionSVG(_ cases: [(name: String, dice: Double)]) -> String {
    let (width, height, pad, bins) = (480.0, 150.0, 24.0, 20)
    let values = cases.filter { $0.dice.isFinite }
    func x(_ dice: Double) -> Double { pad + (width - 2 * pad) * min(max(dice, 0), 1) }
    var counts = [Int](repeating: 0, count: bins)
    for c in values { counts[min(Int(c.dice * Double(bins)), bins - 1)] += 1 }
    let tallest = Double(max(counts.max() ?? 1, 1)), barTop = 50.0, axis = height - pad
    var svg = ["<svg id=\"dice-distribution\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" aria-label=\"per-case Dice distribution\">"]
    for (bin, count) in counts.enumerated() where count > 0 {
        let h = (axis - barTop) * Double(count) / tallest, left = x(Double(bin) / Double(bins))
        svg.append(String(format: "<rect class=\"bin\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#c8d6ea\">", left + 0.5, axis - h, x(Double(bin + 1) / Double(bins)) - left - 1, h)
                   + "<title>Dice \(fixed(Double(bin) / Double(bins), 2))–\(fixed(Double(bin + 1) / Double(bins), 2)): \(count) case\(count == 1 ? "" : "s")</title></rect>")
    }
    svg.append(String(format: "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"#888\"/>", pad, width - pad, axis, axis))
    for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
        svg.append(String(format: "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">%.2f</text>", x(tick), height - 8, tick))
    }
    // Dots in rows so that equal values stay apart.
    for (i, c) in values.sorted(by: { $0.dice < $1.dice }).enumerated() {
        svg.append(String(format: "<circle class=\"case\" cx=\"%.1f\" cy=\"%.0f\" r=\"4\" fill=\"#1f5fbf\" fill-opacity=\"0.7\">", x(c.dice), 14 + Double(i % 4) * 9)
                   + "<title>\(htmlEscape(c.name)): Dice \(fixed(c.dice))</title></circle>")
    }
    if !values.isEmpty {
        let mean = values.map(\.dice).reduce(0, +) / Double(values.count)
        svg.append(String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"8\" y2=\"%.0f\" stroke=\"#d46a00\" stroke-dasharray=\"4,3\"><title>mean Dice %.4f</title></line>", x(mean), x(mean), axis, mean))
    }
    svg.append("</svg>")
    return svg.joined() + "<p>Per-case Dice: one dot per case, bars of 0.05, <span style=\"color:#d46a00\">the mean dashed</span>.</p>"
}

/// A volume's Dice slice by slice as a strip of cells, red (0) to green (1); light gray
/// where neither mask marks the slice.
func sliceDiceStripSVG(_ dice: [Double], caseName: String) -> String {
    let cell = max(2.0, min(8.0, 240.0 / Double(max(dice.count, 1)))), height = 16.0
    var svg = [String(format: "<svg class=\"slice-dice\" width=\"%.0f\" height=\"%.0f\" role=\"img\" ", cell * Double(dice.count), height)
               + "aria-label=\"Dice per slice of \(htmlEscape(caseName))\">"]
    for (z, d) in dice.enumerated() {
        let fill = d.isNaN ? "#eeeeee" : String(format: "hsl(%.0f,70%%,45%%)", 120 * min(max(d, 0), 1))
        let title = d.isNaN ? "slice \(z + 1): both empty" : "slice \(z + 1): Dice \(fixed(d))"
        svg.append(String(format: "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" height=\"%.0f\" ", cell * Double(z), cell, height)
                   + "fill=\"\(fill)\"><title>\(title)</title></rect>")
    }
    svg.append("</svg>")
    return svg.joined()
}

func htmlEscape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
