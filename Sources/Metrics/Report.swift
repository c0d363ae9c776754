import Foundation

/// One scored case as reported: where it came from and its metrics.
public struct ScoredCase: Sendable {
    public var name: String
    public var prediction: String
    public var reference: String
    /// width, height, depth.
    public var size: [Int]
    public var metrics: CaseMetrics

    public init(name: String, prediction: String, reference: String, size: [Int], metrics: CaseMetrics) {
        (self.name, self.prediction, self.reference, self.size, self.metrics) = (name, prediction, reference, size, metrics)
    }
}

/// The cases of one `segtune score` run, their summary, and what went wrong.
/// Non-finite values print as `nan` and `inf` everywhere, in JSON as the strings
/// "nan" and "inf" (strict JSON has no NaN), which Python's float() reads back.
public struct ScoreReport: Sendable {
    public var cases: [ScoredCase]
    public var summary: ScoreSummary
    public var tolerance: Double
    /// `file: reason` for every input that could not be scored.
    public var failures: [String]
    public var unpaired: [String]

    public init(cases: [ScoredCase], tolerance: Double, failures: [String], unpaired: [String]) {
        (self.cases, self.tolerance, self.failures, self.unpaired) = (cases, tolerance, failures, unpaired)
        summary = ScoreSummary(cases.map(\.metrics))
    }

    /// "mm", "px", or "mm (3 cases), px (2 cases)" when they are mixed.
    public var distanceUnits: String {
        let mm = cases.count { $0.metrics.distanceUnit == .millimetre }, px = cases.count - mm
        if mm == 0 || px == 0 { return mm > 0 ? "mm" : "px" }
        func n(_ k: Int) -> String { k == 1 ? "1 case" : "\(k) cases" }
        return "mm (\(n(mm))), px (\(n(px)), no spacing)"
    }

    // MARK: Table

    /// The per-case table and the summary, for a terminal.
    public func table() -> String {
        let nameWidth = max(6, cases.map(\.name.count).max() ?? 0)
        func row(_ name: String, _ values: [Double], _ unit: String, _ detection: DetectionCounts? = nil) -> String {
            let found = detection.map { ("\($0.found)/\($0.referenceComponents)".leftPadded(to: 10), "\($0.falseComponents)".leftPadded(to: 7)) }
            return name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + values.map { fixed($0).leftPadded(to: 9) }.joined() + (unit.isEmpty ? "" : "  " + unit.padding(toLength: 4, withPad: " ", startingAt: 0))
                + (found.map { $0.0 + $0.1 } ?? "")
        }
        var lines = ["case".padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                     + ["Dice", "IoU", "HD95", "NSD"].map { $0.leftPadded(to: 9) }.joined() + "  unit" + "found".leftPadded(to: 10) + "false".leftPadded(to: 7)]
        for c in cases {
            let m = c.metrics
            lines.append(row(c.name, [m.dice, m.iou, m.hd95, m.nsd], m.distanceUnit.rawValue, m.detection))
        }
        lines.append(String(repeating: "-", count: nameWidth + 59))
        let s = summary
        for (label, pick) in [("mean", \MetricSummary.mean), ("median", \.median), ("std", \.std), ("min", \.min)] {
            lines.append(row(label, [s.dice, s.iou, s.hd95, s.nsd].map { $0[keyPath: pick] }, ""))
        }
        lines.append("\(cases.count) case\(cases.count == 1 ? "" : "s") scored"
                     + (failures.isEmpty ? "" : ", \(failures.count) failed")
                     + (unpaired.isEmpty ? "" : ", \(unpaired.count) unpaired")
                     + "; distances in \(distanceUnits); NSD tolerance \(fixed(tolerance, 3)) of that unit"
                     + (s.hd95.nanCount > 0 ? "; HD95 undefined (a mask empty) in \(s.hd95.nanCount), left out of its summary" : ""))
        lines.append(detectionLine)
        return lines.joined(separator: "\n") + "\n"
    }

    /// The summary's detection counts in words: components found / missed / false.
    public var detectionLine: String {
        let d = summary.detection
        let share = d.referenceComponents > 0 ? String(format: " (%.1f%%)", 100 * d.sensitivity) : ""
        return "detection (connected components per slice, matched by overlap): \(d.found) of \(d.referenceComponents) found\(share), "
            + "\(d.missed) missed, \(d.falseComponents) false (" + String(format: "%.2f", d.falsePerSlice) + " per slice over \(d.slices) slice\(d.slices == 1 ? "" : "s"))"
    }

    // MARK: CSV

    public static let csvColumns = ["case", "prediction", "reference", "width", "height", "depth", "dimensions",
                                    "tp", "fp", "fn", "dice", "iou", "hd95", "nsd", "tolerance", "distance_unit",
                                    "predicted_volume", "reference_volume", "abs_volume_difference", "volume_unit",
                                    "reference_components", "found_components", "missed_components", "predicted_components",
                                    "false_components", "slices"]

