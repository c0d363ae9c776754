import Foundation
import Testing
@testable import Models
import Tensors

/// SAM's ViT encoder, reduced and randomly initialised, against segment-anything 1.0
/// (fixtures/parity/README.md): img 128, patch 16, dim 64, 2 blocks (window 3, then global).
@Suite struct ViTParityTests {
    static let reduced = ViTConfig(imageSize: 128, patchSize: 16, embedDim: 64, depth: 2, numHeads: 2,
                                   mlpRatio: 4, outChans: 32, windowSize: 3, globalAttnIndexes: [1])

    @Test(arguments: ["same_8x8_table15", "interp_8x8_table11", "interp_4x4_table13", "q4_k8_table15"])
    func relativePositionTablesMatchGetRelPos(name: String) throws {
        let ref = try ParityFixtures.tensors("vit-rel-pos.safetensors")
        let expected = try #require(ref["\(name).result"])
        let ours = relativePositionTable(querySize: expected.shape[0], keySize: expected.shape[1], table: try #require(ref["\(name).table"]))
        ParityFixtures.expectClose(ours.values, expected.values, name)
    }

    @Test(arguments: [("vit-reduced-weights.safetensors", "vit-reduced.safetensors"),
                      ("vit-reduced-interp-weights.safetensors", "vit-reduced-interp.safetensors")])
    func reducedEncoderMatchesSegmentAnything(weightsFile: String, referenceFile: String) throws {
        let weights = Weights(try ParityFixtures.tensors(weightsFile))
        let encoder = ImageEncoderViT(Scope(weights), config: Self.reduced)
        try weights.finish()
        let ref = try ParityFixtures.tensors(referenceFile)
        var outputs: [Tensor] = []
        let out = encoder.forward(try #require(ref["input"]).permuted([0, 2, 3, 1]), blockOutputs: &outputs)
        ParityFixtures.expectClose(outputs[0].values, ref["patch_embed"]!.values, "patch_embed")
        ParityFixtures.expectClose(outputs[1].values, ref["blocks.0"]!.values, "blocks.0 (windowed, padded 8 → 9)")
        ParityFixtures.expectClose(outputs[2].values, ref["blocks.1"]!.values, "blocks.1 (global)")
        ParityFixtures.expectClose(out.permuted([0, 3, 1, 2]).values, ref["output"]!.values, "neck output")
    }
}
