import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped into memory, private and copy-on-write.
///
/// Tensors borrow their weights straight from the mapping (no copy, pages load
/// on first touch). The mapping is writable-private so that a kernel writing
/// into a borrowed tensor changes only this process's copy, never the file.
final class MappedFile: @unchecked Sendable {
    let path: String
    let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    init(url: URL) throws {
        path = url.path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw CheckpointError(file: path, reason: "cannot open (\(String(cString: strerror(errno))))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError(file: path, reason: "cannot stat (\(String(cString: strerror(errno))))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(file: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else { throw CheckpointError(file: path, reason: "empty file") }
        let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw CheckpointError(file: path, reason: "cannot memory-map (\(String(cString: strerror(errno))))")
        }
        base = mapped
        bytes = UnsafeRawBufferPointer(start: mapped, count: size)
    }

    deinit {
        if let base { munmap(base, bytes.count) }
    }

    func error(_ reason: String) -> CheckpointError { CheckpointError(file: path, reason: reason) }
}

/// Bounds-checked little-endian reads from a byte range.
extension UnsafeRawBufferPointer {
    func le<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T? {
        // Subtracting, so that an offset near Int.max from a damaged header cannot overflow.
        guard offset >= 0, offset <= count - MemoryLayout<T>.size else { return nil }
        return T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
