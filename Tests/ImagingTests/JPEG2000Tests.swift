import Foundation
import Testing
@testable import Imaging

/// JPEG 2000 and HTJ2K pixel data, decoded through OpenJPEG (the free DCMTK has no JPEG 2000
/// codec). PydicomParityTests checks the pydicom wheel's JPEG 2000 files value by value; no
/// HTJ2K file ships in pydicom or pydicom-data, so the HTJ2K codestreams here were made with
/// OpenJPH 0.9.0 (`ojph_compress`, Debian's openjph-tools) from the patterns beside them.
@Suite struct JPEG2000Tests {
    static let htj2kLossless = "1.2.840.10008.1.2.4.201"
    static let htj2kRPCL = "1.2.840.10008.1.2.4.202"
    static let htj2k = "1.2.840.10008.1.2.4.203"
    static let jpeg2000Lossless = "1.2.840.10008.1.2.4.90"

    /// 16×12, unsigned 12-bit, reversible: stored value (x·131 + y·71) mod 4096.
    static let grayA = codestream("/0//UQApQAAAAAAQAAAADAAAAAAAAAAAAAAAEAAAAAwAAAAAAAAAAAABCwEB/1AACAACAAAAB/9SAAwAAgABAAIEBEAB/1wACiBweHh4cHB4/2QAFgABT3BlbkpQSCBWZXIgMC45LjAu/5AACgAAAAAAagAB/5PAAWwA/z/c5/ua5y8beZ2fnfxhmvkbfxkAUbcAwACqgAFWTJgw+aCCMgJ2AD59+vT5wDGBvrYAwAFbAAWkBAQEBAQE54p6cYJ3AIwMBoPBYDD++ghAe/YhAey6AP/Z")
    static func grayAStored(_ x: Int, _ y: Int) -> Int { (x * 131 + y * 71) % 4096 }
    /// The same size and depth: (x·37 + y·211 + 1000) mod 4096.
    static let grayB = codestream("/0//UQApQAAAAAAQAAAADAAAAAAAAAAAAAAAEAAAAAwAAAAAAAAAAAABCwEB/1AACAACAAAAB/9SAAwAAgABAAIEBEAB/1wACiBweHh4cHB4/2QAFgABT3BlbkpQSCBWZXIgMC45LjAu/5AACgAAAAAAaAAB/5PAAWwAL7jMwd/wnS2NIMheinngmAJPcxkA0zgAwACpgAFWJBLpoEIxAnYAtNNOO+3AQgG+tgDAAVkABaQIgiAI8ueKenCCdwCkSUlJSUlJSfoMYHv2MYHsugD/2Q==")
    static func grayBStored(_ x: Int, _ y: Int) -> Int { (x * 37 + y * 211 + 1000) % 4096 }
    /// grayA's pattern, irreversible (9/7 wavelet, -qstep 0.0005).
    static let grayALossy = codestream("/0//UQApQAAAAAAQAAAADAAAAAAAAAAAAAAAEAAAAAwAAAAAAAAAAAABCwEB/1AACAACAAAAJf9SAAwAAgABAAIEBEAA/1wAESJ35mg1aDVoeGAaYBpvv/9kABYAAU9wZW5KUEggVmVyIDAuOS4wLv+QAAoAAAAAAIwAAf+TwAFsgFE9nVPtyqR7bTvuVVBterZBxxt/IUBRtwDAAtKABaJeTxCqqrS1PaFK+xl/8MRZlwAwhRNMMAEEAAD4Dk9zJDG3AMAFrwAW2N6rimXdVxXLuq8qlv1ZJX8lfhCvC3oAbtu2l77oSy996aUvvfQdAACnTAACm7616j0A/9k=")
    /// 10×8 RGB, 8-bit, reversible colour transform (YBR_RCT): (x·16, y·20, x·y·3) mod 256.
    static let rgb = codestream("/0//UQAvQAAAAAAKAAAACAAAAAAAAAAAAAAACgAAAAgAAAAAAAAAAAADBwEBBwEBBwEB/1AACAACAAAABP9SAAwAAgABAQIEBEAB/1wACiBYYGBgWFhg/2QAFgABT3BlbkpQSCBWZXIgMC45LjAu/5AACgAAAAAAxQAB/5PACsD/Id90L/UAAAF/NgDACoC1I0AAg551AMAKsDW/GgKnACABfLYAwASQAVEAEgD+ABMALEb+AKR3VQD+AEMAwARwAVEAEgAH0wDXCPQA0551AP4AAwDABHABUBJzANks+wDkd1UAwAngBUwASgb60X5LdQCUUP3mR8nstgD44BtkAMAJ4AVUAEiy5NS+T3UAZ3/44EjAgtd3APzycwDACeAFYN7d0X7LdQDnOef84ABGAAHsuAD/2Q==")
    static func rgbStored(_ x: Int, _ y: Int, _ c: Int) -> Int { [x * 16, y * 20, x * y * 3][c] % 256 }

