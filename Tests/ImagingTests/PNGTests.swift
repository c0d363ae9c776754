import Foundation
import Testing
@testable import Imaging

@Suite struct PNGTests {
    func write(_ png: PNGBuilder, _ name: String, in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(png.encoded()).write(to: url)
        return url
    }

    @Test func sixteenBitGrayKeepsValuesDespiteGamma() throws {
        let folder = try makeTemporaryFolder()
        // A gAMA chunk must not change medical values (libpng's simplified API would).
        let samples = [0, 1, 1000, 4095, 40000, 65535]
        let png = PNGBuilder(width: 3, height: 2, bitDepth: 16, colorType: .gray, samples: samples, gamma: 100000)
        let image = try readPNG(at: write(png, "g16.png", in: folder))
        #expect(image.width == 3 && image.height == 2 && image.channels == 1)
        #expect(image.pixels == samples.map(Float.init))
        #expect(image.maxSampleValue == 65535)
    }

    @Test func interlacedImagesComeOutInRowOrder() throws {
        let folder = try makeTemporaryFolder()
        let samples = (0..<(11 * 9)).map { ($0 * 7) % 256 }
        let png = PNGBuilder(width: 11, height: 9, bitDepth: 8, colorType: .gray, samples: samples, interlaced: true)
        #expect(try readPNG(at: write(png, "adam7.png", in: folder)).pixels == samples.map(Float.init))
    }

    @Test func lowBitDepthGrayKeepsSampleValues() throws {
        let folder = try makeTemporaryFolder()
        let samples = [0, 1, 2, 3, 3, 2, 1]
        let png = PNGBuilder(width: 7, height: 1, bitDepth: 2, colorType: .gray, samples: samples)
        let image = try readPNG(at: write(png, "g2.png", in: folder))
        #expect(image.pixels == samples.map(Float.init))
        #expect(image.maxSampleValue == 3)
    }

    @Test func grayAlphaDropsAlpha() throws {
        let folder = try makeTemporaryFolder()
        let png = PNGBuilder(width: 2, height: 1, bitDepth: 8, colorType: .grayAlpha, samples: [10, 255, 200, 0])
        let image = try readPNG(at: write(png, "ga.png", in: folder))
        #expect(image.channels == 1)
        #expect(image.pixels == [10, 200])
    }

    @Test func rgbaDropsAlphaAndKeepsColor() throws {
        let folder = try makeTemporaryFolder()
        let png = PNGBuilder(width: 2, height: 1, bitDepth: 8, colorType: .rgba, samples: [1, 2, 3, 4, 250, 251, 252, 0])
        let image = try readPNG(at: write(png, "rgba.png", in: folder))
        #expect(image.channels == 3)
        #expect(image.pixels == [1, 2, 3, 250, 251, 252])
        let rgb = PNGBuilder(width: 1, height: 2, bitDepth: 16, colorType: .rgb, samples: [1, 2, 3, 60000, 5, 6])
        let wide = try readPNG(at: write(rgb, "rgb16.png", in: folder))
        #expect(wide.pixels == [1, 2, 3, 60000, 5, 6])
    }

    @Test func paletteExpandsToRGBAndMaskKeepsIndices() throws {
        let folder = try makeTemporaryFolder()
        let png = PNGBuilder(width: 4, height: 1, bitDepth: 8, colorType: .palette, samples: [0, 1, 2, 1],
                             palette: [(0, 0, 0), (255, 0, 0), (0, 128, 7)])
        let url = try write(png, "pal.png", in: folder)
        let image = try readPNG(at: url)
        #expect(image.channels == 3)
        #expect(image.pixels == [0, 0, 0, 255, 0, 0, 0, 128, 7, 255, 0, 0])
        #expect(try readMask(at: url).voxels == [0, 1, 1, 1])
        #expect(try readMask(at: url, labels: [2]).voxels == [0, 0, 1, 0])

        // A 4-bit palette still expands to 8-bit colours.
        let small = PNGBuilder(width: 3, height: 1, bitDepth: 4, colorType: .palette, samples: [2, 0, 1],
                               palette: [(9, 9, 9), (200, 100, 50), (1, 2, 3)])
        let smallURL = try write(small, "pal4.png", in: folder)
        let expanded = try readPNG(at: smallURL)
        #expect(expanded.pixels == [1, 2, 3, 9, 9, 9, 200, 100, 50])
        #expect(expanded.maxSampleValue == 255)
        #expect(try readMask(at: smallURL).voxels == [1, 0, 1])
    }

