import Foundation
import Imaging
import Testing

/// `segtune predict` zero-shot, on real files, with the real LiteMedSAM weights.
@Suite struct PredictCLITests {
    static let pydicom = SegtuneBinary.repositoryRoot.appendingPathComponent("third_party/pydicom")
    static let ready = FileManager.default.fileExists(atPath: SegtuneBinary.repositoryRoot.appendingPathComponent("models/lite_medsam.pth").path)
        && FileManager.default.fileExists(atPath: pydicom.appendingPathComponent("SC_rgb_rle_2frame.dcm").path)

    /// A multi-frame DICOM is a volume: one mask PNG per frame, in a folder named for the file;
    /// a bad file in the same batch gets one error line and the exit status 1, the others are written.
    @Test(.enabled(if: ready)) func volumesGetOneMaskPerSliceAndBadFilesDoNotStopTheBatch() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-predict")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("notes.dcm")
        try Data("not a DICOM file".utf8).write(to: bad)
        let out = dir.appendingPathComponent("out")
        let run = try SegtuneBinary.run(["predict", "--box", "10,10,80,80", "--largest-component",
                                         Self.pydicom.appendingPathComponent("SC_rgb_rle_2frame.dcm").path, bad.path, "-o", out.path])
        #expect(run.status == 1)
        // One error line for the bad file; the good one's progress line says what was done.
        let lines = run.stderr.split(separator: "\n")
        let errorLines = lines.filter { $0.hasPrefix("segtune: ") }
        #expect(errorLines.count == 1 && errorLines[0].hasPrefix("segtune: \(bad.path): "), "\(run.stderr)")
        #expect(lines.contains { $0.hasPrefix("[1/2] SC_rgb_rle_2frame: 2 slices in ") }, "\(run.stderr)")
        let slices = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("SC_rgb_rle_2frame").path).sorted()
        #expect(slices == ["0001.png", "0002.png"])
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("notes.png").path))
        // Nothing half-written: no temporary files are left beside the masks.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path) == ["SC_rgb_rle_2frame"])
    }

    /// `--zoom crop`: each slice's box is drawn on a crop around it (48 pixels, the smallest
    /// crop, for a 16-pixel box) at one encoder pass per slice, and the mask lands back on
    /// the slice inside that crop. `--zoom on` (the default) is the union of that mask and
    /// the whole slice's (`--zoom off`), at two encoder passes per slice.
    @Test(.enabled(if: ready)) func zoomUnitesTheWholeSliceWithTheCrop() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-zoom")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.pydicom.appendingPathComponent("SC_rgb_rle_2frame.dcm").path
        var masks: [String: [Mask]] = [:]
        for (mode, encoded) in [("crop", 2), ("off", 2), ("on", 4)] {
            let out = dir.appendingPathComponent(mode)
            let run = try SegtuneBinary.run(["predict", "--box", "30,30,45,45", "--zoom", mode, "--json", "--quiet", input, "-o", out.path])
            #expect(run.status == 0, "\(mode): \(run.stderr)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            #expect(summary["slicesEncoded"] as? Int == encoded, "\(mode): \(run.stdout)")
            masks[mode] = try ["0001.png", "0002.png"].map { try readMask(at: out.appendingPathComponent("SC_rgb_rle_2frame/\($0)")) }
        }
        for (slice, crop) in try #require(masks["crop"]).enumerated() {
            #expect(crop.width == 100 && crop.height == 100)
            let bounds = try #require(crop.foregroundBounds, "slice \(slice + 1): empty mask")
            // The crop: 48 pixels centred on the box's centre (37.5): x and y 14…61.
            #expect(bounds.x >= 14 && bounds.y >= 14 && bounds.x + bounds.width <= 62 && bounds.y + bounds.height <= 62, "\(bounds)")
            let (whole, united) = (masks["off"]![slice], masks["on"]![slice])
            #expect(united.voxels == zip(whole.voxels, crop.voxels).map { max($0, $1) }, "slice \(slice + 1): on is not off ∪ crop")
        }
        let noBox = try SegtuneBinary.run(["predict", "--point", "20,20", "--zoom", "on", "scan.png", "-o", dir.appendingPathComponent("x").path])
        #expect(noBox.status != 0 && noBox.stderr.contains("--zoom sets how given boxes are drawn"), "\(noBox.stderr)")
    }

    /// RTSTRUCT contours are placed on a series' slices: other inputs get one line each, and
    /// the batch goes on to the next.
    @Test(.enabled(if: ready)) func rtstructNeedsADICOMSeries() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-rtstruct")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = ["SC_rgb_rle_2frame.dcm", "CT_small.dcm"].map { Self.pydicom.appendingPathComponent($0).path }
        let run = try SegtuneBinary.run(["predict", "--box", "10,10,40,40", "--format", "png,rtstruct"] + inputs
                                        + ["-o", dir.appendingPathComponent("out").path])
        #expect(run.status == 1)
        #expect(run.stderr == inputs.map { "segtune: \($0): --format rtstruct needs a DICOM series (a folder of slices)\n" }.joined())
        let help = try SegtuneBinary.run(["predict", "--help"])
        #expect(help.stdout.contains("rtstruct (DICOM series)") && help.stdout.contains("OUT/<case>.rtstruct.dcm"), "\(help.stdout)")
        let unknown = try SegtuneBinary.run(["predict", "--box", "1,1,5,5", "--format", "rtss", "scan.png", "-o", "out"])
        #expect(unknown.stderr.contains("unknown format 'rtss': use png, nifti, dicom-seg, rtstruct, nrrd, seg.nrrd"), "\(unknown.stderr)")
    }

    @Test func predictNeedsATaskOrAPrompt() throws {
        let run = try SegtuneBinary.run(["predict", "scan.png", "-o", "out"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("give --task NAME, or a prompt"), "\(run.stderr)")
    }
}
