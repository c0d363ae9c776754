import Foundation
import Imaging
@testable import Models
import Tensors
import Testing
@testable import Tuning

private let checkpoint = repositoryRoot.appendingPathComponent("models/lite_medsam.pth")
private let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint.path)

/// Deep mode through SAM's ViT (ImageEncoderViT+Taped.swift): a small ViT with random weights
/// (256 input, patch 4, so its embedding is the decoder's 64 × 64 × 256; a windowed and a global
/// block) and LiteMedSAM's prompt encoder and decoder, which have SAM's shapes.
@Suite(.enabled(if: hasCheckpoint)) struct DeepViTTuningTests {
    static let config = ViTConfig(imageSize: 256, patchSize: 4, embedDim: 32, depth: 2, numHeads: 2,
                                  mlpRatio: 2, outChans: 256, windowSize: 8, globalAttnIndexes: [1])

    static func segmenter() throws -> Segmenter {
        var weights = try loadCheckpoint(at: checkpoint).filter { $0.key.hasPrefix("prompt_encoder.") || $0.key.hasPrefix("mask_decoder.") }
        for (key, value) in ImageEncoderViT.randomWeights(config, seed: 3) { weights["image_encoder." + key] = value }
        let preset = ModelPreset(name: "vit-small-random", checkpointFile: "", sha256: nil, inputSize: 256,
                                 encoder: .vit(config), normalization: .pixelMeanStd)
        return try Segmenter(preset: preset, weights: weights)
    }

    /// Every block gets (tokens, embedDim) prompts inside VPT's bound for the ViT's patch size;
    /// a few steps through the encoder lower the loss and reach every block's prompts.
    @Test func deepStepsThroughViTLowerTheLoss() throws {
        let segmenter = try Self.segmenter()
        let tuner = PromptTuner(segmenter: segmenter, settings: DeepTuningTests.deepSettings())
        let vpt = tuner.arena.entries.filter { $0.name.hasPrefix("vpt.") }
        #expect(vpt.map(\.name) == ["vpt.0", "vpt.1"] && vpt.allSatisfy { $0.shape == [8, 32] })
        let bound = Float((6.0 / (3 * 4 * 4 + 32.0)).squareRoot())   // p = 4, d = 32
        #expect(tuner.arena.value("vpt.1").data.allSatisfy { abs($0) <= bound })
        let example = DeepTuningTests.example(segmenter)
        let start = tuner.step([example], rate: 3e-2).total
        for entry in vpt {
            let largest = tuner.arena.gradient(entry.name).data.reduce(0) { max($0, abs($1)) }
            #expect(largest > 0 && largest.isFinite, "\(entry.name): gradient \(largest)")
        }
        for _ in 0..<3 { tuner.step([example], rate: 3e-2) }
        let end = tuner.step([example], rate: 0).total
        #expect(end < start, "loss \(start) → \(end)")
    }
}
