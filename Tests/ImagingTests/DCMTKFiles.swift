import Foundation

/// Writes DICOM test files with DCMTK's own command-line tools (package `dcmtk`, which
/// scripts/setup installs): dump2dcm builds a file from known pixels, then dcmconv,
/// dcmcjpeg, dcmcjpls and dcmcrle re-encode it in every transfer syntax.
enum DCMTKFiles {
    /// A known image: its pixels as stored, and how to describe it to dump2dcm.
    struct Known: Sendable {
        var name: String
        var rows: Int
        var columns: Int
        var frames: Int
        var samplesPerPixel: Int
        var bitsAllocated: Int
        var bitsStored: Int
        var isSigned: Bool
        var photometric: String
        var slope: Double = 1
        var intercept: Double = 0
        /// Stored sample values, frame by frame, interleaved.
        var stored: [Int]
        var extraAttributes: [String] = []

        /// stored × slope + intercept, the values a reader must return.
        var modalityValues: [Float] { stored.map { Float(Double($0) * slope + intercept) } }
    }

    /// variant suffix → (tool and arguments, transfer syntax UID)
    static let lossless: [(suffix: String, tool: [String], uid: String)] = [
        ("", [], "1.2.840.10008.1.2.1"),
        ("+ti", ["dcmconv", "+ti"], "1.2.840.10008.1.2"),
        ("+tb", ["dcmconv", "+tb"], "1.2.840.10008.1.2.2"),
        ("+td", ["dcmconv", "+td"], "1.2.840.10008.1.2.1.99"),
        ("-jpeg-lossless", ["dcmcjpeg", "+e1"], "1.2.840.10008.1.2.4.70"),
        ("-jpeg-lossless-p14", ["dcmcjpeg", "+el"], "1.2.840.10008.1.2.4.57"),
        ("-jpeg-ls", ["dcmcjpls"], "1.2.840.10008.1.2.4.80"),
        ("-rle", ["dcmcrle"], "1.2.840.10008.1.2.5"),
    ]
    static let lossy: [(suffix: String, tool: [String], uid: String)] = [
        ("-jpeg-baseline", ["dcmcjpeg", "+eb"], "1.2.840.10008.1.2.4.50"),
        ("-jpeg-extended", ["dcmcjpeg", "+ee"], "1.2.840.10008.1.2.4.51"),
    ]

    static let knownImages: [Known] = {
        func pattern(_ rows: Int, _ columns: Int, _ frames: Int, _ channels: Int, _ f: (Int, Int, Int, Int) -> Int) -> [Int] {
            var out: [Int] = []
            for frame in 0..<frames { for y in 0..<rows { for x in 0..<columns { for c in 0..<channels { out.append(f(frame, y, x, c)) } } } }
            return out
        }
        return [
            // CT-like: signed 16-bit with a non-integer slope and intercept.
            Known(name: "s16", rows: 48, columns: 64, frames: 1, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 16,
                  isSigned: true, photometric: "MONOCHROME2", slope: 0.5, intercept: -1024.25,
                  stored: pattern(48, 64, 1, 1) { _, y, x, _ in (x * 61 + y * 37) % 4096 - 1000 + (x == 5 && y == 5 ? -31000 : 0) },
                  extraAttributes: ["(0008,0060) CS [CT]", "(0020,0013) IS [7]", "(0028,0030) DS [0.5\\0.75]",
                                    "(0028,1050) DS [40]", "(0028,1051) DS [400]"]),
            Known(name: "u12", rows: 24, columns: 32, frames: 1, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 12,
                  isSigned: false, photometric: "MONOCHROME2",
                  stored: pattern(24, 32, 1, 1) { _, y, x, _ in (x * 131 + y * 71) % 4096 }),
            Known(name: "s12", rows: 24, columns: 32, frames: 1, samplesPerPixel: 1, bitsAllocated: 16, bitsStored: 12,
                  isSigned: true, photometric: "MONOCHROME2",
                  stored: pattern(24, 32, 1, 1) { _, y, x, _ in (x * 131 + y * 71) % 4096 - 2048 }),
            // Multi-frame, 8-bit, MONOCHROME1.
            Known(name: "u8", rows: 24, columns: 32, frames: 3, samplesPerPixel: 1, bitsAllocated: 8, bitsStored: 8,
                  isSigned: false, photometric: "MONOCHROME1",
                  stored: pattern(24, 32, 3, 1) { f, y, x, _ in (x * 7 + y * 3 + f * 50) % 256 }),
            Known(name: "rgb", rows: 24, columns: 32, frames: 1, samplesPerPixel: 3, bitsAllocated: 8, bitsStored: 8,
                  isSigned: false, photometric: "RGB",
                  stored: pattern(24, 32, 1, 3) { _, y, x, c in [x * 8, y * 10, x * y][c] % 256 }),
        ]
    }()

