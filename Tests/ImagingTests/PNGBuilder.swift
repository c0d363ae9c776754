import Foundation

/// A minimal PNG encoder for tests, independent of libpng: stored (uncompressed)
/// deflate blocks, filter type 0, so every byte of the file is known.
struct PNGBuilder {
    enum ColorType: UInt8 { case gray = 0, rgb = 2, palette = 3, grayAlpha = 4, rgba = 6 }

    var width: Int
    var height: Int
    var bitDepth: UInt8
    var colorType: ColorType
    /// Samples row-major, interleaved; packed per PNG rules for depths below 8.
    var samples: [Int]
    var palette: [(UInt8, UInt8, UInt8)] = []
    var gamma: UInt32?
    /// Adam7 interlacing (8-bit samples only).
    var interlaced = false

    var channels: Int {
        switch colorType { case .gray, .palette: 1; case .grayAlpha: 2; case .rgb: 3; case .rgba: 4 }
    }

    func encoded() -> [UInt8] {
        var file: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [bitDepth, colorType.rawValue, 0, 0, interlaced ? 1 : 0]
        file += chunk("IHDR", header)
        if let gamma { file += chunk("gAMA", bigEndian(gamma)) }
        if colorType == .palette { file += chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }) }
        file += chunk("IDAT", zlibStored(interlaced ? adam7Scanlines() : scanlines()))
        file += chunk("IEND", [])
        return file
    }

    /// Seven passes, each a small image of its own rows (PNG spec, Adam7).
    private func adam7Scanlines() -> [UInt8] {
        precondition(bitDepth == 8)
        let passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        var bytes: [UInt8] = []
        for (x0, y0, dx, dy) in passes where x0 < width && y0 < height {
            for y in stride(from: y0, to: height, by: dy) {
                bytes.append(0)
                for x in stride(from: x0, to: width, by: dx) {
                    for c in 0..<channels { bytes.append(UInt8(samples[(y * width + x) * channels + c])) }
                }
            }
        }
        return bytes
    }

    private func scanlines() -> [UInt8] {
        var bytes: [UInt8] = []
        let perRow = width * channels
        for y in 0..<height {
            bytes.append(0)  // filter: none
            let row = samples[(y * perRow)..<((y + 1) * perRow)]
            switch bitDepth {
            case 16: for s in row { bytes += [UInt8(s >> 8), UInt8(s & 0xFF)] }
            case 8: for s in row { bytes.append(UInt8(s)) }
            default:
                let perByte = 8 / Int(bitDepth)
                var packed = [UInt8](repeating: 0, count: (perRow + perByte - 1) / perByte)
                for (i, s) in row.enumerated() {
                    packed[i / perByte] |= UInt8(s) << (8 - Int(bitDepth) * (i % perByte + 1))
                }
                bytes += packed
            }
        }
        return bytes
    }
}

func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let typed = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
}

func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
}

func crc32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

func zlibStored(_ data: [UInt8]) -> [UInt8] {
    var out: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
        let length = min(65535, data.count - offset)
        let final: UInt8 = offset + length == data.count ? 1 : 0
        out += [final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
        out += data[offset..<(offset + length)]
        offset += length
    } while offset < data.count
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
    return out + bigEndian(b << 16 | a)
}
