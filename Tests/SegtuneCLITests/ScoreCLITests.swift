import Foundation
import Imaging
import Testing

/// `segtune score` run as a user runs it: the built binary on PNG files written here.
private enum ScoreCLI {
    typealias Run = SegtuneBinary.Run

    static func run(_ arguments: [String], in folder: URL) throws -> Run {
        try SegtuneBinary.run(arguments, in: folder)
    }

    static func folder() throws -> URL {
        try SegtuneBinary.temporaryFolder("segtune-score")
    }

    /// A w×h PNG with `value` inside the rectangle [x0, x1) × [y0, y1), 0 elsewhere.
    static func png(_ url: URL, _ w: Int, _ h: Int, rect: (Int, Int, Int, Int)? = nil, value: UInt8 = 255) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        var pixels = [UInt8](repeating: 0, count: w * h)
        if let (x0, x1, y0, y1) = rect { for y in y0..<y1 { for x in x0..<x1 { pixels[y * w + x] = value } } }
        try writeGrayPNG(pixels, width: w, height: h, to: url)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
    }
}

@Test func scoresFoldersPairedByNameAndStacksSliceFoldersIntoOneVolume() throws {
    let dir = try ScoreCLI.folder()
    let p = dir.appendingPathComponent("pred"), r = dir.appendingPathComponent("ref")
    // a: prediction 4×4 square, reference 4×2 inside it: TP 8, FP 8 -> Dice 16/24.
    try ScoreCLI.png(p.appendingPathComponent("a.png"), 10, 8, rect: (2, 6, 2, 6))
    try ScoreCLI.png(r.appendingPathComponent("a.png"), 10, 8, rect: (2, 6, 2, 4))
    // vol: slice 1 equal (TP 4); slice 2 predicted empty against 4 pixels (FN 4): volume Dice 8/12.
    try ScoreCLI.png(p.appendingPathComponent("vol/1.png"), 6, 6, rect: (1, 3, 1, 3))
    try ScoreCLI.png(r.appendingPathComponent("vol/1.png"), 6, 6, rect: (1, 3, 1, 3))
    try ScoreCLI.png(p.appendingPathComponent("vol/2.png"), 6, 6)
    try ScoreCLI.png(r.appendingPathComponent("vol/2.png"), 6, 6, rect: (1, 3, 1, 3))
    try ScoreCLI.png(p.appendingPathComponent("lonely.png"), 4, 4)

    let run = try ScoreCLI.run(["score", "pred", "ref", "--json"], in: dir)
    #expect(run.status == 0, "unpaired files fail only with --strict: \(run.stderr)")
    #expect(run.stderr.contains("lonely.png"))
    let json = try ScoreCLI.json(run.stdout)
    let cases = json["cases"] as! [[String: Any]]
    #expect(cases.map { $0["case"] as! String } == ["a", "vol"])
    #expect(abs((cases[0]["dice"] as! Double) - 16.0 / 24) < 1e-9)
    #expect(cases[0]["distanceUnit"] as! String == "px")
    #expect(cases[1]["size"] as! [Int] == [6, 6, 2] && cases[1]["dimensions"] as! Int == 3)
    #expect(abs((cases[1]["dice"] as! Double) - 8.0 / 12) < 1e-9)
    let summary = json["summary"] as! [String: Any]
    #expect(summary["unpaired"] as! Int == 1)
    #expect(abs(((summary["dice"] as! [String: Any])["mean"] as! Double) - 2.0 / 3) < 1e-9)

    #expect(try ScoreCLI.run(["score", "pred", "ref", "--strict"], in: dir).status == 1)
}

@Test func sizeMismatchNamesBothFilesAndTheOtherCasesStillScore() throws {
    let dir = try ScoreCLI.folder()
    try ScoreCLI.png(dir.appendingPathComponent("p/a.png"), 8, 8, rect: (0, 4, 0, 4))
    try ScoreCLI.png(dir.appendingPathComponent("r/a.png"), 8, 6, rect: (0, 4, 0, 4))
    try ScoreCLI.png(dir.appendingPathComponent("p/b.png"), 5, 5, rect: (1, 3, 1, 3))
    try ScoreCLI.png(dir.appendingPathComponent("r/b.png"), 5, 5, rect: (1, 3, 1, 3))
    let run = try ScoreCLI.run(["score", "p", "r", "--json"], in: dir)
    #expect(run.status == 1)
    let line = run.stderr.split(separator: "\n").first { $0.contains("a.png") }.map(String.init) ?? ""
    #expect(line.hasPrefix("segtune: ") && line.contains("p/a.png") && line.contains("r/a.png") && line.contains("8×6"))
    let cases = try ScoreCLI.json(run.stdout)["cases"] as! [[String: Any]]
    #expect(cases.count == 1 && cases[0]["dice"] as! Double == 1)
}

