import Foundation
import Imaging
import Models
import Tensors
import Testing
@testable import Tuning

private let checkpoint = repositoryRoot.appendingPathComponent("models/lite_medsam.pth")
private let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint.path)

/// What another Swift program does without the CLI: tune prompts, store the task, load
/// it, predict a volume with `Predictor`, and write the mask back on the input's grid.
@Suite(.enabled(if: hasCheckpoint)) struct LibraryWorkflowTests {
    @Test func tuneStorePredictAndWriteAVolume() throws {
        let segmenter = DecoderTuningTests.segmenter
        let example = DecoderTuningTests.example
        var settings = FitSettings()
        settings.seed = 5
        let tuner = PromptTuner(segmenter: segmenter, settings: settings)
        let first = tuner.step([example], rate: 1e-2).total
        for _ in 0..<5 { tuner.step([example], rate: 1e-2) }
        #expect(tuner.step([example], rate: 1e-2).total < first)
        // The cascade is chosen on validation data (here the example itself): every margin tried.
        let cascade = try #require(tuner.chooseCascade(CascadeValidation([example], segmenter: tuner.segmenter)))
        #expect(cascade.tried.count == CascadeChoice.candidateMargins.count * 2)
        #expect(cascade.enabled == CascadeChoice.isWorthUsing(cascade: cascade.cascadeDice, stage1: cascade.stage1Dice))

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-library-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = TaskStore(root: folder.appendingPathComponent("tasks"))
        let digest = try SHA256.hexDigest(ofFile: checkpoint)
        let manifest = TaskManifest(
            name: "ellipse", baseModel: .init(name: "litemedsam", sha256: digest),
            preprocessing: .init(window: "auto", labels: nil),
            prompts: .init(mode: .decoder, sparseTokens: settings.sparseTokens, dense: .none, vptTokens: nil, withBox: false),
            training: .init(epochs: 1, batchSize: 1, learningRate: 1e-2, warmupEpochs: 0, seed: 5, augment: false,
                            validationFraction: 0, patience: nil, trainingCases: ["ellipse"], validationCases: []))
        try store.save(manifest, prompts: TaskStore.namedPrompts(tuner.arena, values: tuner.arena.values))

        // A two-slice volume of the example's image, with a grid, predicted and written as NIfTI.
        let task = try TaskPredictor("ellipse", store: store, model: BaseModel(segmenter: segmenter, sha256: digest))
        // Loaded, the task holds the stored prompts and drew no random numbers to get them.
        #expect(task.tuner.arena.values.values == tuner.arena.values.values)
        var loadedGenerator = task.tuner.generator, fresh = SeededGenerator(seed: task.tuner.settings.seed)
        #expect((0..<4).map { _ in loadedGenerator.next() } == (0..<4).map { _ in fresh.next() })
        let (width, height) = (example.mask.width, example.mask.height)
        var image = Image(width: width, height: height, channels: 1,
                          pixels: (0..<(width * height)).map { Float(example.mask.voxels[$0]) * 150 + 40 })
        image.source = "memory"
        var volume = Volume(slices: [image, image], spacing: [1, 1, 2], source: "memory")
        volume.geometry = try VolumeGeometry(storedSize: [width, height, 2], affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 0]])
        let outputs = try Predictor(segmenter: segmenter, tasks: [task]).predict(volume)
        #expect(outputs.count == 1 && outputs[0].name == "ellipse")
        let mask = outputs[0].mask
        #expect(mask.width == width && mask.height == height && mask.depth == 2)
        #expect(mask.foregroundCount > 0)
        try writePredictedMask(mask, of: volume, name: "case", formats: [.nifti, .png], label: "ellipse", to: folder)
        let back = try readMask(at: folder.appendingPathComponent("case.nii.gz"))
        #expect(back.voxels == mask.voxels)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("case/0002.png").path))
    }
}