    static func codestream(_ base64: String) -> [UInt8] { [UInt8](Data(base64Encoded: base64)!) }

    static func pattern(_ columns: Int, _ rows: Int, _ channels: Int = 1, _ f: (Int, Int, Int) -> Int) -> [Float] {
        var out: [Float] = []
        for y in 0..<rows { for x in 0..<columns { for c in 0..<channels { out.append(Float(f(x, y, c))) } } }
        return out
    }

    @Test(arguments: [htj2kLossless, htj2kRPCL, htj2k])
    func htj2kGrayDecodesExactlyWithRescale(_ uid: String) throws {
        let file = try Encapsulated(transferSyntax: uid, columns: 16, rows: 12, bitsStored: 12,
                                    slope: 0.5, intercept: -100, frames: [[Self.grayA]]).write()
        let frames = try readDICOM(at: file)
        #expect(frames.count == 1)
        let image = try #require(frames.first)
        #expect(image.width == 16 && image.height == 12 && image.channels == 1)
        #expect(image.dicom?.transferSyntaxUID == uid)
        #expect(image.dicom?.transferSyntaxName.hasPrefix("High-Throughput JPEG 2000") == true)
        #expect(image.pixels == Self.pattern(16, 12) { x, y, _ in Self.grayAStored(x, y) }.map { $0 * 0.5 - 100 })
    }

    @Test func htj2kColourIsRGB() throws {
        // OpenJPEG inverts the codestream's colour transform whatever the dataset calls it.
        for photometric in ["YBR_RCT", "RGB"] {
            let file = try Encapsulated(transferSyntax: Self.htj2kLossless, columns: 10, rows: 8, samplesPerPixel: 3,
                                        bitsStored: 8, photometric: photometric, frames: [[Self.rgb]]).write()
            let image = try #require(try readDICOM(at: file).first)
            #expect(image.channels == 3 && image.dicom?.photometricInterpretation == "RGB")
            #expect(image.pixels == Self.pattern(10, 8, 3, Self.rgbStored), "\(photometric)")
        }
    }

    @Test func htj2kLossyIsClose() throws {
        // Measured: the 9/7 round trip moves some samples by 1; pydicom (pylibjpeg-openjpeg)
        // decodes this codestream to the same values as segtune.
        let file = try Encapsulated(transferSyntax: Self.htj2k, columns: 16, rows: 12, bitsStored: 12,
                                    frames: [[Self.grayALossy]]).write()
        let image = try #require(try readDICOM(at: file).first)
        let exact = Self.pattern(16, 12) { x, y, _ in Self.grayAStored(x, y) }
        #expect(zip(image.pixels, exact).allSatisfy { abs($0 - $1) <= 1 })
    }

