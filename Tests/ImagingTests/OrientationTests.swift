import Foundation
import Testing
@testable import Imaging

/// NIfTI orientation (sform, qform, none), canonical LPS order, and masks written back.
@Suite struct OrientationTests {
    // A 4×3×2 volume with distinct values: value = x + 10·y + 100·z in stored order.
    static let size = [4, 3, 2]
    static let stored: [Double] = (0..<24).map { (i: Int) -> Double in
        let x = i % 4, y = i / 4 % 3, z = i / 12
        return Double(x + 10 * y + 100 * z)
    }

    /// The same anatomy stored RAS (i → right) and LPS (i → left): the LPS copy is the RAS one
    /// with x and y reversed, and its affine says so.
    static func copies() -> (ras: NIfTIBuilder, lps: NIfTIBuilder) {
        var ras = NIfTIBuilder(dims: size, datatype: 4, values: stored, pixdim: [0.8, 0.9, 2.5])
        ras.sform = [[0.8, 0, 0, -10], [0, 0.9, 0, -20], [0, 0, 2.5, 30]]
        var flipped = [Double](repeating: 0, count: 24)
        for z in 0..<2 { for y in 0..<3 { for x in 0..<4 { flipped[(z * 3 + (2 - y)) * 4 + (3 - x)] = stored[(z * 3 + y) * 4 + x] } } }
        var lps = NIfTIBuilder(dims: size, datatype: 4, values: flipped, pixdim: [0.8, 0.9, 2.5])
        // Voxel (3, 2, 0) of this copy is voxel (0, 0, 0) of the RAS one, at world (−10, −20, 30).
        lps.sform = [[-0.8, 0, 0, -10 + 3 * 0.8], [0, -0.9, 0, -20 + 2 * 0.9], [0, 0, 2.5, 30]]
        return (ras, lps)
    }

    @Test func rasAndLPSCopiesReadTheSame() throws {
        let folder = try makeTemporaryFolder()
        let (ras, lps) = Self.copies()
        let rasURL = folder.appendingPathComponent("ras.nii"), lpsURL = folder.appendingPathComponent("lps.nii")
        try Data(ras.encoded()).write(to: rasURL)
        try Data(lps.encoded()).write(to: lpsURL)
        let a = try readVolume(at: rasURL), b = try readVolume(at: lpsURL)
        #expect(a.geometry?.storedCode == "RAS" && b.geometry?.storedCode == "LPS")
        #expect(a.slices.map(\.pixels) == b.slices.map(\.pixels))
        // Canonical x runs to the left: the RAS copy's last column comes first.
        #expect(a.slices[0].pixels.prefix(4) == [23, 22, 21, 20])
        #expect(a.spacing == [0.8, 0.9, 2.5].map { Double(Float($0)) })
        #expect(try readMask(at: rasURL, labels: [123]) == readMask(at: lpsURL, labels: [123]))
    }

    /// qform (quaternion) and sform describing the same placement give the same volume;
    /// no sform/qform keeps the stored order.
    @Test func qformAndNoOrientation() throws {
        let folder = try makeTemporaryFolder()
        var viaQform = NIfTIBuilder(dims: Self.size, datatype: 4, values: Self.stored, pixdim: [0.8, 0.9, 2.5])
        viaQform.qform = [0, 0, 1, 10, 20, 30, 1]   // 180° about z: i → left, j → posterior (LPS)
        var plain = viaQform
        plain.qform = nil
        try Data(viaQform.encoded()).write(to: folder.appendingPathComponent("q.nii"))
        try Data(plain.encoded()).write(to: folder.appendingPathComponent("plain.nii"))
        let q = try readVolume(at: folder.appendingPathComponent("q.nii"))
        let p = try readVolume(at: folder.appendingPathComponent("plain.nii"))
        #expect(q.geometry?.storedCode == "LPS" && q.geometry?.isIdentity == true)
        #expect(p.geometry?.storedCode == "unknown")
        #expect(q.slices.map(\.pixels) == p.slices.map(\.pixels))
    }

    @Test func singularAffineIsAClearError() throws {
        let folder = try makeTemporaryFolder()
        var bad = NIfTIBuilder(dims: Self.size, datatype: 4, values: Self.stored)
        bad.sform = [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, 0, 0]]
        let url = folder.appendingPathComponent("singular.nii")
        try Data(bad.encoded()).write(to: url)
        let error = #expect(throws: InputError.self) { try readVolume(at: url) }
        #expect(error?.description.hasPrefix("\(url.path): singular affine") == true)
    }

    /// A mask predicted in canonical order goes back on the input's stored grid and header.
    @Test(arguments: ["mask.nii", "mask.nii.gz"])
    func maskIsWrittenOnTheInputsGrid(_ name: String) throws {
        let folder = try makeTemporaryFolder()
        let (ras, _) = Self.copies()
        let input = folder.appendingPathComponent("ras.nii")
        try Data(ras.encoded()).write(to: input)
        let volume = try readVolume(at: input)
        func marked(_ v: Double) -> Bool { v >= 100 && v.truncatingRemainder(dividingBy: 10) == 1 }
        let canonical: [UInt8] = volume.slices.flatMap { $0.pixels.map { marked(Double($0)) ? 1 : 0 } }
        let out = folder.appendingPathComponent(name)
        try writeNIfTIMask(Mask(width: 4, height: 3, depth: 2, voxels: canonical), like: volume, to: out)
        let back = try readNIfTI(at: out)
        #expect(back.header.bytes[252..<348] == volume.niftiHeader!.bytes[252..<348])   // qform/sform and codes
        #expect(back.header.bytes[40..<56] == volume.niftiHeader!.bytes[40..<56])       // dims
        #expect(back.values == Self.stored.map { marked($0) ? Float(1) : 0 })
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }.isEmpty)
    }
}
