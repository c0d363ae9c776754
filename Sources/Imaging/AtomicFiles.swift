import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Outputs appear whole or not at all, also when several processes on several hosts
/// write into one shared folder (NFS: rename is atomic, locks may not be). Everything is
/// written under a hidden temporary name beside its target that no other process can
/// pick (host, process id, random), then renamed into place. A process killed midway
/// leaves only hidden temporaries, which every reader skips and `removeStaleTemporaries`
/// clears once their writer is gone.
public enum AtomicFiles {
    /// The marker in every temporary name: `.segtune-<host>-<pid>-`.
    static let marker = ".segtune-"

    /// This host's name, reduced to letters, digits and '-' (it goes into file names).
    static let host: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "host" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let kept = name.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? Character($0) : "-" }
        return kept.isEmpty ? "host" : String(kept.prefix(64))
    }()

    /// A fresh temporary name beside `url`: `.<name>.segtune-<host>-<pid>-<random>.tmp`.
    public static func temporary(beside url: URL) -> URL {
        let token = "\(marker)\(host)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        return url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent)\(token).tmp")
    }

    /// Moves the finished `temporary` to `url` (a file or a folder), replacing what is there.
    /// A folder cannot be renamed over a non-empty one, so the old one is first renamed
    /// aside (readers see the old or the new whole, or for a moment neither), then removed.
    public static func moveIntoPlace(_ temporary: URL, at url: URL) throws {
        if rename(temporary.path, url.path) == 0 { return }
        let firstError = errno
        guard (firstError == ENOTEMPTY || firstError == EEXIST), isFolder(url) else {
            try? FileManager.default.removeItem(at: temporary)
            throw InputError(file: url.path, reason: "cannot move the written output into place (\(String(cString: strerror(firstError))))")
        }
        let old = Self.temporary(beside: url)
        guard rename(url.path, old.path) == 0, rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw InputError(file: url.path, reason: "cannot replace the folder (\(reason))")
        }
        try? FileManager.default.removeItem(at: old)
    }

    /// Removes the temporaries in `folder` (not below it) left by writers on this host that
    /// are no longer running, e.g. a shard killed by the scheduler. Another host's are left:
    /// from here there is no telling whether their writer still runs.
    public static func removeStaleTemporaries(in folder: URL) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        let ours = "\(marker)\(host)-"
        for name in names where name.hasPrefix(".") {
            guard let range = name.range(of: ours) else { continue }
            let digits = name[range.upperBound...].prefix { $0.isNumber }
            guard let pid = Int32(digits), pid != getpid(), !isRunning(pid) else { continue }
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    /// Creates `folder`; a failure is one line naming it with the system's reason (a
    /// read-only or full file system), not Foundation's error dump.
    public static func createFolder(_ folder: URL, intermediates: Bool = true) throws {
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: intermediates) } catch {
            throw InputError(file: folder.path, reason: "cannot create the folder (\(systemReason(error)))")
        }
    }

    static func isRunning(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}

/// What a failed file operation says, as the system says it ("No space left on device",
/// "File too large"), rather than Foundation's wrapper around it.
public func systemReason(_ error: Error) -> String {
    var error = error as NSError
    // The underlying error is stored as a Swift `Error` on Linux: `as? NSError` misses it.
    while let underlying = error.userInfo[NSUnderlyingErrorKey] as? Error { error = underlying as NSError }
    return error.domain == NSPOSIXErrorDomain ? String(cString: strerror(Int32(error.code))) : error.localizedDescription
}