    /// Frame layouts that DICOM allows: with or without a Basic Offset Table, one or more
    /// fragments per frame.
    @Test(arguments: [true, false])
    func multiFrameLayouts(_ offsetTable: Bool) throws {
        let a = Self.pattern(16, 12) { x, y, _ in Self.grayAStored(x, y) }
        let b = Self.pattern(16, 12) { x, y, _ in Self.grayBStored(x, y) }
        func split(_ bytes: [UInt8], _ at: Int) -> [[UInt8]] { [Array(bytes[..<at]), Array(bytes[at...])] }
        var layouts = [[[Self.grayA], [Self.grayB]], [split(Self.grayA, 100), split(Self.grayB, 60)], [[Self.grayA], split(Self.grayB, 40)]]
        // Frame 2's first fragment is too short to show a codestream start: only the table tells.
        if offsetTable { layouts.append([split(Self.grayA, 100), split(Self.grayB, 2)]) }
        for frames in layouts {
            let file = try Encapsulated(transferSyntax: Self.htj2kRPCL, columns: 16, rows: 12, bitsStored: 12,
                                        frames: frames, offsetTable: offsetTable).write()
            let images = try readDICOM(at: file)
            #expect(images.count == 2)
            #expect(images.first?.pixels == a && images.last?.pixels == b, "fragments \(frames.map(\.count))")
        }
    }

