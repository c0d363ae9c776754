import Foundation
import Imaging
import Metrics
import Testing

private func report() throws -> ScoreReport {
    let empty = Mask(width: 2, height: 2, voxels: [0, 0, 0, 0]), one = Mask(width: 2, height: 2, voxels: [1, 0, 0, 0])
    let cases = [
        ScoredCase(name: "both, empty", prediction: "p/e.png", reference: "r/e.png", size: [2, 2, 1],
                   metrics: try scoreCase(prediction: empty, reference: empty, spacing: nil, tolerance: 2)),
        ScoredCase(name: "same", prediction: "p/s.png", reference: "r/s.png", size: [2, 2, 1],
                   metrics: try scoreCase(prediction: one, reference: one, spacing: [0.5, 0.5], tolerance: 2)),
    ]
    return ScoreReport(cases: cases, tolerance: 2, failures: ["r/x.png: not a PNG file"], unpaired: ["p/lonely.png"])
}

@Test func jsonIsStrictWithNonFiniteValuesAsStrings() throws {
    let text = try report().json()
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    let cases = object["cases"] as! [[String: Any]]
    #expect(cases[0]["hd95"] as? String == "nan" && cases[0]["nsd"] as? String == "nan")
    #expect(cases[1]["hd95"] as? Double == 0 && cases[1]["distanceUnit"] as? String == "mm")
    let summary = object["summary"] as! [String: Any]
    let hd95 = summary["hd95"] as! [String: Any]
    #expect(hd95["count"] as? Int == 1 && hd95["nan"] as? Int == 1 && hd95["mean"] as? Double == 0)
    #expect(summary["failures"] as? [String] == ["r/x.png: not a PNG file"] && summary["unpaired"] as? Int == 1)
    #expect(summary["distanceUnit"] as? String == "mm (1 case), px (1 case, no spacing)")
}

@Test func csvQuotesFieldsWithCommasAndWritesNaN() throws {
    let rows = try report().csv().split(separator: "\n")
    #expect(rows.count == 3)
    #expect(rows[1].hasPrefix("\"both, empty\",p/e.png,r/e.png,2,2,1,2,0,0,0,1.0,1.0,nan,nan,2.0,px,"))
    #expect(rows[2].hasSuffix(",1,1,0,1,0,1"))   // reference, found, missed, predicted, false components; slices
}

@Test func tableEndsWithTheCountsAndUnits() throws {
    let lines = try report().table().split(separator: "\n")
    #expect(lines[0].hasPrefix("case") && lines[0].contains("HD95"))
    #expect(lines[lines.count - 2].hasPrefix("2 cases scored, 1 failed, 1 unpaired; distances in mm (1 case)"))
    // One reference component (the "same" case's pixel), found; nothing false, over 2 slices.
    #expect(lines.last! == "detection (connected components per slice, matched by overlap): 1 of 1 found (100.0%), 0 missed, 0 false (0.00 per slice over 2 slices)")
    #expect(lines.contains { $0.hasPrefix("median") })
}

@Test func perSliceDiceIsNaNWhereBothSlicesAreEmpty() {
    // 2×1 slices: equal, half overlapping (Dice 2·1/(2+1)), both empty, prediction only.
    let prediction = Mask(width: 2, height: 1, depth: 4, voxels: [1, 0, 1, 1, 0, 0, 1, 0])
    let reference = Mask(width: 2, height: 1, depth: 4, voxels: [1, 0, 1, 0, 0, 0, 0, 0])
    let dice = perSliceDice(prediction: prediction, reference: reference)
    #expect(dice.count == 4 && dice[0] == 1 && abs(dice[1] - 2.0 / 3) < 1e-12 && dice[2].isNaN && dice[3] == 0)
}

@Test func htmlHasOneSortableRowPerCaseADotPerCaseAndAStripPerVolume() throws {
    let page = try report().html(HTMLReportExtras(title: "t", sliceDice: ["same": [1, .nan, 0.5]]))
    #expect(page.components(separatedBy: "<tr class=\"case\">").count == 3)
    #expect(page.components(separatedBy: "<circle class=\"case\"").count == 3)
    #expect(page.contains("<th data-key=\"dice\" data-type=\"number\">Dice</th>"))
    // The empty-case HD95 is nan: a blank sort value, so it sorts last.
    #expect(page.contains("<td data-value=\"\">nan</td>"))
    let strip = try #require(page.range(of: "<svg class=\"slice-dice\"")).lowerBound
    #expect(page[strip...].prefix(while: { $0 != "\n" }).components(separatedBy: "<rect ").count == 4)
    #expect(page.contains("slice 2: both empty") && page.contains("slice 3: Dice 0.5000"))
}