/// `FitSession` is `segtune fit` without the CLI: a tiny dataset of demo slices, one epoch.
@Suite(.enabled(if: hasCheckpoint)) struct FitSessionTests {
    final class Recorder: FitObserver {
        var events: [FitEvent] = [], failures: [InputError] = [], epochs: [TaskManifest.EpochRecord] = [], stage2Epochs: [TaskManifest.EpochRecord] = []
        func event(_ event: FitEvent) { events.append(event) }
        func failed(_ error: InputError) { failures.append(error) }
        func start(_ label: String, total: Int) {}
        func update(_ done: Int) {}
        func step(_ step: Int, of steps: Int) {}
        func epoch(_ record: TaskManifest.EpochRecord, of epochs: Int, isBest: Bool) { self.epochs.append(record) }
        func stage2Epoch(_ record: TaskManifest.EpochRecord, of epochs: Int, isBest: Bool) { stage2Epochs.append(record) }
    }

    @Test func fitAndPredictWithoutTheCLI() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-session-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let demo = repositoryRoot.appendingPathComponent("fixtures/demo/white-matter")
        let scans = folder.appendingPathComponent("scans")
        for sub in ["images", "masks"] {
            try FileManager.default.createDirectory(at: scans.appendingPathComponent(sub), withIntermediateDirectories: true)
            for z in [80, 90, 100, 110] {
                let name = String(format: "mni152-z%03d.png", z)
                try FileManager.default.copyItem(at: demo.appendingPathComponent("\(sub)/\(name)"), to: scans.appendingPathComponent("\(sub)/\(name)"))
            }
        }
        var settings = FitSettings()
        settings.epochs = 1
        settings.augment = false
        settings.validationFraction = 0.25
        let request = FitRequest(task: "wm", dataset: scans, settings: settings,
                                 tasksDirectory: folder.appendingPathComponent("tasks"), cacheDirectory: folder.appendingPathComponent("cache"))
        // The model as another program loads it: its digest is the checkpoint's.
        let model = BaseModel(segmenter: DecoderTuningTests.segmenter, sha256: try SHA256.hexDigest(ofFile: checkpoint))
        let recorder = Recorder()
        let result = try FitSession(model: model, request: request).run(observer: recorder)
        #expect(result.stop == .finished && result.failures.isEmpty)
        #expect(result.manifest.training.validationCases.count == 1 && result.manifest.training.trainingCases.count == 3)
        #expect(recorder.epochs.count == 1 && result.untuned != nil && result.manifest.cascade != nil)
        // Stage 2 trained (at least 2 epochs), judged by the cascade's Dice; validation chose
        // the frozen or the tuned box stage, and the tuned tokens are stored only if chosen.
        #expect(recorder.stage2Epochs.count == 2 && recorder.stage2Epochs.allSatisfy { $0.validationDice != nil })
        #expect(recorder.events.contains { if case .stage2(let errors, _, _) = $0 { errors.offsets.count == 3 } else { false } })
        let cascade = try #require(result.manifest.cascade)
        let tuned = try #require(cascade.tunedStage2 as Bool?)
        // Boxes from stage 1: 5 margins × 2 rounds × 2 box stages; from the atlas, judged
        // with the margin alone and as predict grows them: 3 × 2 × 2 each (Atlas.swift).
        #expect(cascade.tried.keys.contains("tuned stage 2, margin 0.10, 1 round") && cascade.tried.count == 20 + 2 * 12)
        #expect(cascade.tried.keys.contains("atlas, margin alone, margin 0.025, 2 rounds") && cascade.atlasDice != nil)
        // Whichever boxes it prefers, the cascade is used only where it beats stage 1 on validation.
        #expect(cascade.enabled == CascadeChoice.isWorthUsing(cascade: cascade.cascadeDice, stage1: cascade.stage1Dice))
        let stored = try TaskStore(root: request.tasksDirectory).loadPrompts("wm")
        #expect((stored[TaskPredictor.stage2TokensKey] != nil) == tuned)
        #expect(try SliceAtlas.stored(in: stored)?.thumbnails.count == 3)
        #expect(recorder.events.contains { if case .embedded(total: 4, encoded: 4) = $0 { true } else { false } })
        // Each step reported as data, in order: read, split, embedded, trained, chosen, stored.
        #expect(recorder.failures.isEmpty)
        #expect(recorder.events.compactMap { event -> String? in
            switch event {
            case .windows: "windows"
            case .embedded: "embedded"
            case .training(slices: 3, cases: 3, variants: 1, validationSlices: 1, validationCases: 1, slab: nil): "training"
            case .beforeTuning: "before"
            case .stage2: "stage 2"
            case .cascadeChosen(let chosen, slab: nil): chosen == cascade ? "cascade" : "another cascade"
            case .atlasKept(slices: 3, scansWithPositions: 0, includesSlab: false): "atlas"
            case .saved(task: "wm", _, stop: .finished, let phases): phases.map(\.name) == ["reading and embedding", "stage 1", "stage 2", "cascade choice"] ? "saved" : "phases?"
            default: nil
            }
        } == ["windows", "embedded", "training", "before", "stage 2", "cascade", "atlas", "saved"])

        // A second session over the same task refuses to overwrite it.
        #expect(throws: FitError.self) {
            try FitSession(model: model, request: request).run(observer: recorder)
        }
        let task = try TaskPredictor("wm", store: TaskStore(root: request.tasksDirectory), model: model)
        let volume = try readVolume(at: scans.appendingPathComponent("images/mni152-z100.png"))
        let outputs = try Predictor(segmenter: DecoderTuningTests.segmenter, tasks: [task]).predict(volume)
        #expect(outputs.first?.mask.width == volume.slices[0].width)
    }
}