    @Test func framesThatCannotBeToldApartAreAClearError() throws {
        var file = Encapsulated(transferSyntax: Self.htj2kRPCL, columns: 16, rows: 12, bitsStored: 12,
                                frames: [[Self.grayA], [Self.grayB]], offsetTable: false)
        file.numberOfFrames = 3
        let url = try file.write()
        #expect(inputError { _ = try readDICOM(at: url) }?.reason
                == "cannot decode the HTJ2K pixel data (3 frames expected, but 2 fragments hold 2 codestream starts)")
    }

    @Test func truncatedCodestreamIsOneClearLine() throws {
        // A real JPEG 2000 file's codestream cut in half, in an otherwise intact file.
        let real = try [UInt8](Data(contentsOf: pydicomFiles.appendingPathComponent("MR_small_jp2klossless.dcm")))
        let original = Array(Encapsulated.fragments(of: real).joined())
        try #require(!original.isEmpty)
        let cut = Array(original.prefix(original.count / 2))
        let url = try Encapsulated(transferSyntax: Self.jpeg2000Lossless, columns: 64, rows: 64, bitsStored: 16, isSigned: true,
                                   frames: [[cut]]).write()
        let error = try #require(inputError { _ = try readDICOM(at: url) })
        #expect(error.file == url.path)
        #expect(error.reason.hasPrefix("cannot decode the JPEG 2000 pixel data (frame 1: the codestream is cut short (no EOC marker at its end): "))
        #expect(!error.reason.contains("\n"))
        // The untouched codestream, rewrapped the same way, decodes like the original file.
        let whole = try Encapsulated(transferSyntax: Self.jpeg2000Lossless, columns: 64, rows: 64, bitsStored: 16, isSigned: true,
                                     frames: [[original]]).write()
        #expect(try readDICOM(at: whole).first?.pixels == readDICOM(at: pydicomFiles.appendingPathComponent("MR_small.dcm")).first?.pixels)

        // The second frame cut short: the error names it.
        let second = try Encapsulated(transferSyntax: Self.htj2kLossless, columns: 16, rows: 12, bitsStored: 12,
                                      frames: [[Self.grayA], [Array(Self.grayB.prefix(150))]]).write()
        #expect(inputError { _ = try readDICOM(at: second) }?.reason
                .hasPrefix("cannot decode the HTJ2K pixel data (frame 2: the codestream is cut short") == true)

        // The file itself cut short inside the pixel data: DCMTK's reader reports it first.
        let folder = try makeTemporaryFolder()
        let short = folder.appendingPathComponent("MR_small_jp2klossless-cut.dcm")
        try Data(real.prefix(real.count - 3000)).write(to: short)
        #expect(inputError { _ = try readDICOM(at: short) }?.reason == "not a DICOM file, or truncated (the data end early)")
    }

    @Test func codestreamOfTheWrongSizeIsAClearError() throws {
        let url = try Encapsulated(transferSyntax: Self.htj2kLossless, columns: 16, rows: 13, bitsStored: 12,
                                   frames: [[Self.grayA]]).write()
        #expect(inputError { _ = try readDICOM(at: url) }?.reason == "cannot decode the HTJ2K pixel data (frame 1: the codestream "
                + "is 16x12 with 1 component(s); Columns x Rows 16x13 with 1 sample(s) per pixel expected)")
    }

    @Test func stillUnsupportedSyntaxIsClear() throws {
        // JPEG 2000 Part 2 (multi-component) stays unsupported: the same file, relabelled.
        var bytes = try [UInt8](Data(contentsOf: pydicomFiles.appendingPathComponent("JPEG2000.dcm")))
        let label = Array("1.2.840.10008.1.2.4.91".utf8)
        let at = try #require((0...(bytes.count - label.count)).first { Array(bytes[$0..<($0 + label.count)]) == label })
        bytes[at + label.count - 1] = UInt8(ascii: "3")
        let url = try makeTemporaryFolder().appendingPathComponent("part2.dcm")
        try Data(bytes).write(to: url)
        #expect(inputError { _ = try readDICOM(at: url) }?.reason
                == "unsupported transfer syntax 1.2.840.10008.1.2.4.93 (JPEG 2000 Part 2 Multicomponent Image Compression (Lossless or Lossy))")
    }

    /// Bytes overwritten inside the codestream (where DCMTK's reader cannot notice): an error
    /// line or an image, never a crash.
    @Test(arguments: ["htj2k-gray", "htj2k-rgb", "JPEG2000.dcm", "GDCMJ2K_TextGBR.dcm"])
    func damagedCodestreamsFailCleanly(_ name: String) throws {
        var encapsulated: Encapsulated
        switch name {
        case "htj2k-gray":
            encapsulated = Encapsulated(transferSyntax: Self.htj2kLossless, columns: 16, rows: 12, bitsStored: 12, frames: [[Self.grayA]])
        case "htj2k-rgb":
            encapsulated = Encapsulated(transferSyntax: Self.htj2kLossless, columns: 10, rows: 8, samplesPerPixel: 3, bitsStored: 8,
                                        photometric: "YBR_RCT", frames: [[Self.rgb]])
        default:
            let real = try [UInt8](Data(contentsOf: pydicomFiles.appendingPathComponent(name)))
            let info = try #require(try readDICOM(at: pydicomFiles.appendingPathComponent(name)).first)
            encapsulated = Encapsulated(transferSyntax: info.dicom!.transferSyntaxUID, columns: info.width, rows: info.height,
                                        samplesPerPixel: info.channels, bitsStored: info.dicom!.bitsStored,
                                        isSigned: info.dicom!.isSigned, photometric: info.channels == 3 ? "YBR_RCT" : "MONOCHROME2",
                                        frames: [[Array(Encapsulated.fragments(of: real).joined())]])
        }
        let original = encapsulated.frames[0][0]
        var random = DamagedInputTests.Random(state: UInt64(original.count))
        for trial in 0..<24 {
            var damaged = original
            for _ in 0...random.next(8) { damaged[random.next(damaged.count)] = UInt8(random.next(256)) }
            encapsulated.frames = [[damaged]]
            let url = try encapsulated.write(name: "\(trial)-\(name)")
            do {
                _ = try readDICOM(at: url)
            } catch let error as InputError {
                #expect(error.file == url.path)
                #expect(!error.reason.isEmpty && !error.reason.contains("\n"))
            }
        }
    }
}

/// A minimal DICOM file (explicit VR little endian) around encapsulated codestreams, which
/// DCMTK's tools cannot write for JPEG 2000 or HTJ2K.
struct Encapsulated {
    var transferSyntax: String
    var columns: Int
    var rows: Int
    var samplesPerPixel = 1
    var bitsStored: Int
    var isSigned = false
    var photometric = "MONOCHROME2"
    var slope = 1.0
    var intercept = 0.0
    /// Each frame's fragments.
    var frames: [[[UInt8]]]
    var offsetTable = true
    var numberOfFrames: Int?

    func write(name: String = "encapsulated") throws -> URL {
        let url = try makeTemporaryFolder(name).appendingPathComponent("\(name).dcm")
        try Data(encoded()).write(to: url)
        return url
    }

