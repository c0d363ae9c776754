import CImageIO
import Foundation

/// Samples decoded by CImageIO, copied out of C memory.
struct Raster {
    var width: Int
    var height: Int
    var channels: Int
    var bitDepth: Int
    var samples: [UInt16]
}

/// Runs one CImageIO reader and copies its samples out; a failure becomes `InputError`.
private func decode(_ url: URL, _ read: (UnsafePointer<CChar>, UnsafeMutablePointer<cio_raster>) -> Int32) throws -> Raster {
    var raw = cio_raster()
    let status = url.path.withCString { read($0, &raw) }
    guard status == 0 else {
        let reason = withUnsafeBytes(of: raw.error) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        throw InputError(file: url.path, reason: reason)
    }
    defer { cio_raster_free(&raw) }
    let count = Int(raw.width) * Int(raw.height) * Int(raw.channels)
    var samples = [UInt16](repeating: 0, count: count)
    if raw.bytes_per_sample == 2 {
        let source = raw.pixels.assumingMemoryBound(to: UInt16.self)
        samples.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: source, count: count) }
    } else {
        let source = raw.pixels.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { samples[i] = UInt16(source[i]) }
    }
    return Raster(width: Int(raw.width), height: Int(raw.height), channels: Int(raw.channels),
                  bitDepth: Int(raw.bit_depth), samples: samples)
}

func readPNGRaster(_ url: URL, keepPaletteIndices: Bool) throws -> Raster {
    try decode(url) { cio_png_read($0, keepPaletteIndices ? 1 : 0, $1) }
}

func readJPEGRaster(_ url: URL) throws -> Raster {
    try decode(url) { cio_jpeg_read($0, $1) }
}

func image(from raster: Raster, source url: URL) -> Image {
    var result = Image(width: raster.width, height: raster.height, channels: raster.channels,
                       pixels: raster.samples.map { Float($0) })
    result.maxSampleValue = Double((1 << raster.bitDepth) - 1)
    result.source = url.path
    return result
}

/// Reads a PNG: 1/2/4/8/16-bit gray, gray+alpha, RGB(A), palette (expanded to RGB).
/// Alpha is dropped; no gamma is applied; values are the stored samples.
public func readPNG(at url: URL) throws -> Image {
    image(from: try readPNGRaster(url, keepPaletteIndices: false), source: url)
}

/// Reads an 8-bit gray or RGB JPEG; truncated or corrupt files are rejected.
public func readJPEG(at url: URL) throws -> Image {
    image(from: try readJPEGRaster(url), source: url)
}

/// Writes an 8-bit gray PNG atomically (temporary name, then rename).
public func writeGrayPNG(_ pixels: [UInt8], width: Int, height: Int, to url: URL) throws {
    try writePNG(pixels, width: width, height: height, channels: 1, to: url)
}

/// Writes an 8-bit PNG, gray (`channels` 1) or interleaved RGB (3), atomically
/// (temporary name, then rename).
public func writePNG(_ pixels: [UInt8], width: Int, height: Int, channels: Int, to url: URL) throws {
    guard width > 0, height > 0, channels == 1 || channels == 3, pixels.count == width * height * channels else {
        throw InputError(file: url.path, reason: "\(pixels.count) values do not make a \(width)×\(height)×\(channels) image")
    }
    let temporary = AtomicFiles.temporary(beside: url)
    var error = [CChar](repeating: 0, count: 256)
    let status = pixels.withUnsafeBufferPointer { buffer in
        temporary.path.withCString { cio_png_write8($0, buffer.baseAddress, Int32(width), Int32(height), Int32(channels), &error, error.count) }
    }
    guard status == 0 else {
        try? FileManager.default.removeItem(at: temporary)
        throw InputError(file: url.path, reason: String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    try AtomicFiles.moveIntoPlace(temporary, at: url)
}
