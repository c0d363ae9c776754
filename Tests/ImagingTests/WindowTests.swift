import Foundation
import Testing
@testable import Imaging

@Suite struct WindowTests {
    @Test func presetsAndWLParse() throws {
        #expect(try Window(parsing: "abdomen") == .fixed(width: 400, level: 40))
        #expect(try Window(parsing: "liver") == .fixed(width: 150, level: 30))
        #expect(try Window(parsing: "lung") == .fixed(width: 1500, level: -600))
        #expect(try Window(parsing: "bone") == .fixed(width: 1800, level: 400))
        #expect(try Window(parsing: "Brain") == .fixed(width: 80, level: 40))
        #expect(try Window(parsing: "auto") == .auto)
        #expect(try Window(parsing: "1500/-600") == .fixed(width: 1500, level: -600))
        #expect(try Window(parsing: "350.5/40") == .fixed(width: 350.5, level: 40))
    }

    @Test(arguments: ["", "kidney", "400", "400/40/3", "a/b", "0/40", "-5/40", "inf/0"])
    func badWindowsAreClearErrors(_ text: String) {
        #expect(throws: WindowParseError.self) { try Window(parsing: text) }
    }

    @Test func windowMapsLinearlyAndClamps() {
        let image = Image(width: 5, height: 1, channels: 1, pixels: [-1000, -160, 40, 240, 3000])
        let shown = applyWindow(resolveWindow(.fixed(width: 400, level: 40), for: [image]), to: image)
        #expect(shown.pixels == [0, 0, 0.5, 1, 1])
    }

    @Test func autoUsesTheFilesOwnWindowFirst() {
        var image = Image(width: 2, height: 1, channels: 1, pixels: [0, 100])
        image.fileWindow = (width: 1600, level: 600)
        #expect(resolveWindow(.auto, for: [image]) == ResolvedWindow(width: 1600, level: 600, source: .file))
    }

    /// CT gets the abdomen window under auto, before its own file window: the same
    /// organ then looks the same in every scan a task sees.
    @Test func autoGivesDICOMCTTheAbdomenWindow() throws {
        let ct = try readImages(at: pydicomFiles.appendingPathComponent("CT_small.dcm"))
        #expect(ct.first?.dicom?.modality == "CT")
        #expect(resolveWindow(.auto, for: ct) == ResolvedWindow(width: 400, level: 40, source: .ctDefault))
        let mr = try readImages(at: pydicomFiles.appendingPathComponent("MR_small.dcm"))
        #expect(resolveWindow(.auto, for: mr).source != .ctDefault)
    }

    /// A NIfTI carries no modality: Hounsfield-looking values (air at −1000, tissue, bone) are CT,
    /// MR intensities and 16-bit PNG samples are not.
    @Test func autoRecognisesHounsfieldValuesWithoutDICOM() {
        let hu = (0..<1000).map { i -> Float in i < 300 ? -1000 : i < 950 ? Float(i % 80) : 700 }
        let ctLike = Image(width: 1000, height: 1, channels: 1, pixels: hu)
        #expect(resolveWindow(.auto, for: [ctLike]).source == .ctDefault)
        let mrLike = Image(width: 1000, height: 1, channels: 1, pixels: (0..<1000).map { Float($0 % 600) })
        #expect(resolveWindow(.auto, for: [mrLike]).source == .percentiles)
        var png16 = ctLike
        png16.maxSampleValue = 65535
        #expect(resolveWindow(.auto, for: [png16]).source == .percentiles)
        #expect(ResolvedWindow(width: 400, level: 40, source: .ctDefault).summary == "W 400 / L 40 (CT default (abdomen))")
    }

    @Test func autoUsesPercentilesAcrossAllSlices() {
        // Values 0 … 999 over two slices; numpy.percentile([0…999], [0.5, 99.5]) = 4.995, 994.005.
        let a = Image(width: 500, height: 1, channels: 1, pixels: (0..<500).map(Float.init))
        let b = Image(width: 500, height: 1, channels: 1, pixels: (500..<1000).map(Float.init))
        let window = resolveWindow(.auto, for: [b, a])
        #expect(window.source == .percentiles)
        #expect(abs((window.level - window.width / 2) - 4.995) < 1e-3)
        #expect(abs((window.level + window.width / 2) - 994.005) < 1e-3)
        let shown = windowed([a, b], .auto)
        #expect(shown[0].pixels[0] == 0 && shown[1].pixels[499] == 1)
        #expect(shown.allSatisfy { $0.pixels.allSatisfy { (0...1).contains($0) } })
    }

    @Test func autoKeepsEightBitImagesAsTheyAre() {
        var image = Image(width: 3, height: 1, channels: 1, pixels: [0, 51, 255])
        image.maxSampleValue = 255
        let shown = windowed([image], .auto)[0]
        #expect(zip(shown.pixels, [0, 0.2, 1] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
    }

    @Test func flatImageDoesNotDivideByZero() {
        let image = Image(width: 2, height: 2, channels: 1, pixels: [7, 7, 7, 7])
        let shown = windowed([image], .auto)[0]
        #expect(shown.pixels.allSatisfy { $0.isFinite })
    }
}