    func encoded() -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: Int) -> [UInt8] { le16(v & 0xFFFF) + le16(v >> 16) }
        func element(_ group: Int, _ tag: Int, _ vr: String, _ value: [UInt8]) -> [UInt8] {
            let even = value.count % 2 == 0 ? value : value + [vr == "UI" || vr == "OB" ? 0 : 0x20]
            let long = ["OB", "OW", "SQ", "UN", "UT"].contains(vr)
            return le16(group) + le16(tag) + Array(vr.utf8) + (long ? [0, 0] + le32(even.count) : le16(even.count)) + even
        }
        func text(_ group: Int, _ tag: Int, _ vr: String, _ value: String) -> [UInt8] { element(group, tag, vr, Array(value.utf8)) }
        func us(_ tag: Int, _ value: Int) -> [UInt8] { element(0x0028, tag, "US", le16(value)) }

        let sopClass = "1.2.840.10008.5.1.4.1.1.7", instance = "1.2.826.0.1.3680043.9.7777.4.1"
        let metaBody = element(0x0002, 0x0001, "OB", [0, 1]) + text(0x0002, 0x0002, "UI", sopClass)
            + text(0x0002, 0x0003, "UI", instance) + text(0x0002, 0x0010, "UI", transferSyntax)
        var out = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        out += element(0x0002, 0x0000, "UL", le32(metaBody.count)) + metaBody
        out += text(0x0008, 0x0016, "UI", sopClass) + text(0x0008, 0x0018, "UI", instance)
        out += us(0x0002, samplesPerPixel) + text(0x0028, 0x0004, "CS", photometric)
        if samplesPerPixel == 3 { out += us(0x0006, 0) }
        out += text(0x0028, 0x0008, "IS", String(numberOfFrames ?? frames.count))
        out += us(0x0010, rows) + us(0x0011, columns)
        out += us(0x0100, bitsStored <= 8 ? 8 : 16) + us(0x0101, bitsStored) + us(0x0102, bitsStored - 1) + us(0x0103, isSigned ? 1 : 0)
        if slope != 1 || intercept != 0 { out += text(0x0028, 0x1052, "DS", "\(intercept)") + text(0x0028, 0x1053, "DS", "\(slope)") }

        func item(_ bytes: [UInt8]) -> [UInt8] {
            let even = bytes.count % 2 == 0 ? bytes : bytes + [0]
            return [0xFE, 0xFF, 0x00, 0xE0] + le32(even.count) + even
        }
        var offsets: [UInt8] = [], fragments: [UInt8] = []
        for frame in frames {
            offsets += le32(fragments.count)
            for fragment in frame { fragments += item(fragment) }
        }
        out += [0xE0, 0x7F, 0x10, 0x00] + Array("OB".utf8) + [0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        out += item(offsetTable ? offsets : []) + fragments + [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]
        return out
    }

    /// The fragments (after the offset table) of a file's encapsulated Pixel Data, read from the
    /// last Pixel Data element of undefined length (VR OB, or OW as some writers put it).
    static func fragments(of file: [UInt8]) -> [[UInt8]] {
        let headers = ["OB", "OW"].map { [0xE0, 0x7F, 0x10, 0x00] + Array($0.utf8) + [0, 0, 0xFF, 0xFF, 0xFF, 0xFF] as [UInt8] }
        guard let start = (0...(file.count - 12)).last(where: { headers.contains(Array(file[$0..<($0 + 12)])) }) else { return [] }
        var position = start + 12, items: [[UInt8]] = []
        while position + 8 <= file.count, file[position..<(position + 4)].elementsEqual([0xFE, 0xFF, 0x00, 0xE0]) {
            let length = file[(position + 4)..<(position + 8)].reversed().reduce(0) { $0 << 8 | Int($1) }
            items.append(Array(file[(position + 8)..<min(file.count, position + 8 + length)]))
            position += 8 + length
        }
        return Array(items.dropFirst())
    }
}
