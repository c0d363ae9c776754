import Foundation
import Testing
@testable import Imaging

/// Damaged copies of real files (cut short, or with bytes overwritten) must give an
/// `InputError` or an image, never a crash or another kind of error.
@Suite struct DamagedInputTests {
    /// SplitMix64: the same damage on every run.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    static let sources: [String] = ["CT_small.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm",
                                    "SC_rgb_jpeg_dcmtk.dcm", "image_dfl.dcm", "demo.png", "volume.nii.gz"]

    func original(_ name: String) throws -> [UInt8] {
        switch name {
        case "demo.png":
            return PNGBuilder(width: 16, height: 16, bitDepth: 16, colorType: .gray, samples: (0..<256).map { $0 * 200 }).encoded()
        case "volume.nii.gz":
            return gzipStored(NIfTIBuilder(dims: [8, 8, 3], datatype: 4, values: (0..<192).map(Double.init), slope: 2).encoded())
        default:
            return [UInt8](try Data(contentsOf: pydicomFiles.appendingPathComponent(name)))
        }
    }

    @Test(arguments: sources)
    func damagedCopiesFailCleanly(_ name: String) throws {
        let bytes = try original(name)
        let folder = try makeTemporaryFolder(name)
        var random = Random(state: UInt64(bytes.count))
        var failures = 0
        for trial in 0..<24 {
            var damaged = bytes
            if trial % 3 == 0 {
                damaged = Array(bytes.prefix(random.next(bytes.count)))
            } else {
                for _ in 0...random.next(16) { damaged[random.next(damaged.count)] = UInt8(random.next(256)) }
            }
            let url = folder.appendingPathComponent("\(trial)-\(name)")
            try Data(damaged).write(to: url)
            do {
                _ = try readImages(at: url)
            } catch let error as InputError {
                #expect(error.file == url.path)
                #expect(!error.reason.isEmpty)
                failures += 1
            }
        }
        // Cutting a file short is always caught.
        #expect(failures >= 8)
    }
}
