import Foundation
import Testing
@testable import Imaging

/// One known image per bit depth / sign / colour, encoded by DCMTK's tools in every
/// transfer syntax segtune supports, must decode to the same modality values.
@Suite struct TransferSyntaxTests {
    @Test(arguments: DCMTKFiles.knownImages.map(\.name), DCMTKFiles.lossless.map(\.suffix))
    func losslessEncodingsDecodeToTheKnownValues(_ name: String, _ suffix: String) throws {
        let known = try #require(DCMTKFiles.knownImages.first { $0.name == name })
        let variant = try #require(DCMTKFiles.lossless.first { $0.suffix == suffix })
        let frames = try readDICOM(at: DCMTKFiles.url(name, suffix))
        #expect(frames.count == known.frames)
        #expect(frames.allSatisfy { $0.width == known.columns && $0.height == known.rows && $0.channels == known.samplesPerPixel })
        #expect(frames.first?.dicom?.transferSyntaxUID == variant.uid)
        #expect(frames.flatMap(\.pixels) == known.modalityValues, "\(name)\(suffix) decodes differently")
    }

    @Test(arguments: [("u8", "-jpeg-baseline"), ("rgb", "-jpeg-baseline"), ("u12", "-jpeg-extended")])
    func lossyEncodingsDecodeCloseToTheKnownValues(_ name: String, _ suffix: String) throws {
        let known = try #require(DCMTKFiles.knownImages.first { $0.name == name })
        let frames = try readDICOM(at: DCMTKFiles.url(name, suffix))
        #expect(frames.first?.dicom?.transferSyntaxUID == DCMTKFiles.lossy.first { $0.suffix == suffix }?.uid)
        let got = frames.flatMap(\.pixels), want = known.modalityValues
        try #require(got.count == want.count)
        let range = Float((1 << known.bitsStored) - 1)
        let meanError = zip(got, want).map { abs($0 - $1) }.reduce(0, +) / Float(got.count)
        // DCMTK's default quality (90): the mean error stays near one percent of the range.
        #expect(meanError < 0.02 * range, "mean error \(meanError) of \(range)")
    }

    @Test func attributesAreRead() throws {
        let image = try #require(try readDICOM(at: DCMTKFiles.url("s16", "+tb")).first)
        let info = try #require(image.dicom)
        #expect(info.modality == "CT")
        #expect(info.instanceNumber == 7)
        #expect(info.rescaleSlope == 0.5 && info.rescaleIntercept == -1024.25)
        #expect(info.isSigned && info.bitsStored == 16)
        #expect(info.seriesInstanceUID == "1.2.826.0.1.3680043.9.7777.3.1")
        #expect(info.transferSyntaxName == "Big Endian Explicit")
        // Pixel Spacing is row spacing (y) first.
        #expect(image.pixelSpacing?.y == 0.5 && image.pixelSpacing?.x == 0.75)
        #expect(image.fileWindow?.width == 400 && image.fileWindow?.level == 40)
        // The outlier at (5, 5): stored −31000 + (5·61 + 5·37) − 1000, times 0.5, minus 1024.25.
        #expect(image.pixels[5 * 64 + 5] == Float(Double(5 * 61 + 5 * 37 - 1000 - 31000) * 0.5 - 1024.25))
    }

    @Test func monochrome1IsInvertedForDisplayOnly() throws {
        let frames = try readDICOM(at: DCMTKFiles.url("u8", "-rle"))
        #expect(frames.allSatisfy { $0.invertsForDisplay })
        #expect(frames[1].dicom?.frameIndex == 1)
        let shown = applyWindow(ResolvedWindow(width: 255, level: 127.5, source: .option), to: frames[0])
        for (value, display) in zip(frames[0].pixels, shown.pixels).prefix(50) {
            #expect(abs(display - (1 - value / 255)) < 1e-6)
        }
    }
}