    @Test func maskNonzeroIsForegroundAndLabelsSelect() throws {
        let folder = try makeTemporaryFolder()
        let png = PNGBuilder(width: 3, height: 2, bitDepth: 8, colorType: .gray, samples: [0, 1, 2, 3, 0, 255])
        let url = try write(png, "labels.png", in: folder)
        let any = try readMask(at: url)
        #expect(any.width == 3 && any.height == 2 && any.depth == 1)
        #expect(any.voxels == [0, 1, 1, 1, 0, 1])
        #expect(try readMask(at: url, labels: [1, 3]).voxels == [0, 1, 0, 1, 0, 0])
        #expect(try readMask(at: url, labels: [7]).foregroundCount == 0)
    }

    @Test func writeThenReadRoundTrips() throws {
        let folder = try makeTemporaryFolder()
        let url = folder.appendingPathComponent("out.png")
        let pixels: [UInt8] = (0..<(17 * 5)).map { UInt8(($0 * 37) % 256) }
        try writeGrayPNG(pixels, width: 17, height: 5, to: url)
        let image = try readPNG(at: url)
        #expect(image.width == 17 && image.height == 5)
        #expect(image.pixels == pixels.map(Float.init))
        // Only the final file is left: the temporary one was renamed.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.png"])
    }

    @Test func writeRejectsWrongPixelCountAndMissingFolder() throws {
        let folder = try makeTemporaryFolder()
        #expect(inputError { try writeGrayPNG([1, 2, 3], width: 2, height: 2, to: folder.appendingPathComponent("a.png")) } != nil)
        let missing = folder.appendingPathComponent("no/such/dir/a.png")
        #expect(inputError { try writeGrayPNG([1, 2, 3, 4], width: 2, height: 2, to: missing) }?.file == missing.path)
    }

    @Test func badCRCIsAClearError() throws {
        let folder = try makeTemporaryFolder()
        var bytes = PNGBuilder(width: 2, height: 2, bitDepth: 8, colorType: .gray, samples: [1, 2, 3, 4]).encoded()
        // The IDAT chunk's CRC sits just before the 12-byte IEND chunk.
        bytes[bytes.count - 13] ^= 0xFF
        let url = folder.appendingPathComponent("badcrc.png")
        try Data(bytes).write(to: url)
        let error = inputError { _ = try readPNG(at: url) }
        #expect(error?.file == url.path)
        #expect(error?.reason.contains("CRC") == true)
    }

    @Test func truncatedEmptyAndNonPNGFilesAreClearErrors() throws {
        let folder = try makeTemporaryFolder()
        let bytes = PNGBuilder(width: 8, height: 8, bitDepth: 8, colorType: .gray, samples: Array(repeating: 9, count: 64)).encoded()
        let truncated = folder.appendingPathComponent("cut.png")
        try Data(bytes.prefix(60)).write(to: truncated)
        let empty = folder.appendingPathComponent("empty.png")
        try Data().write(to: empty)
        let text = folder.appendingPathComponent("text.png")
        try Data("hello, not an image".utf8).write(to: text)
        #expect(inputError { _ = try readPNG(at: truncated) }?.file == truncated.path)
        #expect(inputError { _ = try readPNG(at: empty) }?.reason == "empty file")
        #expect(inputError { _ = try readPNG(at: text) }?.reason.contains("not a PNG") == true)
        #expect(inputError { _ = try readMask(at: truncated) } != nil)
    }
}
