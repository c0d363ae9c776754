import Foundation
import Imaging
import Metrics
import Models
import Testing
import Tuning

private let liteMedSAM = SegtuneBinary.repositoryRoot.appendingPathComponent("models/lite_medsam.pth")

/// fit → predict → score through the library's public API alone (this target imports it
/// without @testable), each result compared byte for byte with what the CLI writes for
/// the same request: what another Swift program gets is what `segtune` gets.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: liteMedSAM.path)))
struct PublicAPIWorkflowTests {

    /// Records what a batch reports.
    final class Cases: PredictObserver {
        var done: [String] = [], skipped: [String] = []
        func sharding(_ shard: Shard, taking names: [String], of total: Int) {}
        func caseSkipped(_ name: String, index: Int, of count: Int) { skipped.append(name) }
        func caseDone(_ name: String, slices: Int, seconds: Double, index: Int, of count: Int) { done.append(name) }
        func caseFailed(_ name: String, error: String) { Issue.record("\(name): \(error)") }
    }

    final class Quiet: FitObserver {
        func event(_ event: FitEvent) {}
        func failed(_ error: InputError) { Issue.record("\(error)") }
        func start(_ label: String, total: Int) {}
        func update(_ done: Int) {}
        func step(_ step: Int, of steps: Int) {}
        func epoch(_ record: TaskManifest.EpochRecord, of epochs: Int, isBest: Bool) {}
    }

    @Test func fitPredictAndScoreAsTheCLIDoes() throws {
        let folder = try SegtuneBinary.temporaryFolder("segtune-public-api")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Three cases of a real 24×20×6 CT crop and its label map: two train, one validates.
        let scans = try SegtuneBinary.threeCTCrops(in: folder)
        let environment = ["SEGTUNE_MODELS": liteMedSAM.deletingLastPathComponent().path]
        func cli(_ arguments: [String]) throws -> SegtuneBinary.Run {
            let run = try SegtuneBinary.run(arguments, in: folder, environment: environment)
            #expect(run.status == 0, "segtune \(arguments.joined(separator: " ")): \(run.stderr)")
            return run
        }
        let model = try BaseModel(named: "litemedsam", checkpoint: liteMedSAM.path)

        // fit: `--label 2 --epochs 1 --no-stage2 --no-augment`, defaults otherwise.
        var settings = FitSettings()
        (settings.epochs, settings.stage2, settings.augmentations) = (1, false, [])
        let request = FitRequest(task: "kidney", dataset: scans, window: .auto, windowName: "auto", labels: LabelSelection(parsing: "2"),
                                 settings: settings, tasksDirectory: folder.appendingPathComponent("tasks"),
                                 cacheDirectory: folder.appendingPathComponent("cache"))
        let fitted = try FitSession(model: model, request: request).run(observer: Quiet())
        #expect(fitted.stop == .finished && fitted.failures.isEmpty && fitted.manifest.cascade != nil)
        _ = try cli(["fit", "--task", "kidney", "--label", "2", "--epochs", "1", "--no-stage2", "--no-augment",
                     "--tasks-dir", "cli-tasks", "--cache-dir", "cache", scans.path])
        let prompts = { (tasks: String) in try Data(contentsOf: folder.appendingPathComponent("\(tasks)/kidney/prompts.safetensors")) }
        #expect(try prompts("tasks") == prompts("cli-tasks"))
        let cliManifest = try TaskStore(root: folder.appendingPathComponent("cli-tasks")).loadManifest("kidney")
        #expect(cliManifest.cascade == fitted.manifest.cascade && cliManifest.training.trainingCases == fitted.manifest.training.trainingCases)

        // predict: the library as two shards into one folder, NIfTI + PNG; the CLI unsharded.
        let task = try TaskPredictor("kidney", store: TaskStore(root: request.tasksDirectory), model: model)
        let out = folder.appendingPathComponent("out")
        func batch(_ shard: Shard?, skipExisting: Bool = false) throws -> (PredictionSummary, Cases) {
            let cases = Cases()
            let session = try PredictSession(predictor: Predictor(segmenter: model.segmenter, tasks: [task]),
                                             output: BatchOutput(folder: out, formats: [.nifti, .png], skipExisting: skipExisting, shard: shard))
            return (session.run([scans.appendingPathComponent("images").path], observer: cases), cases)
        }
        let shards = try [1, 2].map { try batch(Shard(index: $0, count: 2)) }
        #expect(shards.flatMap(\.0.done).sorted() == ["a", "b", "c"] && shards.allSatisfy { $0.0.failed.isEmpty })
        _ = try cli(["predict", "--task", "kidney", "--tasks-dir", "tasks", "--format", "nifti,png", "scans/images", "-o", "cli-out"])
        let written = SegtuneBinary.files(in: out)
        #expect(written.count == 3 * (1 + 6) && written == SegtuneBinary.files(in: folder.appendingPathComponent("cli-out")))
        for name in written {
            let (ours, theirs) = try (Data(contentsOf: out.appendingPathComponent(name)), Data(contentsOf: folder.appendingPathComponent("cli-out/\(name)")))
            #expect(ours == theirs, "\(name) differs from the CLI's")
        }
        // Resumed: every case is there, nothing is encoded.
        let (resumed, observed) = try batch(nil, skipExisting: true)
        #expect(resumed.skipped == ["a", "b", "c"] && observed.skipped == resumed.skipped && resumed.slicesEncoded == 0)

        // score: the same JSON as `segtune score --json`.
        let scored = try ScoreSession(ScoreRequest(prediction: out, reference: scans.appendingPathComponent("masks"),
                                                   referenceLabels: LabelSelection(parsing: "2"))).run()
        #expect(scored.report.cases.count == 3 && scored.report.summary.dice.mean > 0.5)
        let cliScore = try SegtuneBinary.run(["score", "--json", "--ref-label", "2", out.path, scans.appendingPathComponent("masks").path],
                                             in: folder, environment: environment)
        #expect(cliScore.stdout == scored.report.json())
    }
}
