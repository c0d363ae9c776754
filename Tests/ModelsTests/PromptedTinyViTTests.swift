import Foundation
import Testing
@testable import Models
import Tensors

/// The taped TinyViT encoder and its deep visual prompts (TinyViT+Taped.swift,
/// PromptedWindowAttention.swift).
@Suite struct PromptedTinyViTTests {
    /// A reduced TinyViT: every kind of block once, windows that pad (16 → 20), fit
    /// exactly (4 × 4) and tile (8 → 2 × 2 windows), two heads in the last stage.
    static var smallConfig: TinyViTConfig {
        var c = TinyViTConfig()
        c.imageSize = 32
        c.embedDims = [8, 16, 16, 24]
        c.depths = [1, 1, 1, 1]
        c.numHeads = [1, 1, 2, 2]
        c.windowSizes = [7, 5, 4, 4]
        c.outChannels = 8
        return c
    }

    /// Random weights under the checkpoint's names for `config` (TinyViT.swift's modules).
    static func randomWeights(_ c: TinyViTConfig, seed: UInt64) -> [String: Tensor] {
        var rng = FixtureRandom(seed)
        var w: [String: Tensor] = [:]
        func convBN(_ p: String, _ cin: Int, _ cout: Int, kernel: Int = 1, groups: Int = 1) {
            let fanIn = Float(cin / groups * kernel * kernel)
            w["\(p).c.weight"] = rng.tensor([cout, cin / groups, kernel, kernel], scale: 1 / fanIn.squareRoot())
            w["\(p).bn.weight"] = plusOne(rng.tensor([cout], scale: 0.2))
            w["\(p).bn.bias"] = rng.tensor([cout], scale: 0.1)
            w["\(p).bn.running_mean"] = rng.tensor([cout], scale: 0.1)
            w["\(p).bn.running_var"] = plusOne(rng.tensor([cout], scale: 0.2))
        }
        func plusOne(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, values: t.data.map { $0 + 1 }) }
        func linear(_ p: String, _ i: Int, _ o: Int) {
            w["\(p).weight"] = rng.tensor([o, i], scale: 1 / Float(i).squareRoot())
            w["\(p).bias"] = rng.tensor([o], scale: 0.1)
        }
        func norm(_ p: String, _ d: Int) {
            w["\(p).weight"] = plusOne(rng.tensor([d], scale: 0.2))
            w["\(p).bias"] = rng.tensor([d], scale: 0.1)
        }
        let d = c.embedDims
        convBN("patch_embed.seq.0", 3, d[0] / 2); convBN("patch_embed.seq.2", d[0] / 2, d[0])
        for b in 0..<c.depths[0] {
            let p = "layers.0.blocks.\(b)", hidden = d[0] * c.mbconvExpandRatio
            convBN("\(p).conv1", d[0], hidden); convBN("\(p).conv2", hidden, hidden, kernel: 3, groups: hidden)
            convBN("\(p).conv3", hidden, d[0])
        }
        for i in 0..<(d.count - 1) {
            let p = "layers.\(i).downsample"
            convBN("\(p).conv1", d[i], d[i + 1]); convBN("\(p).conv2", d[i + 1], d[i + 1], kernel: 3, groups: d[i + 1])
            convBN("\(p).conv3", d[i + 1], d[i + 1])
        }
        for i in 1..<d.count {
            for b in 0..<c.depths[i] {
                let p = "layers.\(i).blocks.\(b)"
                norm("\(p).attn.norm", d[i]); linear("\(p).attn.qkv", d[i], 3 * d[i]); linear("\(p).attn.proj", d[i], d[i])
                w["\(p).attn.attention_biases"] = rng.tensor([c.numHeads[i], attentionBiasIndices(window: c.windowSizes[i]).offsets], scale: 0.5)
                convBN("\(p).local_conv", d[i], d[i], kernel: c.localConvSize, groups: d[i])
                norm("\(p).mlp.norm", d[i]); linear("\(p).mlp.fc1", d[i], d[i] * c.mlpRatio); linear("\(p).mlp.fc2", d[i] * c.mlpRatio, d[i])
            }
        }
        w["neck.0.weight"] = rng.tensor([c.outChannels, d.last!, 1, 1], scale: 1 / Float(d.last!).squareRoot())
        norm("neck.1", c.outChannels)
        w["neck.2.weight"] = rng.tensor([c.outChannels, c.outChannels, 3, 3], scale: 1 / Float(9 * c.outChannels).squareRoot())
        norm("neck.3", c.outChannels)
        return w
    }

    static func random(_ seed: UInt64, _ shape: [Int], scale: Float = 1) -> Tensor {
        var rng = FixtureRandom(seed)
        return rng.tensor(shape, scale: scale)
    }

    static func smallEncoder(seed: UInt64 = 7) throws -> TinyViT {
        let weights = Weights(randomWeights(smallConfig, seed: seed))
        let encoder = TinyViT(Scope(weights), config: smallConfig)
        try weights.finish()
        return encoder
    }

    static func prompts(for encoder: TinyViT, tokens: Int, seed: UInt64) -> [Tensor] {
        var rng = FixtureRandom(seed)
        return (0..<encoder.attentionBlockCount).map { rng.tensor([tokens, encoder.attentionBlockWidth($0)]) }
    }

    /// Op by op on a tape (every op recorded: the image is tracked) equals the fused inference kernels.
    @Test(.enabled(if: hasRealCheckpoint)) func tapedEncoderEqualsFusedInference() {
        let encoder = TinyViT(Scope(Weights(realWeights), "image_encoder"))
        let image = Self.random(11, [1, 64, 64, 3], scale: 2)
        let fused = encoder(image)
        let tape = Tape()
        tape.requireGradient(image)
        let taped = encoder(image, prompts: nil, tape: tape)
        #expect(taped.shape == [1, 16, 16, 256] && fused.shape == taped.shape)
        #expect(tape.recordedOps > 100)
        let scale = fused.data.reduce(0) { max($0, abs($1)) }
        #expect(maxAbsDifference(taped, fused) <= 1e-4 * scale, "\(maxAbsDifference(taped, fused)) of \(scale)")
    }

    /// Prompts change the embedding but not its shape; the taped and untaped prompted forwards agree.
    @Test func promptsKeepShapeAndChangeOutput() throws {
        let encoder = try Self.smallEncoder()
        #expect(encoder.attentionBlockCount == 3)
        #expect((0..<3).map { encoder.attentionBlockWidth($0) } == [16, 16, 24])
        let image = Self.random(3, [1, 32, 32, 3])
        let plain = encoder(image)
        let prompts = Self.prompts(for: encoder, tokens: 3, seed: 5)
        let prompted = encoder(image, prompts: prompts, tape: nil)
        #expect(prompted.shape == plain.shape && plain.shape == [1, 4, 4, 8])
        #expect(maxAbsDifference(prompted, plain) > 1e-3)
        let tape = Tape()
        for p in prompts { tape.requireGradient(p) }
        let taped = encoder(image, prompts: prompts, tape: tape)
        #expect(maxAbsDifference(taped, prompted) == 0)
    }

    /// d(Σ seed ⊙ embedding)/d(prompts) of each block against central differences. The forward
    /// is float32: its rounding moves the quotients by about 3e-5 at step 0.05 (block 0's
    /// gradients are about 1e-3), so step 0.2, tolerance 5% of the largest magnitude.
    @Test func promptGradientsMatchFiniteDifferences() throws {
        let encoder = try Self.smallEncoder()
        let image = Self.random(3, [1, 32, 32, 3])
        let prompts = Self.prompts(for: encoder, tokens: 2, seed: 9)
        let seed = Self.random(4, [1, 4, 4, 8])
        expectPromptGradientsMatchFiniteDifferences(prompts: prompts, seed: seed, step: 0.2, tolerance: 0.05, samples: 6) { tape in
            encoder(image, prompts: prompts, tape: tape)
        }
    }
}
