import Foundation

/// The entries of a zip archive held in a `MappedFile`, read from its central
/// directory (ZIP64 included, as large checkpoints need it).
///
/// PyTorch writes every entry stored (uncompressed) and 64-byte aligned, so a
/// stored entry's payload is simply a range of the mapping; `TorchCheckpoint`
/// falls back to ZIPFoundation only for a deflated entry (a re-zipped file).
struct ZipDirectory {
    struct Entry {
        let name: String
        /// 0 stored, 8 deflated.
        let method: UInt16
        let compressedSize: Int
        let size: Int
        /// Where the payload starts in the file.
        let dataOffset: Int
    }

    let entries: [Entry]
    private let byName: [String: Int]

    static func isZip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.le(UInt32.self, at: 0) == 0x0403_4b50
    }

    init(_ file: MappedFile) throws {
        let bytes = file.bytes
        guard let eocd = Self.findEndOfCentralDirectory(bytes) else {
            throw file.error("not a complete zip archive (no end-of-central-directory record; truncated?)")
        }
        var count = Int(bytes.le(UInt16.self, at: eocd + 10)!)
        var directorySize = Int(bytes.le(UInt32.self, at: eocd + 12)!)
        var directoryOffset = Int(bytes.le(UInt32.self, at: eocd + 16)!)
        // ZIP64: the locator sits just before the classic record and points at the 64-bit one.
        if bytes.le(UInt32.self, at: eocd - 20) == 0x0706_4b50,
           let z64 = bytes.le(UInt64.self, at: eocd - 12).flatMap({ Int(exactly: $0) }) {
            guard bytes.le(UInt32.self, at: z64) == 0x0606_4b50,
                  let n = bytes.le(UInt64.self, at: z64 + 32), let size = bytes.le(UInt64.self, at: z64 + 40),
                  let offset = bytes.le(UInt64.self, at: z64 + 48),
                  let n = Int(exactly: n), let size = Int(exactly: size), let offset = Int(exactly: offset) else {
                throw file.error("corrupt zip archive (bad ZIP64 end-of-central-directory record)")
            }
            (count, directorySize, directoryOffset) = (n, size, offset)
        }
        guard directoryOffset >= 0, directorySize >= 0, directoryOffset <= eocd, directorySize <= eocd - directoryOffset else {
            throw file.error("corrupt zip archive (central directory outside the file; truncated?)")
        }
        // Each entry takes at least 46 bytes: a count from a damaged header must not size the array.
        guard count <= directorySize / 46 else {
            throw file.error("corrupt zip archive (\(count) entries cannot fit a \(directorySize)-byte central directory)")
        }
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var position = directoryOffset
        for _ in 0..<count {
            entries.append(try Self.readEntry(at: &position, in: bytes, file: file))
        }
        self.entries = entries
        byName = Dictionary(entries.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The single entry whose name ends with `suffix` (PyTorch's folder prefix is arbitrary).
    func entry(endingWith suffix: String) -> Entry? {
        entries.first { $0.name == suffix || $0.name.hasSuffix("/" + suffix) }
    }

    func entry(named name: String) -> Entry? {
        byName[name].map { entries[$0] }
    }

    private static func findEndOfCentralDirectory(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let last = bytes.count - 22
        guard last >= 0 else { return nil }
        // The record is followed by a comment of at most 65535 bytes.
        for offset in stride(from: last, through: max(0, last - 65535), by: -1)
        where bytes.le(UInt32.self, at: offset) == 0x0605_4b50 {
            let commentLength = Int(bytes.le(UInt16.self, at: offset + 20)!)
            if offset + 22 + commentLength == bytes.count { return offset }
        }
        return nil
    }

    private static func readEntry(at position: inout Int, in bytes: UnsafeRawBufferPointer,
                                  file: MappedFile) throws -> Entry {
        let p = position
        guard bytes.le(UInt32.self, at: p) == 0x0201_4b50, p + 46 <= bytes.count else {
            throw file.error("corrupt zip archive (bad central directory entry at byte \(p))")
        }
        let flags = bytes.le(UInt16.self, at: p + 8)!
        let method = bytes.le(UInt16.self, at: p + 10)!
        var compressed = Int(bytes.le(UInt32.self, at: p + 20)!)
        var size = Int(bytes.le(UInt32.self, at: p + 24)!)
        let nameLength = Int(bytes.le(UInt16.self, at: p + 28)!)
        let extraLength = Int(bytes.le(UInt16.self, at: p + 30)!)
        let commentLength = Int(bytes.le(UInt16.self, at: p + 32)!)
        var localOffset = Int(bytes.le(UInt32.self, at: p + 42)!)
        let nameStart = p + 46
        guard nameStart + nameLength + extraLength + commentLength <= bytes.count else {
            throw file.error("corrupt zip archive (central directory entry runs past the end)")
        }
        let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[nameStart..<nameStart + nameLength]),
                          as: UTF8.self)
        // ZIP64 extra field: 64-bit values for whichever 32-bit fields are saturated, in this order.
        var extra = nameStart + nameLength
        let extraEnd = extra + extraLength
        while extra + 4 <= extraEnd {
            let id = bytes.le(UInt16.self, at: extra)!
            let length = Int(bytes.le(UInt16.self, at: extra + 2)!)
            if id == 0x0001 {
                var field = extra + 4
                func next() -> Int? {
                    defer { field += 8 }
                    return field + 8 <= extra + 4 + length ? bytes.le(UInt64.self, at: field).flatMap { Int(exactly: $0) } : nil
                }
                if size == 0xFFFF_FFFF, let v = next() { size = v }
                if compressed == 0xFFFF_FFFF, let v = next() { compressed = v }
                if localOffset == 0xFFFF_FFFF, let v = next() { localOffset = v }
            }
            extra += 4 + length
        }
        position = extraEnd + commentLength
        guard flags & 1 == 0 else { throw file.error("zip entry \(name) is encrypted") }
        guard let localNameLength = bytes.le(UInt16.self, at: localOffset + 26),
              let localExtraLength = bytes.le(UInt16.self, at: localOffset + 28),
              bytes.le(UInt32.self, at: localOffset) == 0x0403_4b50 else {
            throw file.error("corrupt zip archive (bad local header for \(name))")
        }
        let dataOffset = localOffset + 30 + Int(localNameLength) + Int(localExtraLength)
        guard compressed >= 0, size >= 0, compressed <= bytes.count - dataOffset else {
            throw file.error("zip entry \(name) runs past the end of the file (truncated?)")
        }
        return Entry(name: name, method: method, compressedSize: compressed, size: size, dataOffset: dataOffset)
    }
}
