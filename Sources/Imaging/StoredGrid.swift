import CImageIO
import Foundation

/// A volume file's voxels as stored (x fastest, then y, then z) with its grid: what the
/// NRRD and MetaImage readers produce, brought to canonical order like NIfTI.
struct StoredGrid {
    var size: [Int]
    /// mm per voxel along the stored axes.
    var spacing: [Double]
    var values: [Float]
    var geometry: VolumeGeometry

    func volume(source: String) -> Volume {
        let size = geometry.canonicalSize
        let spacing = geometry.isOriented ? geometry.canonicalSpacing! : self.spacing
        let values = geometry.toCanonical(self.values)
        let perSlice = size[0] * size[1]
        let slices = (0..<size[2]).map { z in
            var image = Image(width: size[0], height: size[1], channels: 1,
                              pixels: Array(values[(z * perSlice)..<((z + 1) * perSlice)]))
            image.pixelSpacing = (x: spacing[0], y: spacing[1])
            image.source = source
            return image
        }
        var result = Volume(slices: slices, spacing: spacing, source: source)
        result.geometry = geometry
        return result
    }

    func mask(labels: Set<Int>?) -> Mask {
        // NaN or huge values are no label: background (Int() of them would trap).
        let voxels = values.map { v -> UInt8 in
            v.isFinite && abs(v) < 1e9 && isForeground(Int(v.rounded()), labels) ? 1 : 0
        }
        let size = geometry.canonicalSize
        return Mask(width: size[0], height: size[1], depth: size[2], voxels: geometry.toCanonical(voxels),
                    spacing: geometry.canonicalSpacing ?? spacing)
    }
}

/// Sample types of the raw-data formats, by size and kind.
enum SampleType {
    case int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64

    var bytes: Int {
        switch self {
        case .int8, .uint8: 1
        case .int16, .uint16: 2
        case .int32, .uint32, .float32: 4
        case .int64, .uint64, .float64: 8
        }
    }

    /// `count` samples from `data` (which the caller checked holds them), as Float.
    func decode(_ data: UnsafeRawBufferPointer, count: Int, bigEndian: Bool) -> [Float] {
        let swap = bigEndian != (1.bigEndian == 1)
        var values = [Float](repeating: 0, count: count)
        func fill<T: FixedWidthInteger>(_: T.Type, _ convert: (T) -> Float) {
            for i in 0..<count {
                let v = data.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)
                values[i] = convert(swap ? v.byteSwapped : v)
            }
        }
        switch self {
        case .int8: fill(Int8.self) { Float($0) }
        case .uint8: fill(UInt8.self) { Float($0) }
        case .int16: fill(Int16.self) { Float($0) }
        case .uint16: fill(UInt16.self) { Float($0) }
        case .int32: fill(Int32.self) { Float($0) }
        case .uint32: fill(UInt32.self) { Float($0) }
        case .int64: fill(Int64.self) { Float($0) }
        case .uint64: fill(UInt64.self) { Float($0) }
        case .float32: fill(UInt32.self) { Float(bitPattern: $0) }
        case .float64: fill(UInt64.self) { Float(Double(bitPattern: $0)) }
        }
        return values
    }
}

/// Refuses sizes that would allocate more than a scan plausibly holds (a damaged or
/// hostile header must not ask for terabytes): at most 2^31 samples.
func checkedSampleCount(_ size: [Int], file: String) throws -> Int {
    guard !size.isEmpty, size.allSatisfy({ $0 > 0 && $0 <= 1 << 20 }) else {
        throw InputError(file: file, reason: "invalid sizes \(size)")
    }
    let count = size.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
    guard count <= 1 << 31 else { throw InputError(file: file, reason: "sizes \(size) give \(count) voxels, more than segtune reads (2^31)") }
    return count
}

/// Reads a whole file, naming it in the error.
func readWholeFile(_ url: URL) throws -> Data {
    do { return try Data(contentsOf: url) } catch {
        throw InputError(file: url.path, reason: "cannot read (\(error.localizedDescription))")
    }
}

/// `count` samples of `type` from `data`: raw, or a gzip/zlib stream inflated to exactly
/// the expected size.
func decodeSamples(_ data: Data, compressed: Bool, type: SampleType, count: Int, bigEndian: Bool, file: String) throws -> [Float] {
    let needed = count * type.bytes
    if !compressed {
        guard data.count >= needed else {
            throw InputError(file: file, reason: "truncated: \(count) voxels need \(needed) bytes of data, the file has \(data.count)")
        }
        return data.withUnsafeBytes { type.decode($0, count: count, bigEndian: bigEndian) }
    }
    // Deflate expands at most about 1032:1, so a small stream cannot hold what a hostile
    // header claims: refused before the buffer is allocated.
    guard needed <= data.count * 1032 + 1024 else {
        throw InputError(file: file, reason: "truncated: \(data.count) compressed bytes cannot hold the \(needed) bytes the header gives")
    }
    var raw = [UInt8](repeating: 0, count: needed)
    var error = [CChar](repeating: 0, count: 256)
    let status = data.withUnsafeBytes { input in
        raw.withUnsafeMutableBytes { output in
            cio_inflate_exact(input.bindMemory(to: UInt8.self).baseAddress, input.count,
                              output.bindMemory(to: UInt8.self).baseAddress, needed, &error, error.count)
        }
    }
    guard status == 0 else {
        throw InputError(file: file, reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return raw.withUnsafeBytes { type.decode($0, count: count, bigEndian: bigEndian) }
}
