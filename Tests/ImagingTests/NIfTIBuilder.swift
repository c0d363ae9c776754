import Foundation

/// Writes NIfTI-1 single files (`n+1`) by the format's field offsets, for tests.
struct NIfTIBuilder {
    var dims: [Int]                // nx, ny, nz (, nt …)
    var datatype: Int16            // 2 u8, 4 i16, 8 i32, 16 f32, 64 f64, 256 i8, 512 u16
    var values: [Double]
    var pixdim: [Float] = [1, 1, 1]
    var slope: Float = 0
    var intercept: Float = 0
    var bigEndian = false
    var headerSize: Int32 = 348
    /// srow_x, srow_y, srow_z (RAS), written with sform_code 1.
    var sform: [[Float]]? = nil
    /// quatern_b, c, d, qoffset_x, y, z and qfac, written with qform_code 1.
    var qform: [Float]? = nil

    var bytesPerValue: Int { [2: 1, 4: 2, 8: 4, 16: 4, 64: 8, 256: 1, 512: 2][datatype]! }

    func encoded() -> [UInt8] {
        var header = [UInt8](repeating: 0, count: 352)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            let v = bigEndian ? value.bigEndian : value.littleEndian
            withUnsafeBytes(of: v) { for (i, b) in $0.enumerated() { header[offset + i] = b } }
        }
        func putFloat(_ value: Float, at offset: Int) { put(value.bitPattern, at: offset) }
        put(headerSize, at: 0)
        put(Int16(dims.count), at: 40)
        for (i, d) in dims.enumerated() { put(Int16(d), at: 42 + 2 * i) }
        put(datatype, at: 70)
        put(Int16(bytesPerValue * 8), at: 72)
        for (i, p) in pixdim.enumerated() { putFloat(p, at: 80 + 4 * i) }
        putFloat(352, at: 108)  // vox_offset
        putFloat(slope, at: 112)
        putFloat(intercept, at: 116)
        if let sform {
            put(Int16(1), at: 254)
            for (row, values) in sform.enumerated() { for (col, v) in values.enumerated() { putFloat(v, at: 280 + 16 * row + 4 * col) } }
        }
        if let qform {
            put(Int16(1), at: 252)
            for (i, v) in qform.prefix(6).enumerated() { putFloat(v, at: 256 + 4 * i) }
            putFloat(qform[6], at: 76)
        }
        header[344] = UInt8(ascii: "n"); header[345] = UInt8(ascii: "+"); header[346] = UInt8(ascii: "1")
        var data: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) {
            let v = bigEndian ? value.bigEndian : value.littleEndian
            withUnsafeBytes(of: v) { data += $0 }
        }
        for v in values {
            switch datatype {
            case 2: append(UInt8(v))
            case 4: append(Int16(v))
            case 8: append(Int32(v))
            case 16: append(Float(v).bitPattern)
            case 64: append(v.bitPattern)
            case 256: append(Int8(v))
            default: append(UInt16(v))
            }
        }
        return header + data
    }
}

/// A gzip member holding `data` in stored deflate blocks.
func gzipStored(_ data: [UInt8]) -> [UInt8] {
    let zlib = zlibStored(data)
    let deflate = Array(zlib[2..<(zlib.count - 4)])  // drop the zlib header and Adler-32
    let crc = crc32(data), size = UInt32(data.count)
    func littleEndian(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
    return [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF] + deflate + littleEndian(crc) + littleEndian(size)
}
