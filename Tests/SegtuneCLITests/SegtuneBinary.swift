import Foundation
import Testing

/// The built `segtune` binary, run as a user runs it.
enum SegtuneBinary {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Beside the test bundle in the build products folder (SwiftPM builds it for the tests).
    static let url: URL = {
        let products = Bundle.main.bundleURL
        let candidates = [products.appendingPathComponent("segtune"),
                          products.deletingLastPathComponent().appendingPathComponent("segtune"),
                          repositoryRoot.appendingPathComponent(".build/debug/segtune")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[2]
    }()

    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs segtune with `arguments` in `folder` (default: the repository root), with
    /// `environment` added to this process's.
    static func run(_ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:]) throws -> Run {
        #expect(FileManager.default.isExecutableFile(atPath: url.path), "build segtune first: \(url.path)")
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = folder ?? repositoryRoot
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        // Files, not pipes: a full pipe would block the child before we read it.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("stdout"), err = scratch.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return Run(status: process.terminationStatus,
                   stdout: try String(contentsOf: out, encoding: .utf8), stderr: try String(contentsOf: err, encoding: .utf8))
    }

    /// A dataset folder in `folder`: three cases (a, b, c) of a real 24×20×6 CT crop and
    /// its label map (fixtures/nrrd).
    static func threeCTCrops(in folder: URL) throws -> URL {
        let scans = folder.appendingPathComponent("scans"), fixtures = repositoryRoot.appendingPathComponent("fixtures/nrrd")
        for sub in ["images", "masks"] { try FileManager.default.createDirectory(at: scans.appendingPathComponent(sub), withIntermediateDirectories: true) }
        for name in ["a", "b", "c"] {
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("ct.nii.gz"), to: scans.appendingPathComponent("images/\(name).nii.gz"))
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent("labels.nii.gz"), to: scans.appendingPathComponent("masks/\(name).nii.gz"))
        }
        return scans
    }

    /// Every regular file under `folder`, hidden ones (temporaries) included, as paths
    /// relative to it, sorted.
    static func files(in folder: URL) -> [String] {
        var isDirectory: ObjCBool = false
        return (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String] ?? []).filter {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path, isDirectory: &isDirectory) && !isDirectory.boolValue
        }.sorted()
    }

    /// A new empty folder under the temporary directory.
    static func temporaryFolder(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
