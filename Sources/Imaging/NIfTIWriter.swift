import CImageIO
import Foundation

/// Writes a mask given in canonical order (as predicted) as a uint8 NIfTI-1 file
/// (`.nii`, or gzip-compressed `.nii.gz`) on `volume`'s stored grid: a NIfTI input's
/// own header (dims, pixdim, qform/sform and their codes) with the data type changed,
/// or, for a DICOM series, a header built from its Image Position/Orientation (sform and
/// qform, scanner coordinates). Written under a temporary name, then renamed.
public func writeNIfTIMask(_ mask: Mask, like volume: Volume, to url: URL) throws {
    let geometry = try storedGrid(of: mask, like: volume, writing: url)
    var header = volume.niftiHeader.map { maskHeader(from: $0) }
        ?? builtHeader(size: geometry.storedSize, affine: geometry.affine, spacing: volume.spacing)
    header += [0, 0, 0, 0]   // no extensions; the data start at 352
    let bytes = header + geometry.toStored(mask.voxels).map { $0 == 0 ? 0 : 1 }
    try writeAtomically(bytes, to: url, gzip: url.lastPathComponent.lowercased().hasSuffix(".gz"))
}

/// The grid a mask is written back on: the volume's, which must have the mask's size.
func storedGrid(of mask: Mask, like volume: Volume, writing url: URL) throws -> VolumeGeometry {
    let geometry = volume.geometry ?? VolumeGeometry(unorientedSize: [mask.width, mask.height, mask.depth])
    guard geometry.canonicalSize == [mask.width, mask.height, mask.depth] else {
        throw InputError(file: url.path, reason: "mask is \(mask.width)×\(mask.height)×\(mask.depth), its volume \(geometry.canonicalSize.map(String.init).joined(separator: "×"))")
    }
    return geometry
}

/// The input's header with what a 0/1 uint8 mask needs: datatype, bitpix, no scaling,
/// display range 0…1, no intent, data at 352.
private func maskHeader(from input: NIfTIHeader) -> [UInt8] {
    var h = HeaderBytes(bytes: input.bytes, swapped: input.swapped)
    h.put(Int16(0), at: 68)       // intent_code
    h.put(Int16(2), at: 70)       // datatype: uint8
    h.put(Int16(8), at: 72)       // bitpix
    h.putFloat(352, at: 108)      // vox_offset
    h.putFloat(1, at: 112)        // scl_slope
    h.putFloat(0, at: 116)        // scl_inter
    h.putFloat(1, at: 124)        // cal_max
    h.putFloat(0, at: 128)        // cal_min
    return h.bytes
}

/// A new little-endian header: sform and qform from the LPS affine (in NIfTI's RAS), or
/// only pixdim when the volume is not placed in space.
private func builtHeader(size: [Int], affine: [[Double]]?, spacing: [Double]?) -> [UInt8] {
    var h = HeaderBytes(bytes: [UInt8](repeating: 0, count: 348), swapped: false)
    h.put(Int32(348), at: 0)
    h.put(Int16(3), at: 40)
    for (i, d) in size.enumerated() { h.put(Int16(d), at: 42 + 2 * i) }
    for i in 3..<7 { h.put(Int16(1), at: 42 + 2 * i) }
    h.put(Int16(2), at: 70)
    h.put(Int16(8), at: 72)
    h.putFloat(352, at: 108)
    h.putFloat(1, at: 112)
    h.bytes[123] = 2              // xyzt_units: mm
    h.putFloat(1, at: 124)
    h.bytes[344] = UInt8(ascii: "n"); h.bytes[345] = UInt8(ascii: "+"); h.bytes[346] = UInt8(ascii: "1")
    guard let affine else {
        h.putFloat(1, at: 76)
        for (i, s) in (spacing ?? [1, 1, 1]).prefix(3).enumerated() { h.putFloat(Float(s), at: 80 + 4 * i) }
        return h.bytes
    }
    var ras = affine
    ras[0] = ras[0].map { -$0 }
    ras[1] = ras[1].map { -$0 }
    let norms = (0..<3).map { a in (0..<3).map { ras[$0][a] * ras[$0][a] }.reduce(0, +).squareRoot() }
    var r = (0..<3).map { row in (0..<3).map { ras[row][$0] / norms[$0] } }
    let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
        + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0])
    let qfac: Float = det < 0 ? -1 : 1
    if det < 0 { for row in 0..<3 { r[row][2] = -r[row][2] } }
    let q = quaternion(of: r)
    h.putFloat(qfac, at: 76)
    for (i, n) in norms.enumerated() { h.putFloat(Float(n), at: 80 + 4 * i) }
    h.put(Int16(1), at: 252)      // qform_code: scanner anatomical
    h.put(Int16(1), at: 254)      // sform_code
    for (i, v) in [q.b, q.c, q.d, ras[0][3], ras[1][3], ras[2][3]].enumerated() { h.putFloat(Float(v), at: 256 + 4 * i) }
    for row in 0..<3 { for col in 0..<4 { h.putFloat(Float(ras[row][col]), at: 280 + 16 * row + 4 * col) } }
    return h.bytes
}