@Test func unreadableFileIsOneErrorLineAndExitStatusOne() throws {
    let dir = try ScoreCLI.folder()
    try ScoreCLI.png(dir.appendingPathComponent("p/a.png"), 4, 4, rect: (0, 2, 0, 2))
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("r"), withIntermediateDirectories: true)
    try Data("not a png".utf8).write(to: dir.appendingPathComponent("r/a.png"))
    let run = try ScoreCLI.run(["score", "p", "r"], in: dir)
    #expect(run.status == 1)
    let lines = run.stderr.split(separator: "\n")
    #expect(lines.count == 1 && lines[0].hasPrefix("segtune: ") && lines[0].contains("r/a.png: "))
    #expect(run.stdout.contains("0 cases scored, 1 failed"))
}

@Test func roiWithoutAnRTStructIsAnErrorNotIgnored() throws {
    let dir = try ScoreCLI.folder()
    try ScoreCLI.png(dir.appendingPathComponent("p.png"), 4, 4, rect: (0, 2, 0, 2))
    try ScoreCLI.png(dir.appendingPathComponent("r.png"), 4, 4, rect: (0, 2, 0, 2))
    let run = try ScoreCLI.run(["score", "p.png", "r.png", "--roi", "Liver"], in: dir)
    #expect(run.status == 1 && run.stderr.contains("--roi Liver chooses an RTSTRUCT's ROI, but no file scored here is an RTSTRUCT"), "\(run.stderr)")
    #expect(run.stdout.isEmpty)
}

@Test func minDiceGatesTheExitStatusOnTheMeanDice() throws {
    let dir = try ScoreCLI.folder()
    try ScoreCLI.png(dir.appendingPathComponent("p.png"), 6, 6, rect: (0, 4, 0, 4))
    try ScoreCLI.png(dir.appendingPathComponent("r.png"), 6, 6, rect: (0, 4, 0, 2))  // Dice 16/24
    #expect(try ScoreCLI.run(["score", "p.png", "r.png", "--min-dice", "0.6"], in: dir).status == 0)
    let below = try ScoreCLI.run(["score", "p.png", "r.png", "--min-dice", "0.7"], in: dir)
    #expect(below.status == 2 && below.stderr.contains("--min-dice"))
}

@Test func labelSelectsValuesOfALabelMapAndSpacingGivesMillimetres() throws {
    let dir = try ScoreCLI.folder()
    // A label map with label 1 in the left block and label 2 in the right one.
    var pixels = [UInt8](repeating: 0, count: 8 * 4)
    for y in 0..<4 { for x in 0..<8 { pixels[y * 8 + x] = x < 4 ? 1 : 2 } }
    try writeGrayPNG(pixels, width: 8, height: 4, to: dir.appendingPathComponent("labels.png"))
    try ScoreCLI.png(dir.appendingPathComponent("right.png"), 8, 4, rect: (4, 8, 0, 4))
    let two = try ScoreCLI.json(ScoreCLI.run(["score", "right.png", "labels.png", "--ref-label", "2", "--json"], in: dir).stdout)
    #expect((two["cases"] as! [[String: Any]])[0]["dice"] as! Double == 1)
    let both = try ScoreCLI.run(["score", "right.png", "labels.png", "--label", "1,2", "--spacing", "0.5,2", "--json"], in: dir)
    // --label applies to both sides: the prediction's 255 is no label, so it is empty.
    let c = (try ScoreCLI.json(both.stdout)["cases"] as! [[String: Any]])[0]
    #expect(c["dice"] as! Double == 0 && c["distanceUnit"] as! String == "mm")
    #expect(c["referenceVolume"] as! Double == 32 * 0.5 * 2)
}

@Test func csvIsWrittenWithAHeaderAndOneRowPerCase() throws {
    let dir = try ScoreCLI.folder()
    try ScoreCLI.png(dir.appendingPathComponent("p/x.png"), 5, 5, rect: (0, 3, 0, 3))
    try ScoreCLI.png(dir.appendingPathComponent("r/x.png"), 5, 5, rect: (0, 3, 0, 3))
    try ScoreCLI.png(dir.appendingPathComponent("p/y.png"), 5, 5)
    try ScoreCLI.png(dir.appendingPathComponent("r/y.png"), 5, 5)
    let run = try ScoreCLI.run(["score", "p", "r", "--csv", "scores.csv"], in: dir)
    #expect(run.status == 0)
    let rows = try String(contentsOf: dir.appendingPathComponent("scores.csv"), encoding: .utf8).split(separator: "\n")
    #expect(rows.count == 3 && rows[0].hasPrefix("case,prediction,reference,"))
    #expect(rows[2].hasPrefix("y,") && rows[2].contains(",nan,nan,"))  // both empty: HD95 and NSD undefined
    #expect(run.stdout.contains("median") && run.stdout.contains("Dice"))
}