/// `PredictSession` is `segtune predict` without the CLI: a batch over a folder, a file
/// that cannot be read among the cases, then a resumed run that finds everything done.
@Suite(.enabled(if: hasCheckpoint)) struct PredictSessionTests {
    final class Recorder: PredictObserver {
        var shards: [(Shard, [String], Int)] = [], skipped: [String] = [], done: [String] = [], failed: [String] = [], slices: [String] = []
        func sharding(_ shard: Shard, taking names: [String], of total: Int) { shards.append((shard, names, total)) }
        func caseSkipped(_ name: String, index: Int, of count: Int) { skipped.append(name) }
        func caseDone(_ name: String, slices: Int, seconds: Double, index: Int, of count: Int) { done.append(name) }
        func caseFailed(_ name: String, error: String) { failed.append(error) }
        func sliceDone(_ name: String, slice: Int, of count: Int) { slices.append("\(name) \(slice)/\(count)") }
    }

    @Test func batchWithABadFileThenResume() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-batch-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let scans = folder.appendingPathComponent("scans")
        try FileManager.default.createDirectory(at: scans, withIntermediateDirectories: true)
        let demo = repositoryRoot.appendingPathComponent("fixtures/demo/white-matter/images")
        for name in ["mni152-z030.png", "mni152-z032.png"] {
            try FileManager.default.copyItem(at: demo.appendingPathComponent(name), to: scans.appendingPathComponent(name))
        }
        try Data("not a PNG".utf8).write(to: scans.appendingPathComponent("broken.png"))
        let predictor = Predictor(segmenter: DecoderTuningTests.segmenter, tasks: [])
        // One case has its own box; the others take the common one.
        let prompts = BatchPrompts(box: BoxPrompt(x0: 20, y0: 20, x1: 150, y1: 180),
                                   boxTable: ["mni152-z032": BoxPrompt(x0: 40, y0: 40, x1: 120, y1: 160)])
        let out = folder.appendingPathComponent("out")
        let recorder = Recorder()
        let first = try PredictSession(predictor: predictor, prompts: prompts, output: BatchOutput(folder: out, formats: [.png]))
            .run([scans.path], observer: recorder)
        #expect(first.done == ["mni152-z030", "mni152-z032"] && first.skipped.isEmpty)
        #expect(first.failed.map(\.case) == ["broken"] && first.failed[0].error.hasPrefix(scans.appendingPathComponent("broken.png").path + ": "))
        #expect(recorder.failed == first.failed.map(\.error) && first.slicesEncoded == 2)
        #expect(recorder.slices == ["mni152-z030 1/1", "mni152-z032 1/1"])
        let masks = try ["mni152-z030", "mni152-z032"].map { try readMask(at: out.appendingPathComponent($0 + ".png")) }
        // The smaller box of z032 gives the smaller mask (the two slices are 2 mm apart).
        #expect(masks[1].foregroundCount > 0 && masks[1].foregroundCount < masks[0].foregroundCount)
        // Nothing half-written is left beside the masks.
        #expect(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted() == ["mni152-z030.png", "mni152-z032.png"])

        // Resumed as shard 1 of 1: the finished cases are skipped, nothing is encoded.
        let resumed = Recorder()
        let second = try PredictSession(predictor: Predictor(segmenter: DecoderTuningTests.segmenter, tasks: []), prompts: prompts,
                                        output: BatchOutput(folder: out, skipExisting: true, shard: Shard(index: 1, count: 1)))
            .run([scans.path], observer: resumed)
        #expect(second.skipped == ["mni152-z030", "mni152-z032"] && second.done.isEmpty && second.slicesEncoded == 0)
        #expect(second.shard == "1/1" && resumed.shards.first?.2 == 3)
    }

    @Test func promptsThatCannotApplyAreRefusedBeforeTheBatch() {
        let predictor = Predictor(segmenter: DecoderTuningTests.segmenter, tasks: [])
        let out = URL(fileURLWithPath: "/nonexistent")
        #expect(throws: InputError.self) { try PredictSession(predictor: predictor, output: BatchOutput(folder: out)) }
    }
}
