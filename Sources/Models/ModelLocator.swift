import Foundation

/// Where a model's checkpoint is looked for, in order, so that `segtune` finds its
/// model from any folder, installed or built in place:
/// 1. an explicit file (`--checkpoint`);
/// 2. `$SEGTUNE_MODELS/<file>` (a shared folder on a cluster, say);
/// 3. `./models/<file>`;
/// 4. `<prefix>/share/segtune/models/<file>`, where the binary is `<prefix>/bin/segtune`
///    (`make install`), and `/usr/local/share/segtune/models`;
/// 5. `<repository>/models/<file>` for a binary built inside a checkout (any `.build`
///    layout: the nearest folder above the binary that holds `Package.swift`).
public struct ModelLocator: Sendable {
    /// One place looked at, and why it is on the list.
    public struct Candidate: Sendable, Equatable {
        public var url: URL
        public var origin: String
    }

    public var environment: [String: String]
    public var workingDirectory: URL
    public var executable: URL

    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                executable: URL = Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])) {
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.executable = executable
    }

    /// The folders searched, in order (without duplicates).
    public var searchFolders: [Candidate] {
        var folders: [Candidate] = []
        if let dir = environment["SEGTUNE_MODELS"], !dir.isEmpty {
            folders.append(Candidate(url: URL(fileURLWithPath: dir, relativeTo: workingDirectory).standardizedFileURL, origin: "$SEGTUNE_MODELS"))
        }
        folders.append(Candidate(url: workingDirectory.appendingPathComponent("models").standardizedFileURL, origin: "./models"))
        let binary = resolvedExecutable
        let prefix = binary.deletingLastPathComponent().deletingLastPathComponent()
        folders.append(Candidate(url: prefix.appendingPathComponent("share/segtune/models").standardizedFileURL, origin: "install prefix"))
        folders.append(Candidate(url: URL(fileURLWithPath: "/usr/local/share/segtune/models"), origin: "install prefix"))
        if let repository = Self.repository(above: binary) {
            folders.append(Candidate(url: repository.appendingPathComponent("models"), origin: "build repository"))
        }
        var seen = Set<String>()
        return folders.filter { seen.insert($0.url.path).inserted }
    }

    /// The checkpoint for `file` (e.g. "lite_medsam.pth"): `explicit` if given (it must
    /// exist), else the first existing candidate. Throws naming every place looked at.
    public func locate(_ file: String, explicit: String? = nil) throws -> Candidate {
        if let explicit {
            let url = URL(fileURLWithPath: explicit, relativeTo: workingDirectory).standardizedFileURL
            guard FileManager.default.fileExists(atPath: url.path) else { throw ModelError("\(explicit): checkpoint not found") }
            return Candidate(url: url, origin: "--checkpoint")
        }
        let candidates = searchFolders.map { Candidate(url: $0.url.appendingPathComponent(file), origin: $0.origin) }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.url.path) }) { return found }
        let looked = candidates.map(\.url.path).joined(separator: ", ")
        throw ModelError("\(file): checkpoint not found (looked in \(looked)); run scripts/setup or `make install`, set SEGTUNE_MODELS, or pass --checkpoint")
    }

    private var resolvedExecutable: URL { executable.resolvingSymlinksInPath() }

    /// The nearest folder above `binary` holding Package.swift (a checkout it was built in).
    static func repository(above binary: URL) -> URL? {
        var dir = binary.deletingLastPathComponent()
        for _ in 0..<8 {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        return nil
    }
}

/// One known base model as `segtune models` lists it: where its checkpoint was found and
/// whether that file's SHA-256 matches the published one.
public struct ModelStatus: Sendable {
    public var preset: ModelPreset
    /// nil: not found in any of the locator's places.
    public var found: ModelLocator.Candidate?
    /// nil when not found or not hashed.
    public var sha256: String?
    /// nil when not hashed or no digest is published.
    public var matchesPublished: Bool? { sha256.flatMap { digest in preset.sha256.map { $0 == digest } } }
}

extension ModelLocator {
    /// Every known model's checkpoint, hashed unless `hashing` is false (a 2.5 GB ViT-H file takes seconds).
    public func survey(hashing: Bool = true) throws -> [ModelStatus] {
        try ModelPreset.available.map { preset in
            let found = try? locate(preset.checkpointFile)
            return ModelStatus(preset: preset, found: found, sha256: try found.flatMap { hashing ? try SHA256.hexDigest(ofFile: $0.url) : nil })
        }
    }
}

extension BaseModel {
    /// The model `name` (a `ModelPreset`) from `checkpoint`, else from the first of the
    /// locator's places that holds its file; an error names the file and why.
    public convenience init(named name: String, checkpoint: String? = nil, locator: ModelLocator = ModelLocator()) throws {
        let preset = try ModelPreset.named(name)
        let url = try locator.locate(preset.checkpointFile, explicit: checkpoint).url
        do { try self.init(preset: preset, checkpoint: url) } catch { throw ModelError("\(url.path): \(error)") }
    }
}
