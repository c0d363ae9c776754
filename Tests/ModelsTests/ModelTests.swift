import Foundation
import Testing
@testable import Models
@testable import Tensors

@Suite struct ModelTests {
    /// Upstream numbers offsets (|Δy|, |Δx|) in first-seen order; worked out by hand for a 2×2 window:
    /// points (0,0) (0,1) (1,0) (1,1) → offsets (0,0)=0 (0,1)=1 (1,0)=2 (1,1)=3.
    @Test func attentionBiasIndicesFollowFirstSeenOrder() {
        let small = attentionBiasIndices(window: 2)
        #expect(small.offsets == 4)
        #expect(small.index == [0, 1, 2, 3,
                                1, 0, 3, 2,
                                2, 3, 0, 1,
                                3, 2, 1, 0])
        #expect(attentionBiasIndices(window: 7).offsets == 49)
        #expect(attentionBiasIndices(window: 14).offsets == 196)
    }

    @Test(.enabled(if: hasRealCheckpoint, "needs models/lite_medsam.pth (scripts/setup)"))
    func realCheckpointLoadsWithEveryKeyUsed() throws {
        #expect(realWeights.count == 435)
        _ = try SAMModel(preset: .liteMedSAM, weights: realWeights)
    }

    @Test(.enabled(if: hasRealCheckpoint, "needs models/lite_medsam.pth (scripts/setup)"))
    func mismatchedCheckpointNamesEveryKindOfProblem() throws {
        var w = realWeights
        w["mask_decoder.iou_token.weight"] = nil
        w["mask_decoder.extra.weight"] = Tensor(zeros: [3])
        w["image_encoder.neck.0.weight"] = Tensor(zeros: [256, 320])
        do {
            _ = try SAMModel(preset: .liteMedSAM, weights: w)
            Issue.record("a mismatched checkpoint was accepted")
        } catch let e as CheckpointMismatch {
            #expect(e.missing == ["mask_decoder.iou_token.weight"])
            #expect(e.unexpected == ["mask_decoder.extra.weight"])
            #expect(e.misshaped == ["image_encoder.neck.0.weight: model [256, 320, 1, 1], checkpoint [256, 320]"])
            #expect(e.description.contains("1 missing") && e.description.contains("1 unexpected") && e.description.contains("1 mis-shaped"))
        }
    }

    /// LiteMedSAM's preprocessing on a 4×2 gray image: longest side → 256, min–max to [0, 1], zero padding.
    @Test(.enabled(if: hasRealCheckpoint, "needs models/lite_medsam.pth (scripts/setup)"))
    func prepareResizesNormalisesAndPads() throws {
        let segmenter = try #require(realSegmenter)
        let p = segmenter.prepare(pixels: [10, 20, 30, 50, 10, 20, 30, 50], width: 4, height: 2, channels: 1)
        #expect((p.resizedWidth, p.resizedHeight, p.scale) == (256, 128, 64))
        #expect(p.input.shape == [1, 256, 256, 3])
        let v = p.input.data
        #expect(v[0] == 0 && v[1] == 0 && v[2] == 0)                        // the minimum, all three channels
        #expect(v[(0 * 256 + 255) * 3] == 1)                                  // right edge holds the maximum
        #expect(v[(127 * 256 + 100) * 3] > 0 && v[(128 * 256 + 100) * 3] == 0) // padding starts at row 128
    }

    /// SAM's normalisation: min → (0 − mean)/std, max → (255 − mean)/std per channel; padding stays 0.
    @Test(.enabled(if: hasRealCheckpoint, "needs models/lite_medsam.pth (scripts/setup)"))
    func pixelMeanStdNormalisation() throws {
        var preset = ModelPreset.liteMedSAM
        preset.normalization = .pixelMeanStd
        let segmenter = try Segmenter(preset: preset, weights: realWeights)
        let p = segmenter.prepare(pixels: [10, 20, 30, 50, 10, 20, 30, 50], width: 4, height: 2, channels: 1)
        let v = p.input.data
        let mean: [Float] = [123.675, 116.28, 103.53], std: [Float] = [58.395, 57.12, 57.375]
        for c in 0..<3 {
            #expect(abs(v[c] - (0 - mean[c]) / std[c]) < 1e-5)
            #expect(abs(v[255 * 3 + c] - (255 - mean[c]) / std[c]) < 1e-5)
            #expect(v[(200 * 256) * 3 + c] == 0)
        }
    }
}

/// Training feeds the decoder a batch of prompt sets: each item must come out as if decoded alone.
@Suite(.enabled(if: hasRealCheckpoint, "needs models/lite_medsam.pth (scripts/setup)"))
struct DecoderBatchTests {
    @Test func batchedDecodeEqualsDecodingEachItem() throws {
        let segmenter = try #require(realSegmenter)
        let embedding = try ParityFixtures.tensors("litemedsam-encoder.safetensors")["image_embedding"]!
            .permuted([0, 2, 3, 1]).reshaped([64, 64, 256])
        let prompts = segmenter.model.promptEncoder
        let a = prompts.sparseEmbeddings(points: [], box: BoxPrompt(x0: 40, y0: 50, x1: 200, y1: 180))
        let b = prompts.sparseEmbeddings(points: [], box: BoxPrompt(x0: 10, y0: 100, x1: 120, y1: 250))
        let batch = Tensor(shape: [2, 2, 256], values: a.values + b.values)
        let dense = prompts.denseEmbedding()
        let both = segmenter.decode(imageEmbedding: embedding, sparse: batch, dense: dense)
        let alone = [a, b].map { segmenter.decode(imageEmbedding: embedding, sparse: $0, dense: dense) }
        #expect(both.masks.shape == [2, 1, 256, 256])
        let hw = 256 * 256
        for i in 0..<2 {
            let mine = Array(both.masks.values[(i * hw)..<((i + 1) * hw)])
            #expect(maxAbsDifference(Tensor(shape: [hw], values: mine), alone[i].masks.reshaped([hw])) < 1e-4)
            #expect(abs(both.iouPredictions.data[i] - alone[i].iouPredictions.data[0]) < 1e-5)
        }
        #expect(maxAbsDifference(alone[0].masks, alone[1].masks) > 1, "the two prompts give different masks")
    }
}

/// Degenerate image shapes still give a mask of the input's size.
@Suite(.enabled(if: hasRealCheckpoint, "needs models/lite_medsam.pth (scripts/setup)"))
struct SegmenterShapeTests {
    @Test func thinStripPredictsAtItsOwnSize() throws {
        let segmenter = try #require(realSegmenter)
        // 600×1 scales to 256×0.43: the resized image must keep one row.
        let pixels = (0..<600).map { Float($0 % 37) }
        let image = segmenter.prepare(pixels: pixels, width: 600, height: 1, channels: 1)
        #expect((image.resizedWidth, image.resizedHeight) == (256, 1))
        let mask = segmenter.predict(pixels: pixels, width: 600, height: 1, channels: 1,
                                     box: BoxPrompt(x0: 100, y0: 0, x1: 300, y1: 1))
        #expect(mask.count == 600)
        #expect(mask.allSatisfy { $0 == 0 || $0 == 1 })
    }
}
