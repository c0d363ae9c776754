import Foundation
import Testing
@testable import Imaging

/// JPEG streams taken out of JPEG-encapsulated DICOM files (a fragment is a complete
/// JPEG file), so the same pixels can be checked through CImageIO's libjpeg and DCMTK.
@Suite struct JPEGTests {
    /// The first JPEG stream (SOI … EOI) inside a DICOM file.
    func firstJPEGStream(in dicom: URL) throws -> Data {
        let bytes = [UInt8](try Data(contentsOf: dicom))
        let start = try #require((0..<(bytes.count - 3)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xD8 && bytes[$0 + 2] == 0xFF })
        let end = try #require((start..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xD9 })
        return Data(bytes[start...(end + 1)])
    }

    func extract(_ dicom: URL, to name: String) throws -> (jpeg: URL, dicom: Image) {
        let folder = try makeTemporaryFolder(name)
        let url = folder.appendingPathComponent(name)
        try firstJPEGStream(in: dicom).write(to: url)
        return (url, try #require(try readDICOM(at: dicom).first))
    }

    func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    @Test func grayJPEGMatchesDCMTKsDecoding() throws {
        let (url, reference) = try extract(DCMTKFiles.url("u8", "-jpeg-baseline"), to: "gray.jpg")
        let image = try readJPEG(at: url)
        #expect(image.channels == 1 && image.width == 32 && image.height == 24)
        #expect(image.maxSampleValue == 255)
        // libjpeg-turbo and DCMTK's IJG copy may round the inverse DCT differently.
        #expect(maxDifference(image.pixels, reference.pixels) <= 2)
    }

    @Test func rgbJPEGFromARealFileMatchesDCMTKsDecoding() throws {
        let (url, reference) = try extract(pydicomFiles.appendingPathComponent("SC_rgb_jpeg_dcmtk.dcm"), to: "rgb.jpg")
        let image = try readJPEG(at: url)
        #expect(image.channels == 3 && image.width == 100 && image.height == 100)
        #expect(image.pixels.count == reference.pixels.count)
        #expect(maxDifference(image.pixels, reference.pixels) <= 2)
        // Through readImages too: one image.
        #expect(try readImages(at: url).count == 1)
    }

    @Test func truncatedEmptyAndNonJPEGFilesAreClearErrors() throws {
        let (url, _) = try extract(pydicomFiles.appendingPathComponent("SC_rgb_jpeg_dcmtk.dcm"), to: "whole.jpg")
        let bytes = try Data(contentsOf: url)
        let folder = url.deletingLastPathComponent()
        let truncated = folder.appendingPathComponent("truncated.jpg")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        let error = inputError { _ = try readJPEG(at: truncated) }
        #expect(error?.file == truncated.path)
        #expect(error?.reason.contains("truncated") == true)

        let empty = folder.appendingPathComponent("empty.jpg")
        try Data().write(to: empty)
        #expect(inputError { _ = try readJPEG(at: empty) }?.reason == "empty file")
        let text = folder.appendingPathComponent("text.jpg")
        try Data("not a picture at all".utf8).write(to: text)
        #expect(inputError { _ = try readJPEG(at: text) }?.reason.contains("not a readable JPEG") == true)
    }
}
