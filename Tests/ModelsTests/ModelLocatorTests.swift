import Foundation
import Testing
@testable import Models

/// The lookup order of ModelLocator, on folders laid out as an install and a checkout would be.
@Suite struct ModelLocatorTests {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("locator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    func touch(_ relative: String) throws -> URL {
        let url = root.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("x".utf8).write(to: url)
        return url
    }

    func locator(env: [String: String] = [:], cwd: String = "work", exe: String) throws -> ModelLocator {
        let cwdURL = root.appendingPathComponent(cwd)
        try FileManager.default.createDirectory(at: cwdURL, withIntermediateDirectories: true)
        return ModelLocator(environment: env, workingDirectory: cwdURL, executable: root.appendingPathComponent(exe))
    }

    @Test func installPrefixIsFoundFromTheBinary() throws {
        _ = try touch("prefix/bin/segtune")
        let model = try touch("prefix/share/segtune/models/lite_medsam.pth")
        let found = try locator(exe: "prefix/bin/segtune").locate("lite_medsam.pth")
        #expect(found.url.path == model.standardizedFileURL.path)
        #expect(found.origin == "install prefix")
    }

    @Test func aCheckoutIsFoundFromAnyBuildLayout() throws {
        _ = try touch("repo/Package.swift")
        let model = try touch("repo/models/lite_medsam.pth")
        _ = try touch("repo/.build/x86_64-unknown-linux-gnu/release/segtune")
        let found = try locator(exe: "repo/.build/x86_64-unknown-linux-gnu/release/segtune").locate("lite_medsam.pth")
        #expect(found.url.standardizedFileURL.path == model.standardizedFileURL.path)
        #expect(found.origin == "build repository")
    }

    @Test func environmentAndWorkingFolderComeFirst() throws {
        _ = try touch("repo/Package.swift")
        _ = try touch("repo/models/m.pth")
        _ = try touch("repo/.build/debug/segtune")
        let local = try touch("work/models/m.pth")
        let shared = try touch("shared/m.pth")
        let plain = try locator(exe: "repo/.build/debug/segtune")
        #expect(try plain.locate("m.pth").url.path == local.standardizedFileURL.path)
        let withEnv = try locator(env: ["SEGTUNE_MODELS": root.appendingPathComponent("shared").path], exe: "repo/.build/debug/segtune")
        #expect(try withEnv.locate("m.pth").url.path == shared.standardizedFileURL.path)
        let explicit = try withEnv.locate("m.pth", explicit: local.path)
        #expect(explicit.origin == "--checkpoint" && explicit.url.path == local.standardizedFileURL.path)
    }

    @Test func aMissingModelNamesEveryPlaceLookedAt() throws {
        _ = try touch("prefix/bin/segtune")
        let l = try locator(env: ["SEGTUNE_MODELS": "/nonexistent/models"], exe: "prefix/bin/segtune")
        let error = #expect(throws: ModelError.self) { try l.locate("absent.pth") }
        let text = error?.description ?? ""
        #expect(text.hasPrefix("absent.pth: checkpoint not found"))
        #expect(text.contains("/nonexistent/models/absent.pth") && text.contains("share/segtune/models/absent.pth"))
        #expect(throws: ModelError.self) { try l.locate("absent.pth", explicit: "/nonexistent/x.pth") }
    }
}