@Test func helpStatesTheDefaultsAndTheEmptyMaskConvention() throws {
    let help = try ScoreCLI.run(["score", "--help"], in: ScoreCLI.folder()).stdout
    #expect(help.contains("--tolerance") && help.contains("default: 2.0"))
    #expect(help.contains("both empty") && help.contains("--min-dice"))
}

/// A minimal single-file NIfTI-1 uint8 volume (header, 4 empty extension bytes, voxels).
private func writeNIfTI(_ voxels: [UInt8], _ w: Int, _ h: Int, _ d: Int, spacing: [Float], to url: URL) throws {
    var header = [UInt8](repeating: 0, count: 352)
    func put<T: FixedWidthInteger>(_ v: T, at offset: Int) {
        withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { header[offset + i] = b } }
    }
    put(Int32(348), at: 0)
    for (i, v) in [3, w, h, d, 1, 1, 1, 1].enumerated() { put(Int16(v), at: 40 + 2 * i) }
    put(Int16(2), at: 70)  // uint8
    put(Int16(8), at: 72)
    for (i, v) in ([1] + spacing).enumerated() { put(v.bitPattern, at: 76 + 4 * i) }
    put(Float(352).bitPattern, at: 108)
    for (i, c) in "n+1".utf8.enumerated() { header[344 + i] = c }
    try Data(header + voxels).write(to: url)
}

@Test func niftiVolumesScoreIn3DInMillimetresAndAgainstSliceFolders() throws {
    let dir = try ScoreCLI.folder()
    let (w, h, d) = (6, 5, 4)
    // Reference label map: label 1 in a 2×2×2 block, label 2 elsewhere in one voxel.
    var ref = [UInt8](repeating: 0, count: w * h * d)
    for z in 1...2 { for y in 1...2 { for x in 1...2 { ref[(z * h + y) * w + x] = 1 } } }
    ref[(3 * h + 4) * w + 5] = 2
    // Prediction: the same block plus one more slice below it (TP 8, FP 4: Dice 16/20).
    var pred = [UInt8](repeating: 0, count: w * h * d)
    for z in 1...3 { for y in 1...2 { for x in 1...2 { pred[(z * h + y) * w + x] = 1 } } }
    for side in ["p", "r"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(side), withIntermediateDirectories: true) }
    try writeNIfTI(ref, w, h, d, spacing: [0.5, 0.5, 3], to: dir.appendingPathComponent("r/c1.nii"))
    try writeNIfTI(pred, w, h, d, spacing: [0.5, 0.5, 3], to: dir.appendingPathComponent("p/c1.nii"))
    // The same prediction as a folder of slice PNGs, scored against the same NIfTI reference.
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("p/c2"), withIntermediateDirectories: true)
    for z in 0..<d {
        try writeGrayPNG(Array(pred[(z * w * h)..<((z + 1) * w * h)]).map { $0 * 255 }, width: w, height: h,
                         to: dir.appendingPathComponent("p/c2/\(z).png"))
    }
    try writeNIfTI(ref, w, h, d, spacing: [0.5, 0.5, 3], to: dir.appendingPathComponent("r/c2.nii"))

    let run = try ScoreCLI.run(["score", "p", "r", "--ref-label", "1", "--json"], in: dir)
    #expect(run.status == 0, "\(run.stderr)")
    let cases = try ScoreCLI.json(run.stdout)["cases"] as! [[String: Any]]
    #expect(cases.count == 2)
    for c in cases {
        #expect(c["dimensions"] as! Int == 3 && c["distanceUnit"] as! String == "mm")
        #expect(abs((c["dice"] as! Double) - 0.8) < 1e-9)
        // The extra slice's voxels are 3 mm (one slice) from the reference surface.
        #expect(abs((c["hd95"] as! Double) - 3) < 1e-9)
        #expect(c["absoluteVolumeDifference"] as! Double == 4 * 0.5 * 0.5 * 3)
    }
}

/// `segtune score --help` as committed: a change to the options shows up in review.
/// After an intended change: `.build/debug/segtune score --help > fixtures/metrics/score-help.txt`.
@Test func helpMatchesTheCommittedSnapshot() throws {
    let snapshot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fixtures/metrics/score-help.txt")
    let help = try ScoreCLI.run(["score", "--help"], in: ScoreCLI.folder()).stdout
    #expect(help == (try String(contentsOf: snapshot, encoding: .utf8)))
}

