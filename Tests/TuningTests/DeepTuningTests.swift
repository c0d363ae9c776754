import Foundation
import Imaging
import Models
import Tensors
import Testing
@testable import Tuning

private let checkpoint = repositoryRoot.appendingPathComponent("models/lite_medsam.pth")
private let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint.path)
private let segmenter: Segmenter? = hasCheckpoint ? try? Segmenter(weights: loadCheckpoint(at: checkpoint)) : nil

/// Deep mode (PromptTuner+Deep.swift) on the real LiteMedSAM weights.
@Suite(.enabled(if: hasCheckpoint)) struct DeepTuningTests {
    /// A 160×128 scan-like image (not square, so a quarter turn changes the padded region):
    /// a bright ellipse, the reference mask, on a textured background.
    static func example(_ segmenter: Segmenter) -> TuningExample {
        let (width, height) = (160, 128)
        var pixels = [Float](repeating: 0, count: width * height), voxels = [UInt8](repeating: 0, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let dx = Float(x - 90) / 40, dy = Float(y - 60) / 28
                let inside = dx * dx + dy * dy < 1
                pixels[y * width + x] = 40 + 20 * sin(Float(x) / 13) + (inside ? 150 : 0)
                voxels[y * width + x] = inside ? 1 : 0
            }
        }
        let geometry = segmenter.prepare(pixels: pixels, width: width, height: height, channels: 1)
        let mask = Mask(width: width, height: height, voxels: voxels)
        return TuningExample(name: "ellipse", caseName: "ellipse", embedding: nil, geometry: geometry,
                             target: paddedTarget(mask, geometry: geometry, size: lowResolutionSize(segmenter)),
                             mask: mask, box: boundingBox(of: mask))
    }

    static func deepSettings() -> FitSettings {
        var s = FitSettings()
        s.mode = .deep
        s.augment = false
        return s
    }

    /// Every attention block gets its prompts, initialised inside VPT's bound.
    @Test func arenaHoldsVisualPromptsPerBlock() throws {
        let tuner = PromptTuner(segmenter: try #require(segmenter), settings: Self.deepSettings())
        let vpt = tuner.arena.entries.filter { $0.name.hasPrefix("vpt.") }
        #expect(vpt.map(\.name) == (0..<10).map { "vpt.\($0)" })
        #expect(vpt.map(\.shape) == [[8, 128], [8, 128]] + Array(repeating: [8, 160], count: 6) + [[8, 320], [8, 320]])
        let bound = Float((6.0 / (3 * 4 * 4 + 128.0)).squareRoot())   // p = 4, d = 128
        let first = tuner.arena.value("vpt.0")
        #expect(first.data.allSatisfy { abs($0) <= bound } && first.data.contains { abs($0) > bound / 2 })
    }

    /// A few steps through the encoder lower the loss on the example, and every block's
    /// prompts receive a gradient (the encoder's backward reaches them all).
    @Test func deepStepsLowerTheLoss() throws {
        let segmenter = try #require(segmenter)
        let tuner = PromptTuner(segmenter: segmenter, settings: Self.deepSettings())
        let example = Self.example(segmenter)
        let start = tuner.step([example], rate: 1e-2).total
        for entry in tuner.arena.entries where entry.name.hasPrefix("vpt.") {
            let g = tuner.arena.gradient(entry.name)
            let largest = g.data.reduce(0) { max($0, abs($1)) }
            #expect(largest > 0 && largest.isFinite, "\(entry.name): gradient \(largest)")
        }
        for _ in 0..<2 { tuner.step([example], rate: 1e-2) }
        let end = tuner.step([example], rate: 0).total
        #expect(end < 0.5 * start, "loss \(start) → \(end)")   // measured 1.73 → 0.28
    }

    /// A deep task saved and loaded back predicts what its tuner predicts: the predictor
    /// restores the mode and token count and runs the encoder with the task's prompts,
    /// not the shared plain embedding it is handed.
    @Test func savedDeepTaskPredictsWithItsPrompts() throws {
        let segmenter = try #require(segmenter)
        var settings = Self.deepSettings()
        settings.vptTokens = 3
        settings.seed = 5
        let tuner = PromptTuner(segmenter: segmenter, settings: settings)
        let example = Self.example(segmenter)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-deep-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = TaskStore(root: folder)
        let manifest = TaskManifest(
            name: "ellipse", baseModel: .init(name: "litemedsam", sha256: "ab"), preprocessing: .init(window: "auto", labels: nil),
            prompts: .init(mode: .deep, sparseTokens: settings.sparseTokens, dense: .none, vptTokens: 3, withBox: false),
            training: .init(epochs: 1, batchSize: 1, learningRate: 3e-3, warmupEpochs: 0, seed: 5, augment: false,
                            validationFraction: 0, patience: nil, trainingCases: ["ellipse"], validationCases: []))
        try store.save(manifest, prompts: TaskStore.namedPrompts(tuner.arena, values: tuner.arena.values))
        let predictor = try TaskPredictor("ellipse", store: store, model: BaseModel(segmenter: segmenter, sha256: "ab"))
        #expect(!predictor.usesSharedEmbedding)
        let unrelated = Tensor(zeros: [64, 64, 256])
        let predicted = predictor.mask(embedding: unrelated, geometry: example.geometry)
        #expect(predicted == tuner.predictedMask(for: example))
        let plain = PromptTuner(segmenter: segmenter, settings: FitSettings())
        plain.restore(values: Tensor(shape: [plain.arena.count], values: Array(tuner.arena.value("tokens").data)))
        let withoutVisualPrompts = plain.mask(fromLowResolution: plain.logits(embedding: segmenter.imageEmbedding(example.geometry),
                                                                               geometry: example.geometry, box: nil),
                                              geometry: example.geometry)
        #expect(predicted != withoutVisualPrompts)
    }

    /// A drawn variant turns the image and its target together and keeps intensities near [0, 1].
    @Test func augmentationMovesImageAndTargetTogether() throws {
        let segmenter = try #require(segmenter)
        var settings = Self.deepSettings()
        settings.augment = true
        let tuner = PromptTuner(segmenter: segmenter, settings: settings)
        let example = Self.example(segmenter)
        let side = example.geometry.input.shape[1]
        var turned = 0
        for _ in 0..<16 {
            let v = tuner.augmented(example)
            let g = v.geometry
            if g.resizedWidth != example.geometry.resizedWidth { turned += 1 }
            #expect(Set([g.resizedWidth, g.resizedHeight]) == Set([example.geometry.resizedWidth, example.geometry.resizedHeight]))
            var mismatches = 0, foreground = 0
            for y in 0..<side {
                for x in 0..<side {
                    let bright = g.input.data[(y * side + x) * 3] > 0.5
                    let labelled = v.target.data[y * side + x] == 1
                    if labelled { foreground += 1 }
                    if bright != labelled { mismatches += 1 }
                    if x >= g.resizedWidth || y >= g.resizedHeight { #expect(g.input.data[(y * side + x) * 3] == 0) }
                }
            }
            #expect(foreground > 1000 && mismatches < foreground / 50, "\(mismatches) of \(foreground)")
        }
        #expect(turned > 0)
    }
}
