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

/// What the page shows beside the scores: each case's worst slice (a PNG, base64), its
/// Dice slice by slice (volumes), and how the task trained.
public struct HTMLReportExtras: Sendable {
    public var title: String
    /// Case name → its worst slice and the PNG of it.
    public var errorSlices: [String: (slice: ErrorSlice, pngBase64: String)]
    /// Case name → Dice per slice (`perSliceDice`), for cases with more than one slice.
    public var sliceDice: [String: [Double]]
    public var training: (task: String, points: [TrainingPoint])?
    public init(title: String, errorSlices: [String: (slice: ErrorSlice, pngBase64: String)] = [:],
                sliceDice: [String: [Double]] = [:], training: (task: String, points: [TrainingPoint])? = nil) {
        (self.title, self.errorSlices, self.sliceDice, self.training) = (title, errorSlices, sliceDice, training)
    }
}

extension ScoreReport {
    /// A self-contained page (no outside files): the summary, the per-case Dice
    /// distribution, the cases worst Dice first with the slice where each goes most wrong
    /// and a volume's Dice per slice, the training curve, and what could not be scored.
    /// A few lines of inline script sort the table by a clicked header (or `#sort=dice`,
    /// `#sort=-dice` in the address); without scripts it reads and prints the same.
    public func html(_ extras: HTMLReportExtras) -> String {
        var page = ["<!DOCTYPE html>", "<html lang=\"en\"><head><meta charset=\"utf-8\">",
                    "<title>\(htmlEscape(extras.title))</title>", "<style>\(Self.style)</style></head><body>",
                    "<h1>\(htmlEscape(extras.title))</h1>"]
        let s = summary
        page.append("<p>\(cases.count) case\(cases.count == 1 ? "" : "s") scored"
                    + (failures.isEmpty ? "" : ", <b>\(failures.count) failed</b>")
                    + (unpaired.isEmpty ? "" : ", \(unpaired.count) unpaired")
                    + ". Distances in \(htmlEscape(distanceUnits)); NSD tolerance \(fixed(tolerance, 3)).</p>")
        page.append("<table><tr><th></th><th>Dice</th><th>IoU</th><th>HD95</th><th>NSD</th></tr>")
        for (label, pick) in [("mean", \MetricSummary.mean), ("median", \.median), ("std", \.std), ("min", \.min)] {
            page.append("<tr><th>\(label)</th>" + [s.dice, s.iou, s.hd95, s.nsd].map { "<td>\(fixed($0[keyPath: pick]))</td>" }.joined() + "</tr>")
        }
        page.append("</table><p>\(htmlEscape(detectionLine))</p>")
        if !cases.isEmpty { page.append("<h2>Dice per case</h2>" + diceDistributionSVG(cases.map { ($0.name, $0.metrics.dice) })) }

        if let training = extras.training, !training.points.isEmpty {
            page.append("<h2>Training of task \(htmlEscape(training.task))</h2>" + trainingCurveSVG(training.points))
        }

        page.append("<h2>Cases, worst Dice first</h2>")
        page.append("<p>Click a column's header to sort by it. The slice with the most false voxels: <span class=\"key agree\"></span> agreement, "
                    + "<span class=\"key fp\"></span> predicted only (false positive), <span class=\"key fn\"></span> reference only (false negative). "
                    + "Dice per slice: red 0 to green 1, gray where neither mask marks the slice.</p>")
        page.append(casesTable(extras))
        if !failures.isEmpty {
            page.append("<h2>Not scored</h2><ul>" + failures.map { "<li>\(htmlEscape($0))</li>" }.joined() + "</ul>")
        }
        if !unpaired.isEmpty {
            page.append("<h2>Unpaired files</h2><ul>" + unpaired.map { "<li>\(htmlEscape($0))</li>" }.joined() + "</ul>")
        }
        page.append("<script>\(Self.script)</script>")
        page.append("</body></html>")
        return page.joined(separator: "\n") + "\n"
    }