    /// The folder holding every generated file, made once per test process.
    static let folder: Result<URL, Error> = Result { try generate() }

    static func url(_ known: String, _ suffix: String) throws -> URL {
        try folder.get().appendingPathComponent("\(known)\(suffix).dcm")
    }

    private static func generate() throws -> URL {
        let folder = try makeTemporaryFolder("dcmtk-files")
        for known in knownImages {
            var raw = Data()
            for value in known.stored {
                let bits = UInt16(truncatingIfNeeded: value)
                if known.bitsAllocated == 8 { raw.append(UInt8(truncatingIfNeeded: value)) } else { raw += [UInt8(bits & 0xFF), UInt8(bits >> 8)] }
            }
            let rawURL = folder.appendingPathComponent("\(known.name).raw")
            try raw.write(to: rawURL)
            var dump = [
                "(0008,0016) UI =SecondaryCaptureImageStorage",
                "(0008,0018) UI [1.2.826.0.1.3680043.9.7777.3.\(known.name.utf8.reduce(0) { $0 * 31 + Int($1) } % 100000)]",
                "(0020,000d) UI [1.2.826.0.1.3680043.9.7777.3]",
                "(0020,000e) UI [1.2.826.0.1.3680043.9.7777.3.1]",
                "(0028,0002) US \(known.samplesPerPixel)",
                "(0028,0004) CS [\(known.photometric)]",
                "(0028,0008) IS [\(known.frames)]",
                "(0028,0010) US \(known.rows)",
                "(0028,0011) US \(known.columns)",
                "(0028,0100) US \(known.bitsAllocated)",
                "(0028,0101) US \(known.bitsStored)",
                "(0028,0102) US \(known.bitsStored - 1)",
                "(0028,0103) US \(known.isSigned ? 1 : 0)",
            ] + known.extraAttributes
            if known.samplesPerPixel == 3 { dump.append("(0028,0006) US 0") }
            if known.slope != 1 || known.intercept != 0 {
                dump += ["(0028,1052) DS [\(known.intercept)]", "(0028,1053) DS [\(known.slope)]"]
            }
            dump.append("(7fe0,0010) \(known.bitsAllocated == 8 ? "OB" : "OW") =\(rawURL.path)")
            let dumpURL = folder.appendingPathComponent("\(known.name).dump")
            try dump.joined(separator: "\n").appending("\n").write(to: dumpURL, atomically: true, encoding: .utf8)
            let base = folder.appendingPathComponent("\(known.name).dcm")
            try runTool(["dump2dcm", dumpURL.path, base.path])
            for variant in (lossless + lossy) where !variant.tool.isEmpty {
                try runTool(variant.tool + [base.path, folder.appendingPathComponent("\(known.name)\(variant.suffix).dcm").path])
            }
        }
        return folder
    }

    static func runTool(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ToolError(message: "\(arguments.joined(separator: " ")) failed (\(process.terminationStatus)); is DCMTK's `dcmtk` package installed (scripts/setup)? \(message)")
        }
    }

    struct ToolError: Error, CustomStringConvertible { var message: String; var description: String { message } }
}
