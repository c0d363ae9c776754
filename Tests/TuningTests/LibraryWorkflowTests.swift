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
        let cascade = try #require(tuner.chooseCascade([example]))
        #expect(cascade.tried.count == CascadeChoice.candidateMargins.count * 2)
        #expect(cascade.enabled == (cascade.cascadeDice > cascade.stage1Dice))

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
        let task = try TaskPredictor("ellipse", store: store, segmenter: segmenter, modelDigest: digest)
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
