import Foundation
import Testing
@testable import Imaging

/// Real DICOM files from the pydicom wheel, decoded by DCMTK here, against what pydicom
/// decodes (fixtures/pydicom/expected.json, written by scripts/make-pydicom-fixtures).
@Suite struct PydicomParityTests {
    struct Expected: Decodable {
        struct Probe: Decodable { var frame: Int; var row: Int; var column: Int; var values: [Double] }
        var file: String
        var lossy: Bool
        var transferSyntax: String
        var frames: Int
        var rows: Int
        var columns: Int
        var samplesPerPixel: Int
        var min: Double
        var max: Double
        var mean: Double
        var probes: [Probe]
        var pixelSpacing: [Double]?
        var rescaleSlope: Double
        var rescaleIntercept: Double
        var modality: String
    }
    struct Table: Decodable { var files: [Expected] }

    static let table: [Expected] = {
        let url = repositoryRoot.appendingPathComponent("fixtures/pydicom/expected.json")
        guard let data = try? Data(contentsOf: url), let table = try? JSONDecoder().decode(Table.self, from: data) else { return [] }
        return table.files
    }()

    @Test func fixtureCoversTheRequiredFiles() {
        let names = Set(Self.table.map(\.file))
        for required in ["CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm",
                         "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPGExtended.dcm",
                         "MR_small_jp2klossless.dcm", "J2K_pixelrep_mismatch.dcm", "GDCMJ2K_TextGBR.dcm", "JPEG2000.dcm"] {
            #expect(names.contains(required), "\(required) missing from expected.json")
        }
    }

    @Test(arguments: table.map(\.file))
    func decodesLikePydicom(_ name: String) throws {
        let expected = try #require(Self.table.first { $0.file == name })
        let frames = try readDICOM(at: pydicomFiles.appendingPathComponent(name))
        #expect(frames.count == expected.frames)
        let first = try #require(frames.first)
        #expect(first.height == expected.rows && first.width == expected.columns)
        #expect(first.channels == expected.samplesPerPixel)
        #expect(first.dicom?.transferSyntaxUID == expected.transferSyntax)
        #expect(first.dicom?.rescaleSlope == expected.rescaleSlope)
        #expect(first.dicom?.rescaleIntercept == expected.rescaleIntercept)
        #expect((first.dicom?.modality ?? "") == expected.modality)
        if let spacing = expected.pixelSpacing {
            #expect(first.pixelSpacing?.y == spacing[0] && first.pixelSpacing?.x == spacing[1])
        }

        // Lossy JPEG: two correct decoders may round the inverse DCT and the YCbCr → RGB
        // step differently, by a few levels. JPEG 2000 (.91): measured identical to pydicom's
        // pylibjpeg-openjpeg (OpenJPEG 2.5.2 vs Debian's 2.5.0); the tolerance allows other builds.
        let tolerance = expected.lossy ? 2.0 : 0.0
        var low = Double.infinity, high = -Double.infinity, sum = 0.0, count = 0
        for frame in frames {
            for v in frame.pixels {
                low = Swift.min(low, Double(v)); high = Swift.max(high, Double(v)); sum += Double(v)
            }
            count += frame.pixels.count
        }
        #expect(abs(low - expected.min) <= tolerance, "min \(low) vs pydicom \(expected.min)")
        #expect(abs(high - expected.max) <= tolerance, "max \(high) vs pydicom \(expected.max)")
        let meanTolerance = expected.lossy ? 0.05 : 1e-6 * Swift.max(1, abs(expected.mean))
        #expect(abs(sum / Double(count) - expected.mean) <= meanTolerance, "mean \(sum / Double(count)) vs pydicom \(expected.mean)")
        for probe in expected.probes {
            let image = frames[probe.frame]
            let start = (probe.row * image.width + probe.column) * image.channels
            let got = image.pixels[start..<(start + image.channels)].map(Double.init)
            for (g, e) in zip(got, probe.values) {
                #expect(abs(g - e) <= tolerance, "\(name) frame \(probe.frame) (\(probe.row), \(probe.column)): \(got) vs pydicom \(probe.values)")
            }
        }
    }

    @Test func badDICOMInputIsAClearError() throws {
        let truncated = pydicomFiles.appendingPathComponent("MR_truncated.dcm")
        #expect(inputError { _ = try readDICOM(at: truncated) }?.file == truncated.path)
        // JPEG2000.dcm with 4 codestream bytes overwritten (pydicom cannot decode it either).
        let jpeg2000 = pydicomFiles.appendingPathComponent("JPEG2000-embedded-sequence-delimiter.dcm")
        #expect(inputError { _ = try readDICOM(at: jpeg2000) }?.reason.hasPrefix("cannot decode the JPEG 2000 pixel data (frame 1: ") == true)
        let palette = pydicomFiles.appendingPathComponent("examples_palette.dcm")
        #expect(inputError { _ = try readDICOM(at: palette) }?.reason == "PALETTE COLOR images are not supported")
        let folder = try makeTemporaryFolder()
        let empty = folder.appendingPathComponent("empty.dcm")
        try Data().write(to: empty)
        #expect(inputError { _ = try readDICOM(at: empty) }?.reason == "empty file")
        let text = folder.appendingPathComponent("notes.dcm")
        try Data("Patient notes: this is plain text, not DICOM.\n".utf8).write(to: text)
        let textError = inputError { _ = try readDICOM(at: text) }
        #expect(textError?.file == text.path)
        #expect(textError?.reason.contains("DICOM") == true)
        let missing = folder.appendingPathComponent("nothing.dcm")
        #expect(inputError { _ = try readDICOM(at: missing) }?.file == missing.path)
    }

    @Test func lossyTwelveBitFileWithoutFixtureDecodesLikeItsTwin() throws {
        // JPEG-lossy.dcm holds the same 12-bit extended JPEG image as JPGExtended.dcm.
        let a = try readDICOM(at: pydicomFiles.appendingPathComponent("JPEG-lossy.dcm"))
        let b = try readDICOM(at: pydicomFiles.appendingPathComponent("JPGExtended.dcm"))
        #expect(a.count == 1 && a[0].width == 256 && a[0].height == 1024)
        #expect(a[0].pixels == b[0].pixels)
    }
}
