import CImageIO
import Foundation

/// A NIfTI-1 single-file volume (`.nii`, `.nii.gz`) as stored: x fastest, then y, then z.
struct NIfTIVolume {
    var width: Int
    var height: Int
    var depth: Int
    /// pixdim[1…3], mm.
    var spacing: [Double]
    /// scl_slope/scl_inter applied (when slope is nonzero).
    var values: [Float]
    /// From sform (sform_code > 0), else qform (qform_code > 0), else unoriented.
    var geometry: VolumeGeometry
    var header: NIfTIHeader
}

/// The 348 header bytes of a NIfTI-1 file, kept so that a mask can be written back on
/// exactly the input's grid and header (dims, pixdim, qform/sform and their codes).
public struct NIfTIHeader: Sendable, Equatable {
    public var bytes: [UInt8]
    /// Stored big-endian (the other byte order from this machine's).
    public var swapped: Bool
}

private let datatypes: [Int16: (name: String, type: SampleType)] = [
    2: ("uint8", .uint8), 4: ("int16", .int16), 8: ("int32", .int32), 16: ("float32", .float32), 64: ("float64", .float64),
    256: ("int8", .int8), 512: ("uint16", .uint16), 768: ("uint32", .uint32),
]

func readNIfTI(at url: URL) throws -> NIfTIVolume {
    var pointer: UnsafeMutablePointer<UInt8>?
    var size = 0
    var error = [CChar](repeating: 0, count: 256)
    guard cio_read_maybe_gzip(url.path, &pointer, &size, &error, error.count) == 0, let pointer else {
        throw InputError(file: url.path, reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    defer { cio_free(pointer) }
    let bytes = UnsafeRawBufferPointer(start: pointer, count: size)
    func fail(_ reason: String) -> InputError { InputError(file: url.path, reason: reason) }
    if size == 0 { throw fail("empty file") }
    guard size >= 348 else { throw fail("too short for a NIfTI-1 header (\(size) bytes, 348 needed)") }

    let little = bytes.loadUnaligned(fromByteOffset: 0, as: Int32.self)
    let swapped = little.byteSwapped
    guard little == 348 || swapped == 348 else {
        let found = little == 540 || swapped == 540 ? "540: NIfTI-2, which is not supported" : "\(little)"
        throw fail("not a NIfTI-1 file (header size sizeof_hdr is \(found); NIfTI-1 has 348)")
    }
    let swap = swapped == 348
    func int16(_ offset: Int) -> Int16 {
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self); return swap ? v.byteSwapped : v
    }
    func float32(_ offset: Int) -> Float {
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return Float(bitPattern: swap ? v.byteSwapped : v)
    }
    let magic = String(decoding: bytes[344..<347], as: UTF8.self)
    guard magic == "n+1" else {
        throw fail(magic == "ni1" ? "a NIfTI header/image pair (.hdr/.img) is not supported; use a single .nii file" : "not a NIfTI-1 file (magic is not n+1)")
    }
    let dims = (0..<8).map { Int(int16(40 + 2 * $0)) }
    guard (1...7).contains(dims[0]) else { throw fail("invalid dim[0] \(dims[0])") }
    let shape = (1...3).map { $0 <= dims[0] ? dims[$0] : 1 }
    guard shape.allSatisfy({ $0 > 0 }) else { throw fail("invalid dimensions \(shape)") }
    if dims[0] > 3, dims[4...dims[0]].contains(where: { $0 > 1 }) {
        throw fail("a \(dims[0])-D volume (\(dims[1...dims[0]].map(String.init).joined(separator: "×"))) is not supported; segtune reads 2-D and 3-D volumes")
    }
    let code = int16(70)
    guard let type = datatypes[code] else { throw fail("unsupported NIfTI datatype \(code)") }
    let pixdim = (1...3).map { Double(abs(float32(76 + 4 * $0))) }
    let voxOffset = float32(108)
    guard voxOffset.isFinite, voxOffset >= 348, voxOffset <= Float(size) else {
        throw fail("invalid vox_offset \(voxOffset) (the data must start after the 348-byte header, inside the file)")
    }
    let offset = Int(voxOffset)
    let count = shape[0] * shape[1] * shape[2]
    guard offset + count * type.type.bytes <= size else {
        throw fail("truncated: \(shape.map(String.init).joined(separator: "×")) \(type.name) voxels need \(offset + count * type.type.bytes) bytes, the file has \(size)")
    }
    var slope = float32(112), intercept = float32(116)
    if slope == 0 || !slope.isFinite { slope = 1; intercept = 0 }
    if !intercept.isFinite { intercept = 0 }

    // Stored in the other byte order from this machine's when `swap`.
    var values = type.type.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...]), count: count, bigEndian: swap != (1.bigEndian == 1))
    if slope != 1 || intercept != 0 {
        for i in 0..<count { values[i] = values[i] * slope + intercept }
    }
    let geometry: VolumeGeometry
    do {
        geometry = try niftiGeometry(size: shape, pixdim: pixdim, qfac: float32(76), qformCode: int16(252), sformCode: int16(254),
                                     quaternion: (256...276).filter { ($0 - 256) % 4 == 0 }.map { Double(float32($0)) },
                                     srows: (0..<12).map { Double(float32(280 + 4 * $0)) })
    } catch { throw fail(error.description) }
    return NIfTIVolume(width: shape[0], height: shape[1], depth: shape[2], spacing: pixdim, values: values,
                       geometry: geometry, header: NIfTIHeader(bytes: Array(bytes[0..<348]), swapped: swap))
}

/// The NIfTI-1 rules: sform when sform_code > 0, else qform when qform_code > 0 (the
/// quaternion, pixdim and qfac), else no orientation. NIfTI's world is RAS; ours is LPS.
func niftiGeometry(size: [Int], pixdim: [Double], qfac: Float, qformCode: Int16, sformCode: Int16,
                   quaternion q: [Double], srows: [Double]) throws(OrientationError) -> VolumeGeometry {
    var ras: [[Double]]
    if sformCode > 0 {
        ras = (0..<3).map { Array(srows[(4 * $0)..<(4 * $0 + 4)]) }
    } else if qformCode > 0 {
        let (b, c, d) = (q[0], q[1], q[2])
        let a = max(0, 1 - (b * b + c * c + d * d)).squareRoot()
        let r = [[a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
                 [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
                 [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - b * b - c * c]]
        let scale = [pixdim[0], pixdim[1], pixdim[2] * (qfac < 0 ? -1 : 1)]
        ras = (0..<3).map { row in (0..<3).map { r[row][$0] * scale[$0] } + [q[3 + row]] }
    } else {
        return VolumeGeometry(unorientedSize: size)
    }
    ras[0] = ras[0].map { -$0 }   // RAS → LPS: x and y change sign
    ras[1] = ras[1].map { -$0 }
    return try VolumeGeometry(storedSize: size, affine: ras)
}

/// The volume in canonical (LPS) order when its orientation is known; slices along canonical z.
func readNIfTIVolume(at url: URL) throws -> Volume {
    let volume = try readNIfTI(at: url)
    var result = volume.grid.volume(source: url.path)
    result.niftiHeader = volume.header
    return result
}

func readNIfTIMask(at url: URL, labels: Set<Int>?) throws -> Mask {
    try readNIfTI(at: url).grid.mask(labels: labels)
}

extension NIfTIVolume {
    var grid: StoredGrid { StoredGrid(size: [width, height, depth], spacing: spacing, values: values, geometry: geometry) }
}
