import Foundation
import Imaging
import Metrics
import Testing

/// Agreement with scripts/make-metric-fixtures (scipy, checked against MONAI 1.6.1).
struct FixtureCase: CustomTestStringConvertible, Sendable {
    let name: String
    let prediction: Mask
    let reference: Mask
    let tolerance: Double
    let expected: [String: Double]
    var testDescription: String { name }
}

enum Fixture {
    static let url = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("fixtures/metrics/cases.json")

    nonisolated(unsafe) static let json: [String: Any] = {
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func number(_ any: Any?) -> Double {
        switch any {
        case let s as String: return s == "inf" ? .infinity : s == "-inf" ? -.infinity : .nan
        case let n as NSNumber: return n.doubleValue
        default: fatalError("not a number: \(String(describing: any))")
        }
    }

    static func mask(runs: [Int], size: [Int], spacing: [Double]?) -> Mask {
        var voxels: [UInt8] = []
        for (i, run) in runs.enumerated() { voxels += [UInt8](repeating: UInt8(i % 2), count: run) }
        return Mask(width: size[0], height: size[1], depth: size[2], voxels: voxels, spacing: spacing)
    }

    static let cases: [FixtureCase] = (json["cases"] as! [[String: Any]]).map { c in
        let size = c["size"] as! [Int], spacing = c["spacing"] as? [Double]
        return FixtureCase(
            name: c["name"] as! String,
            prediction: mask(runs: c["prediction"] as! [Int], size: size, spacing: spacing),
            reference: mask(runs: c["reference"] as! [Int], size: size, spacing: spacing),
            tolerance: number(c["tolerance"]),
            expected: (c["expected"] as! [String: Any]).mapValues(number))
    }
}

func agrees(_ got: Double, _ want: Double, relative: Double) -> Bool {
    if want.isNaN { return got.isNaN }
    if want.isInfinite { return got == want }
    return abs(got - want) <= relative * max(abs(want), 1e-12)
}

@Test("fixture metrics agree with scipy/MONAI", arguments: Fixture.cases)
func fixtureCaseAgrees(_ c: FixtureCase) throws {
    let m = try scoreCase(prediction: c.prediction, reference: c.reference,
                          spacing: c.reference.spacing, tolerance: c.tolerance)
    let e = c.expected
    #expect(m.overlap == Overlap(truePositives: Int(e["tp"]!), falsePositives: Int(e["fp"]!),
                                 falseNegatives: Int(e["fn"]!)))
    #expect(abs(m.dice - e["dice"]!) <= 1e-6, "Dice \(m.dice) vs \(e["dice"]!)")
    #expect(abs(m.iou - e["iou"]!) <= 1e-6, "IoU \(m.iou) vs \(e["iou"]!)")
    #expect(agrees(m.hd95, e["hd95"]!, relative: 1e-3), "HD95 \(m.hd95) vs \(e["hd95"]!)")
    #expect(agrees(m.nsd, e["nsd"]!, relative: 1e-6), "NSD \(m.nsd) vs \(e["nsd"]!)")
    #expect(agrees(m.absoluteVolumeDifference, e["absoluteVolumeDifference"]!, relative: 1e-9))
    #expect(m.distanceUnit == (c.reference.spacing == nil ? .pixel : .millimetre))
}

@Test func fixtureSummaryAgreesWithNumpyNanStatistics() throws {
    let scored = try Fixture.cases.map {
        try scoreCase(prediction: $0.prediction, reference: $0.reference, spacing: $0.reference.spacing, tolerance: $0.tolerance)
    }
    let summary = ScoreSummary(scored)
    let want = Fixture.json["summary"] as! [String: [String: Any]]
    let got: [String: MetricSummary] = [
        "dice": summary.dice, "iou": summary.iou, "hd95": summary.hd95, "nsd": summary.nsd,
        "absoluteVolumeDifference": summary.absoluteVolumeDifference,
    ]
    for (metric, s) in got {
        let w = want[metric]!
        #expect(s.count == w["count"] as! Int, "\(metric) count")
        for (name, value) in [("mean", s.mean), ("median", s.median), ("std", s.std), ("min", s.min)] {
            #expect(agrees(value, Fixture.number(w[name]), relative: 1e-3), "\(metric) \(name): \(value) vs \(w[name]!)")
        }
    }
}
