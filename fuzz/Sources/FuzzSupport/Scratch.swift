import Foundation

/// The readers take paths, as the CLI gives them: each input is written to a file in one
/// scratch folder per process (libFuzzer runs inputs one after another in one process)
/// and the reader is called on that path. Errors are the expected outcome of most inputs;
/// only a crash, a sanitizer report, a hang or a runaway allocation is a finding.
public let scratch: URL = {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("segtune-fuzz-\(getpid())", isDirectory: true)
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(at: scratch) }
    return url
}()

public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Data {
    guard let data, size > 0 else { return Data() }
    return Data(bytes: data, count: size)
}

/// Writes `contents` to `name` in a fresh folder of the scratch area, calls `body` with
/// its URL and removes the folder again; a thrown error is swallowed (a clean refusal).
public func withFiles(_ contents: [String: Data], _ body: (URL) throws -> Void) {
    let folder = scratch.appendingPathComponent("case", isDirectory: true)
    try? FileManager.default.removeItem(at: folder)
    defer { try? FileManager.default.removeItem(at: folder) }
    do {
        for (name, data) in contents {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        try body(folder)
    } catch {}
}

/// One file named `name`: the reader gets its path.
public func withFile(named name: String, _ data: Data, _ body: (URL) throws -> Void) {
    withFiles([name: data]) { folder in try body(folder.appendingPathComponent(name)) }
}

/// Inputs that carry several files (a DICOM series, a task folder) separate them with this
/// line; it is in the dictionaries so that mutations add and drop files.
public let fileSeparator = Data("\n--segtune-fuzz-file--\n".utf8)

public func split(_ data: Data, limit: Int) -> [Data] {
    var parts: [Data] = []
    var rest = data[...]
    while parts.count < limit - 1, let range = rest.range(of: fileSeparator) {
        parts.append(Data(rest[..<range.lowerBound]))
        rest = rest[range.upperBound...]
    }
    parts.append(Data(rest))
    return parts
}