    /// One row per case (no summary rows, so the file stays a plain table).
    public func csv() -> String {
        var lines = [Self.csvColumns.joined(separator: ",")]
        for c in cases {
            let m = c.metrics, o = m.overlap
            let source: [String] = [c.name, c.prediction, c.reference] + c.size.map(String.init)
            let counts: [String] = [m.dimensions, o.truePositives, o.falsePositives, o.falseNegatives].map(String.init)
            let scores: [String] = [m.dice, m.iou, m.hd95, m.nsd, m.tolerance].map(plainNumber) + [m.distanceUnit.rawValue]
            let volumes: [String] = [m.predictedVolume, m.referenceVolume, m.absoluteVolumeDifference].map(plainNumber) + [m.volumeUnit]
            let d = m.detection
            let detection = [d.referenceComponents, d.found, d.missed, d.predictedComponents, d.falseComponents, d.slices].map(String.init)
            let fields = source + counts + scores + volumes + detection
            lines.append(fields.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: JSON

    /// One object: `cases` (every field of the CSV) and `summary`.
    public func json() -> String {
        let caseObjects: [JSON] = cases.map { c in
            let m = c.metrics, o = m.overlap
            return .object([
                ("case", .string(c.name)), ("prediction", .string(c.prediction)), ("reference", .string(c.reference)),
                ("size", .array(c.size.map { .int($0) })), ("dimensions", .int(m.dimensions)),
                ("spacing", m.spacing.map { .array($0.map { .number($0) }) } ?? .null),
                ("tp", .int(o.truePositives)), ("fp", .int(o.falsePositives)), ("fn", .int(o.falseNegatives)),
                ("dice", .number(m.dice)), ("iou", .number(m.iou)), ("hd95", .number(m.hd95)), ("nsd", .number(m.nsd)),
                ("tolerance", .number(m.tolerance)), ("distanceUnit", .string(m.distanceUnit.rawValue)),
                ("predictedVolume", .number(m.predictedVolume)), ("referenceVolume", .number(m.referenceVolume)),
                ("absoluteVolumeDifference", .number(m.absoluteVolumeDifference)), ("volumeUnit", .string(m.volumeUnit)),
                ("detection", detectionObject(m.detection)),
            ])
        }
        func stats(_ s: MetricSummary) -> JSON {
            .object([("mean", .number(s.mean)), ("median", .number(s.median)), ("std", .number(s.std)),
                     ("min", .number(s.min)), ("count", .int(s.count)), ("nan", .int(s.nanCount))])
        }
        let s = summary
        let summaryObject: JSON = .object([
            ("cases", .int(cases.count)), ("failed", .int(failures.count)), ("unpaired", .int(unpaired.count)),
            ("distanceUnit", .string(distanceUnits)), ("tolerance", .number(tolerance)),
            ("dice", stats(s.dice)), ("iou", stats(s.iou)), ("hd95", stats(s.hd95)), ("nsd", stats(s.nsd)),
            ("absoluteVolumeDifference", stats(s.absoluteVolumeDifference)), ("detection", detectionObject(s.detection)),
            ("failures", .array(failures.map { .string($0) })), ("unpairedFiles", .array(unpaired.map { .string($0) })),
        ])
        return JSON.object([("cases", .array(caseObjects)), ("summary", summaryObject)]).text + "\n"
    }
}

private func detectionObject(_ d: DetectionCounts) -> JSON {
    .object([("referenceComponents", .int(d.referenceComponents)), ("found", .int(d.found)), ("missed", .int(d.missed)),
             ("predictedComponents", .int(d.predictedComponents)), ("falseComponents", .int(d.falseComponents)),
             ("slices", .int(d.slices)), ("sensitivity", .number(d.sensitivity)), ("falsePerSlice", .number(d.falsePerSlice))])
}

/// A tiny ordered JSON writer: keys keep the order a reader expects, and
/// non-finite numbers become strings.
enum JSON {
    case null, int(Int), number(Double), string(String), array([JSON]), object([(String, JSON)])

    var text: String {
        switch self {
        case .null: "null"
        case .int(let i): "\(i)"
        case .number(let d): d.isFinite ? "\(d)" : "\"\(plainNumber(d))\""
        case .string(let s): quoted(s)
        case .array(let a): "[" + a.map(\.text).joined(separator: ",") + "]"
        case .object(let o): "{" + o.map { quoted($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }
}

private func quoted(_ s: String) -> String {
    // JSONEncoder escapes exactly what JSON requires; slashes stay readable.
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    return String(decoding: (try? encoder.encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
}

/// Full precision, with `nan` and `inf` for non-finite values.
func plainNumber(_ d: Double) -> String {
    d.isNaN ? "nan" : d.isInfinite ? (d > 0 ? "inf" : "-inf") : "\(d)"
}

/// Fixed decimals for the table.
func fixed(_ d: Double, _ digits: Int = 4) -> String {
    d.isFinite ? String(format: "%.\(digits)f", d) : plainNumber(d)
}

private func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}

extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? " " + self : String(repeating: " ", count: width - count) + self
    }
}
