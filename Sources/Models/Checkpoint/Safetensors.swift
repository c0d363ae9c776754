import Foundation
import Tensors

// The safetensors format (huggingface/safetensors, README "Format"): an 8-byte
// little-endian header length N, N bytes of JSON
// `{"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`
// (offsets relative to the byte after the header), then the raw little-endian data.

/// Reads a safetensors file, memory-mapped; F32 tensors are borrowed from the map,
/// F16/BF16/F64 and integer tensors are converted to Float32.
public func readSafetensors(at url: URL) throws -> [String: Tensor] {
    try Safetensors.read(try MappedFile(url: url))
}

/// The `__metadata__` strings of a safetensors file (empty when it has none).
public func readSafetensorsMetadata(at url: URL) throws -> [String: String] {
    let file = try MappedFile(url: url)
    let header = try Safetensors.header(file)
    return (header["__metadata__"] as? [String: String]) ?? [:]
}

/// Writes `tensors` as Float32 safetensors: keys sorted, header padded with
/// spaces to a multiple of 8 bytes. The file appears whole or not at all
/// (written to a temporary name in the same folder, then renamed).
public func writeSafetensors(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
    let names = tensors.keys.sorted()
    var header = "{"
    var fields: [String] = []
    if !metadata.isEmpty {
        let entries = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
        fields.append("\"__metadata__\":{" + entries.joined(separator: ",") + "}")
    }
    var offset = 0
    for name in names {
        let tensor = tensors[name]!
        let end = offset + tensor.count * 4
        let shape = tensor.shape.map(String.init).joined(separator: ",")
        fields.append("\(jsonString(name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
        offset = end
    }
    header += fields.joined(separator: ",") + "}"
    var headerBytes = Array(header.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

    let temporary = url.deletingLastPathComponent()
        .appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt64.random(in: 0...UInt64.max)).tmp")
    let fail = { (reason: String) in CheckpointError(file: url.path, reason: reason) }
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
        // open(2)'s reason (a read-only or full file system), named by the file the user asked for.
        throw fail("cannot write (\(String(cString: strerror(errno))))")
    }
    do {
        let handle = try FileHandle(forWritingTo: temporary)
        defer { try? handle.close() }
        var length = UInt64(headerBytes.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8))
        try handle.write(contentsOf: Data(headerBytes))
        for name in names {
            let data = tensors[name]!.data
            guard data.count > 0 else { continue }
            // Float32 in memory is little-endian on every platform Swift runs on here.
            try handle.write(contentsOf: Data(bytesNoCopy: data.baseAddress!, count: data.count * 4, deallocator: .none))
        }
        try handle.synchronize()
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        // The system's words ("No space left on device"), not Foundation's wrapper around them.
        // On Linux the underlying error is stored as a Swift `Error`: `as? NSError` misses it.
        var cause = error as NSError
        while let underlying = cause.userInfo[NSUnderlyingErrorKey] as? Error { cause = underlying as NSError }
        throw fail("cannot write (\(cause.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32(cause.code))) : cause.localizedDescription))")
    }
    guard rename(temporary.path, url.path) == 0 else {
        let reason = String(cString: strerror(errno))
        try? FileManager.default.removeItem(at: temporary)
        throw fail("cannot rename the temporary file into place (\(reason))")
    }
}

enum Safetensors {
    /// A plausible safetensors start: a header length that fits, then `{`.
    static func looksLikeSafetensors(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let n = bytes.le(UInt64.self, at: 0), n >= 2, n <= UInt64(bytes.count - 8) else { return false }
        return bytes[8] == UInt8(ascii: "{")
    }

    static func header(_ file: MappedFile) throws -> [String: Any] {
        let bytes = file.bytes
        guard let n = bytes.le(UInt64.self, at: 0), let length = Int(exactly: n), length <= bytes.count - 8 else {
            throw file.error("safetensors header length runs past the end of the file (truncated?)")
        }
        let json = Data(UnsafeRawBufferPointer(rebasing: bytes[8..<8 + length]))
        guard let header = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] else {
            throw file.error("safetensors header is not a JSON object")
        }
        return header
    }

    static func read(_ file: MappedFile) throws -> [String: Tensor] {
        let header = try header(file)
        let dataStart = 8 + Int(file.bytes.le(UInt64.self, at: 0)!)
        let dataLength = file.bytes.count - dataStart
        var result: [String: Tensor] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offsets.count == 2, shape.count == (info["shape"] as? [Any])?.count else {
                throw file.error("safetensors entry \(name) lacks dtype, shape or data_offsets")
            }
            guard let type = storedType(dtype) else {
                throw file.error("safetensors entry \(name) has unsupported dtype \(dtype)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw file.error("safetensors entry \(name) has a negative dimension") }
            guard let count = checkedElementCount(shape) else {
                throw file.error("safetensors entry \(name) of shape \(shape) has more than 2^31 elements")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, end >= begin, end <= dataLength else {
                throw file.error("safetensors entry \(name) lies outside the file (data_offsets [\(begin), \(end)]; truncated?)")
            }
            guard end - begin == count * type.byteSize else {
                throw file.error("safetensors entry \(name): \(end - begin) bytes for shape \(shape) of \(dtype)")
            }
            let strides = rowMajorStrides(shape)
            result[name] = makeTensor(base: file.bytes.baseAddress! + dataStart + begin, type: type, bigEndian: false,
                                      shape: shape, strides: strides, offset: 0, owner: file)
        }
        return result
    }

    private static func storedType(_ dtype: String) -> StoredType? {
        switch dtype {
        case "F32": .float32
        case "F16": .float16
        case "BF16": .bfloat16
        case "F64": .float64
        case "I64": .int64
        case "I32": .int32
        case "I16": .int16
        case "I8": .int8
        case "U8": .uint8
        case "BOOL": .bool
        default: nil
        }
    }
}

func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
    return strides
}

/// A JSON string literal (quotes, backslashes and control characters escaped).
func jsonString(_ s: String) -> String {
    // JSONEncoder escapes exactly what JSON requires; slashes stay readable.
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    return String(decoding: (try? encoder.encode(s)) ?? Data("\"\"".utf8), as: UTF8.self)
}
