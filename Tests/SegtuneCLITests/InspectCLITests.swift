import Foundation
import Testing

/// `segtune inspect` run as a binary on real files.
@Suite struct InspectCLITests {
    private static let root = SegtuneBinary.repositoryRoot
    private static let pydicom = root.appendingPathComponent("third_party/pydicom")

    private typealias Run = SegtuneBinary.Run

    private func segtune(_ arguments: [String]) throws -> Run {
        try SegtuneBinary.run(arguments)
    }

    private func objects(_ text: String) throws -> [[String: Any]] {
        try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// pydicom's numbers for a file, from the committed fixture.
    private func pydicomExpected(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("fixtures/pydicom/expected.json"))
        let table = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let files = try #require(table["files"] as? [[String: Any]])
        return try #require(files.first { $0["file"] as? String == name })
    }

    @Test func jsonForDICOMFilesAgreesWithPydicom() throws {
        let names = ["CT_small.dcm", "MR_small_RLE.dcm", "SC_rgb_rle_16bit_2frame.dcm"]
        let run = try segtune(["inspect", "--json"] + names.map { Self.pydicom.appendingPathComponent($0).path })
        #expect(run.status == 0, "\(run.stderr)")
        let reports = try objects(run.stdout)
        try #require(reports.count == names.count)
        for (name, report) in zip(names, reports) {
            let expected = try pydicomExpected(name)
            for key in ["rows", "columns", "frames"] {
                #expect(report[key] as? Int == expected[key] as? Int, "\(name) \(key)")
            }
            for key in ["min", "max"] {
                #expect(report[key] as? Double == expected[key] as? Double, "\(name) \(key)")
            }
            let mean = try #require(report["mean"] as? Double), want = try #require(expected["mean"] as? Double)
            #expect(abs(mean - want) <= 1e-6 * max(1, abs(want)), "\(name) mean \(mean) vs \(want)")
            #expect(report["transferSyntax"] as? String == expected["transferSyntax"] as? String)
        }
        // CT: modality values are Hounsfield units (Rescale Intercept −1024 applied).
        #expect(reports[0]["modality"] as? String == "CT")
        #expect(reports[0]["min"] as? Double == -896)
    }

    @Test func badFilesGiveOneErrorLineEachAndTheOthersStillRun() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-cli-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let empty = folder.appendingPathComponent("empty.dcm"), text = folder.appendingPathComponent("notes.dcm")
        try Data().write(to: empty)
        try Data("just some text\n".utf8).write(to: text)
        let jpeg2000 = Self.pydicom.appendingPathComponent("JPEG2000-embedded-sequence-delimiter.dcm")
        let good = Self.pydicom.appendingPathComponent("MR_small.dcm")
        let run = try segtune(["inspect", "--json", jpeg2000.path, empty.path, good.path, text.path])
        #expect(run.status != 0)
        let reports = try objects(run.stdout)
        #expect(reports.count == 1)
        #expect(reports.first?["rows"] as? Int == 64)
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.contains { $0.hasPrefix("segtune: \(jpeg2000.path): cannot decode the JPEG 2000 pixel data (frame 1: ") })
        #expect(lines.contains("segtune: \(empty.path): empty file"))
        #expect(lines.contains { $0.hasPrefix("segtune: \(text.path): ") })
    }

    /// The pixel cap on PNG and JPEG headers is policy a user may move: SEGTUNE_MAX_PIXELS.
    @Test func thePixelLimitIsSetByTheEnvironment() throws {
        let png = Self.root.appendingPathComponent("fixtures/demo/white-matter/images/mni152-z090.png").path
        #expect(try segtune(["inspect", png]).status == 0)
        let capped = try SegtuneBinary.run(["inspect", png], environment: ["SEGTUNE_MAX_PIXELS": "1000"])
        #expect(capped.status == 1)
        #expect(capped.stderr == "segtune: \(png): not a readable PNG (more pixels than segtune reads (SEGTUNE_MAX_PIXELS sets the limit, 2^28 by default))\n")
        // A value that is not a positive whole number leaves the default.
        #expect(try SegtuneBinary.run(["inspect", png], environment: ["SEGTUNE_MAX_PIXELS": "-5"]).status == 0)
    }

    @Test func datasetFolderListsItsPairs() throws {
        let demo = Self.root.appendingPathComponent("fixtures/demo/white-matter")
        let images = try FileManager.default.contentsOfDirectory(atPath: demo.appendingPathComponent("images").path).filter { $0.hasSuffix(".png") }
        try #require(!images.isEmpty)
        let run = try segtune(["inspect", demo.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.hasPrefix("\(demo.path): dataset (images/ + masks/), \(images.count) image/mask pairs\n"))
        let first = images.sorted()[0]
        let name = String(first.dropLast(4))
        #expect(run.stdout.contains("  \(name): images/\(first) + masks/\(first)\n"))
        #expect(run.stdout.contains("PNG "))

        let json = try objects(try segtune(["inspect", "--json", demo.path]).stdout)
        #expect(json.count == images.count)
        #expect(json.allSatisfy { $0["transferSyntax"] == nil && ($0["maskForeground"] as? Int ?? -1) >= 0 })
    }

    @Test func textReportShowsWhatWasRead() throws {
        let run = try segtune(["inspect", Self.pydicom.appendingPathComponent("CT_small.dcm").path])
        #expect(run.status == 0)
        #expect(run.stdout.contains("DICOM 128×128, 1 frame"))
        #expect(run.stdout.contains("modality: CT"))
        #expect(run.stdout.contains("transfer syntax: 1.2.840.10008.1.2.1 (Little Endian Explicit)"))
        #expect(run.stdout.contains("values: min -896, max 1167"))
    }

    @Test func windowOptionIsValidatedAndApplied() throws {
        let ct = Self.pydicom.appendingPathComponent("CT_small.dcm").path
        let bad = try segtune(["inspect", "--window", "kidney", ct])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("unknown window 'kidney'"))
        let lung = try objects(try segtune(["inspect", "--json", "--window", "lung", ct]).stdout)
        #expect(lung.first?["windowWidth"] as? Double == 1500 && lung.first?["windowLevel"] as? Double == -600)
    }

    @Test func plainFolderOfPNGsReportsEachFile() throws {
        let masks = Self.root.appendingPathComponent("fixtures/demo/white-matter/masks")
        let count = try FileManager.default.contentsOfDirectory(atPath: masks.path).filter { $0.hasSuffix(".png") }.count
        let run = try segtune(["inspect", "--json", masks.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try objects(run.stdout).count == count)
    }
}