/// The unit quaternion (a ≥ 0, as NIfTI stores b, c, d only) of a proper rotation.
private func quaternion(of r: [[Double]]) -> (b: Double, c: Double, d: Double) {
    var a, b, c, d: Double
    let trace = r[0][0] + r[1][1] + r[2][2]
    if trace > 0 {
        let s = 0.5 / (trace + 1).squareRoot()
        (a, b, c, d) = (0.25 / s, (r[2][1] - r[1][2]) * s, (r[0][2] - r[2][0]) * s, (r[1][0] - r[0][1]) * s)
    } else if r[0][0] > r[1][1] && r[0][0] > r[2][2] {
        let s = 2 * (1 + r[0][0] - r[1][1] - r[2][2]).squareRoot()
        (a, b, c, d) = ((r[2][1] - r[1][2]) / s, 0.25 * s, (r[0][1] + r[1][0]) / s, (r[0][2] + r[2][0]) / s)
    } else if r[1][1] > r[2][2] {
        let s = 2 * (1 + r[1][1] - r[0][0] - r[2][2]).squareRoot()
        (a, b, c, d) = ((r[0][2] - r[2][0]) / s, (r[0][1] + r[1][0]) / s, 0.25 * s, (r[1][2] + r[2][1]) / s)
    } else {
        let s = 2 * (1 + r[2][2] - r[0][0] - r[1][1]).squareRoot()
        (a, b, c, d) = ((r[1][0] - r[0][1]) / s, (r[0][2] + r[2][0]) / s, (r[1][2] + r[2][1]) / s, 0.25 * s)
    }
    return a < 0 ? (-b, -c, -d) : (b, c, d)
}

/// Header fields written in the header's own byte order.
private struct HeaderBytes {
    var bytes: [UInt8]
    var swapped: Bool

    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        let v = swapped ? value.byteSwapped : value
        withUnsafeBytes(of: v) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    mutating func putFloat(_ value: Float, at offset: Int) { put(value.bitPattern, at: offset) }
}

/// Writes `bytes` (gzip-compressed when asked) to a temporary name beside `url`, then renames.
func writeAtomically(_ bytes: [UInt8], to url: URL, gzip: Bool) throws {
    let temporary = AtomicFiles.temporary(beside: url)
    if gzip {
        var error = [CChar](repeating: 0, count: 256)
        let status = bytes.withUnsafeBufferPointer { buffer in
            temporary.path.withCString { cio_write_gzip($0, buffer.baseAddress, buffer.count, &error, error.count) }
        }
        guard status == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw InputError(file: url.path, reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    } else {
        do { try Data(bytes).write(to: temporary) } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw InputError(file: url.path, reason: "cannot write (\(systemReason(error)))")
        }
    }
    try AtomicFiles.moveIntoPlace(temporary, at: url)
}
