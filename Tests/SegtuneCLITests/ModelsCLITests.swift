import Foundation
import Testing

private let checkpoint = SegtuneBinary.repositoryRoot.appendingPathComponent("models/lite_medsam.pth")
private let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint.path)

/// `segtune models`, and finding the model from outside the repository.
@Suite struct ModelsCLITests {
    /// From any folder, a binary built in a checkout finds the checkout's models/.
    @Test(.enabled(if: hasCheckpoint)) func modelsListsTheDefaultModelFromAnyFolder() throws {
        let folder = try SegtuneBinary.temporaryFolder("models-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try SegtuneBinary.run(["models", "--json"], in: folder)
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let models = object?["models"] as? [[String: Any]] ?? []
        let lite = try #require(models.first { $0["model"] as? String == "litemedsam" })
        #expect(lite["found_in"] as? String == "build repository")
        #expect((lite["path"] as? String).map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().path } == checkpoint.resolvingSymlinksInPath().path)
        #expect(lite["sha256"] as? String == "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76")
        #expect(lite["matches_published"] as? Bool == true)
        #expect(models.contains { $0["model"] as? String == "sam-vit-b" })
    }

    /// $SEGTUNE_MODELS comes before the checkout.
    @Test(.enabled(if: hasCheckpoint)) func environmentFolderWins() throws {
        let folder = try SegtuneBinary.temporaryFolder("models-env")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("lite_medsam.pth"), withDestinationURL: checkpoint)
        let run = try SegtuneBinary.run(["models", "--json", "--no-digest"], in: folder, environment: ["SEGTUNE_MODELS": folder.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"found_in\" : \"$SEGTUNE_MODELS\""))
    }

    /// A missing checkpoint is a runtime failure: one line, no usage block.
    @Test func aMissingCheckpointIsOneLineWithoutUsage() throws {
        let folder = try SegtuneBinary.temporaryFolder("models-missing")
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = SegtuneBinary.repositoryRoot.appendingPathComponent("fixtures/demo/white-matter/images")
        let first = try #require(try FileManager.default.contentsOfDirectory(atPath: image.path).sorted().first)
        let run = try SegtuneBinary.run(["predict", "--checkpoint", "/nonexistent/model.pth", "--box", "1,1,20,20",
                                         image.appendingPathComponent(first).path, "-o", folder.appendingPathComponent("out").path], in: folder)
        #expect(run.status == 1)
        #expect(run.stderr == "segtune: /nonexistent/model.pth: checkpoint not found\n")
        #expect(!run.stderr.contains("Usage"))
    }
}