    /// One row per case, worst Dice first; each sortable cell carries its value in `data-value`.
    private func casesTable(_ extras: HTMLReportExtras) -> String {
        let columns: [(key: String, title: String, numeric: Bool)] = [
            ("case", "case", false), ("dice", "Dice", true), ("iou", "IoU", true), ("hd95", "HD95", true), ("nsd", "NSD", true),
            ("tp", "TP", true), ("fp", "FP", true), ("fn", "FN", true), ("found", "found", true), ("false", "false", true),
        ]
        var rows = ["<table id=\"cases\"><thead><tr>"
                    + columns.map { "<th data-key=\"\($0.key)\"\($0.numeric ? " data-type=\"number\"" : "")>\($0.title)</th>" }.joined()
                    + "<th>worst slice</th><th>Dice per slice</th></tr></thead><tbody>"]
        func cell(_ value: Double, _ text: String) -> String { "<td data-value=\"\(value.isNaN ? "" : plainNumber(value))\">\(text)</td>" }
        for c in cases.sorted(by: { ($0.metrics.dice.isNaN ? -1 : $0.metrics.dice) < ($1.metrics.dice.isNaN ? -1 : $1.metrics.dice) }) {
            let m = c.metrics, o = m.overlap, d = m.detection
            var cells = ["<td title=\"\(htmlEscape(c.prediction)) against \(htmlEscape(c.reference))\">\(htmlEscape(c.name))</td>"]
            cells += [m.dice, m.iou, m.hd95, m.nsd].map { cell($0, fixed($0)) }
            cells += [o.truePositives, o.falsePositives, o.falseNegatives].map { cell(Double($0), "\($0)") }
            cells += [cell(d.referenceComponents > 0 ? d.sensitivity : .nan, "\(d.found)/\(d.referenceComponents)"),
                      cell(Double(d.falseComponents), "\(d.falseComponents)")]
            if let (slice, png) = extras.errorSlices[c.name] {
                let place = c.size[2] > 1 ? "slice \(slice.index + 1) of \(c.size[2])" : "the image"
                cells.append("<td><img src=\"data:image/png;base64,\(png)\" width=\"256\" alt=\"errors of \(htmlEscape(c.name))\">"
                             + "<br>\(place), pixels from (\(slice.origin.x), \(slice.origin.y)): \(slice.falsePositives) FP, \(slice.falseNegatives) FN</td>")
            } else {
                cells.append("<td>no false voxels</td>")
            }
            let strip = extras.sliceDice[c.name].flatMap { $0.count > 1 ? sliceDiceStripSVG($0, caseName: c.name) : nil }
            cells.append("<td>\(strip ?? "")</td>")
            rows.append("<tr class=\"case\">" + cells.joined() + "</tr>")
        }
        return rows.joined(separator: "\n") + "</tbody></table>"
    }

    private static let style = """
        body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
        td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;vertical-align:top}td:first-child{text-align:left}\
        img{image-rendering:pixelated;background:#000}.key{display:inline-block;width:1em;height:1em;vertical-align:middle}\
        .agree{background:rgb(170,170,170)}.fp{background:rgb(255,140,0)}.fn{background:rgb(40,120,255)}\
        th[data-key]{cursor:pointer}th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
        """

    /// Sorting on a header click (again: the other way), numbers by `data-value` with blanks
    /// (nan) last, names in natural order; `#sort=KEY` or `#sort=-KEY` sorts on opening.
    /// On load, `data-images-loaded="N/M"` on <body> says how many pictures decoded.
    private static let script = """
        (function () {
          const table = document.getElementById("cases");
          function sortBy(th, descending) {
            const column = th.cellIndex, numeric = th.dataset.type === "number", body = table.tBodies[0];
            const key = row => numeric ? parseFloat(row.cells[column].dataset.value) : row.cells[column].textContent;
            const rows = Array.from(body.rows).sort((a, b) => {
              const x = key(a), y = key(b);
              if (!numeric) return (descending ? -1 : 1) * x.localeCompare(y, undefined, {numeric: true});
              if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
              return descending ? y - x : x - y;
            });
            rows.forEach(row => body.appendChild(row));
            for (const h of th.parentNode.cells) h.removeAttribute("aria-sort");
            th.setAttribute("aria-sort", descending ? "descending" : "ascending");
          }
          if (table) {
            for (const th of table.tHead.rows[0].cells) {
              if (th.dataset.key) th.addEventListener("click", () => sortBy(th, th.getAttribute("aria-sort") === "ascending"));
            }
            const wanted = /^#sort=(-?)([a-z0-9]+)$/.exec(location.hash);
            const th = wanted && table.querySelector('th[data-key="' + wanted[2] + '"]');
            if (th) sortBy(th, wanted[1] === "-");
          }
          window.addEventListener("load", () => {
            const images = Array.from(document.images);
            const decoded = images.filter(image => image.complete && image.naturalWidth > 0).length;
            document.body.dataset.imagesLoaded = decoded + "/" + images.length;
          });
        })();
        """
}