@Test func slicerSegmentationScoresAgainstTheNIfTIOfTheSameLabels() throws {
    // The same label map written by pynrrd (Slicer's .seg.nrrd) and by nibabel (scripts/make-nrrd-fixtures).
    let fixtures = SegtuneBinary.repositoryRoot.appendingPathComponent("fixtures/nrrd")
    let run = try ScoreCLI.run(["score", "--json", "--pred-label", "5", "--ref-label", "5",
                                fixtures.appendingPathComponent("labels.seg.nrrd").path,
                                fixtures.appendingPathComponent("labels.nii.gz").path], in: try ScoreCLI.folder())
    #expect(run.status == 0, "\(run.stderr)")
    let summary = try #require(try ScoreCLI.json(run.stdout)["summary"] as? [String: Any])
    #expect((summary["dice"] as? [String: Any])?["mean"] as? Double == 1)
}

@Test func htmlReportListsTheWorstCaseFirstWithItsErrors() throws {
    let dir = try ScoreCLI.folder()
    let p = dir.appendingPathComponent("pred"), r = dir.appendingPathComponent("ref")
    // good: Dice 1; bad: half the reference missed.
    try ScoreCLI.png(p.appendingPathComponent("good.png"), 10, 8, rect: (2, 6, 2, 6))
    try ScoreCLI.png(r.appendingPathComponent("good.png"), 10, 8, rect: (2, 6, 2, 6))
    try ScoreCLI.png(p.appendingPathComponent("bad.png"), 10, 8, rect: (2, 6, 2, 4))
    try ScoreCLI.png(r.appendingPathComponent("bad.png"), 10, 8, rect: (2, 6, 2, 6))
    let page = dir.appendingPathComponent("report.html")
    let run = try ScoreCLI.run(["score", "--html", page.path, p.path, r.path], in: dir)
    #expect(run.status == 0, "\(run.stderr)")
    let html = try String(contentsOf: page, encoding: .utf8)
    let bad = try #require(html.range(of: ">bad</td>")), good = try #require(html.range(of: ">good</td>"))
    #expect(bad.lowerBound < good.lowerBound)
    #expect(html.components(separatedBy: "data:image/png;base64,").count == 2)   // only the bad case has false voxels
    #expect(html.contains("0 FP, 8 FN") && html.contains("no false voxels"))

    let refused = try ScoreCLI.run(["score", "--task", "liver", p.path, r.path], in: dir)
    #expect(refused.status != 0 && refused.stderr.contains("--html"))
}

@Test func labelNamesASlicerSegmentAndAnUnknownNameListsThePresentOnes() throws {
    let fixtures = SegtuneBinary.repositoryRoot.appendingPathComponent("fixtures/nrrd")
    let segmentation = fixtures.appendingPathComponent("labels.seg.nrrd").path, labels = fixtures.appendingPathComponent("labels.nii.gz").path
    let named = try ScoreCLI.run(["score", "--json", "--pred-label", "liver", "--ref-label", "5", segmentation, labels], in: try ScoreCLI.folder())
    #expect(named.status == 0, "\(named.stderr)")
    let c = (try ScoreCLI.json(named.stdout)["cases"] as! [[String: Any]])[0]
    #expect(c["dice"] as? Double == 1 && (c["tp"] as? Int ?? 0) > 0)
    // The kidney is not the liver: the name picks one segment, not any nonzero value.
    let kidney = try ScoreCLI.run(["score", "--json", "--pred-label", "kidney_right", "--ref-label", "5", segmentation, labels], in: try ScoreCLI.folder())
    #expect((try ScoreCLI.json(kidney.stdout)["cases"] as! [[String: Any]])[0]["dice"] as? Double == 0)

    let unknown = try ScoreCLI.run(["score", "--label", "livr", segmentation, segmentation], in: try ScoreCLI.folder())
    #expect(unknown.status == 1)
    #expect(unknown.stderr == "segtune: \(segmentation): no segment named 'livr'; its segments: kidney_right (2), liver (5), "
            + "adrenal_gland_right (8), vertebrae_L1 (31), spinal_cord (79), autochthon_right (89)\n")
    let malformed = try ScoreCLI.run(["score", "--label", "1,,2", segmentation, segmentation], in: try ScoreCLI.folder())
    #expect(malformed.status != 0 && malformed.stderr.contains("--label must be label values ≥ 0 or segment names"))
}
