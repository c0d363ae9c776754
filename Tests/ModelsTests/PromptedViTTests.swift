import Foundation
import Testing
@testable import Models
import Tensors

/// The taped SAM ViT encoder and its deep visual prompts (ImageEncoderViT+Taped.swift,
/// Tensors/TapedAttention+Prompts.swift).
@Suite struct PromptedViTTests {
    /// A small ViT: 6 × 6 tokens, a windowed block whose windows pad (6 → 8, 4 windows), then a global one.
    static let small = ViTConfig(imageSize: 48, patchSize: 8, embedDim: 16, depth: 2, numHeads: 2,
                                 mlpRatio: 2, outChans: 8, windowSize: 4, globalAttnIndexes: [1])

    static func smallEncoder() throws -> ImageEncoderViT {
        let weights = Weights(ImageEncoderViT.randomWeights(small, seed: 7))
        let encoder = ImageEncoderViT(Scope(weights), config: small)
        try weights.finish()
        return encoder
    }

    static func prompts(for encoder: ImageEncoderViT, tokens: Int, seed: UInt64) -> [Tensor] {
        var rng = FixtureRandom(seed)
        return (0..<encoder.attentionBlockCount).map { rng.tensor([tokens, encoder.attentionBlockWidth($0)]) }
    }

    static func relativeDifference(_ a: Tensor, _ b: Tensor) -> Float {
        maxAbsDifference(a, b) / max(b.data.reduce(0) { max($0, abs($1)) }, 1e-12)
    }

    /// Op by op on a tape (every op recorded: the image is tracked) equals the inference path.
    @Test func tapedEncoderEqualsInference() throws {
        let encoder = try Self.smallEncoder()
        var rng = FixtureRandom(11)
        let image = rng.tensor([1, 48, 48, 3], scale: 2)
        let plain = encoder(image)
        let tape = Tape()
        tape.requireGradient(image)
        let taped = encoder(image, prompts: nil, tape: tape)
        #expect(taped.shape == [1, 6, 6, 8] && plain.shape == taped.shape)
        #expect(tape.recordedOps > 20)
        #expect(Self.relativeDifference(taped, plain) <= 1e-5, "\(Self.relativeDifference(taped, plain))")
    }

    /// The taped path on the reduced fixture (windows that pad 8 → 9, a global block) against segment-anything 1.0.
    @Test func tapedReducedEncoderMatchesSegmentAnything() throws {
        let weights = Weights(try ParityFixtures.tensors("vit-reduced-weights.safetensors"))
        let encoder = ImageEncoderViT(Scope(weights), config: ViTParityTests.reduced)
        try weights.finish()
        let ref = try ParityFixtures.tensors("vit-reduced.safetensors")
        let image = try #require(ref["input"]).permuted([0, 2, 3, 1])
        let tape = Tape()
        tape.requireGradient(image)
        let out = encoder(image, prompts: nil, tape: tape)
        ParityFixtures.expectClose(out.permuted([0, 3, 1, 2]).values, ref["output"]!.values, "taped neck output")
    }

    /// Prompts change the embedding but not its shape; the taped and untaped prompted forwards agree.
    @Test func promptsKeepShapeAndChangeOutput() throws {
        let encoder = try Self.smallEncoder()
        #expect(encoder.attentionBlockCount == 2 && encoder.attentionBlockWidth(1) == 16)
        var rng = FixtureRandom(3)
        let image = rng.tensor([1, 48, 48, 3])
        let plain = encoder(image)
        let prompts = Self.prompts(for: encoder, tokens: 3, seed: 5)
        let prompted = encoder(image, prompts: prompts, tape: nil)
        #expect(prompted.shape == plain.shape)
        #expect(maxAbsDifference(prompted, plain) > 1e-3)
        let tape = Tape()
        for p in prompts { tape.requireGradient(p) }
        let taped = encoder(image, prompts: prompts, tape: tape)
        #expect(maxAbsDifference(taped, prompted) == 0)
    }

    /// The op against its definition, in Double: softmax over [q·k/√d + q·(Rh + Rw) for image
    /// columns | q·k/√d for prompt columns (zero bias)], times v; only image tokens query.
    @Test func promptColumnsHaveZeroBias() {
        var rng = FixtureRandom(21)
        let (heads, d, grid, prompts) = (2, 4, 3, 2)
        let c = heads * d, n = grid * grid
        let qkv = rng.tensor([1, n + prompts, 3 * c])
        let rh = rng.tensor([grid, grid, d], scale: 0.5), rw = rng.tensor([grid, grid, d], scale: 0.5)
        let out = promptedRelativePositionAttention(qkv: qkv, heads: heads, relativePosition: rh, rw, tape: nil)
        // Direct evaluation, in Double.
        let row = 3 * c, scale = 1 / Double(d).squareRoot()
        func at(_ r: Int, _ part: Int, _ h: Int, _ j: Int) -> Double { Double(qkv.data[r * row + part * c + h * d + j]) }
        var worst = 0.0
        for h in 0..<heads {
            for i in 0..<n {
                let (y, x) = (i / grid, i % grid)
                var scores = [Double](repeating: 0, count: n + prompts)
                for k in 0..<(n + prompts) {
                    var s = 0.0
                    for j in 0..<d { s += at(i, 0, h, j) * at(k, 1, h, j) }
                    s *= scale
                    if k < n {
                        let (ky, kx) = (k / grid, k % grid)
                        for j in 0..<d {
                            s += at(i, 0, h, j) * (Double(rh.data[(y * grid + ky) * d + j]) + Double(rw.data[(x * grid + kx) * d + j]))
                        }
                    }
                    scores[k] = s
                }
                let top = scores.max()!
                let e = scores.map { exp($0 - top) }, total = e.reduce(0, +)
                for j in 0..<d {
                    var v = 0.0
                    for k in 0..<(n + prompts) { v += e[k] / total * at(k, 2, h, j) }
                    worst = max(worst, abs(v - Double(out.data[i * c + h * d + j])))
                }
            }
        }
        #expect(worst < 1e-5, "\(worst)")
    }

    /// d(Σ seed ⊙ embedding)/d(prompts) of each block against central differences (float32
    /// forward: step 0.1, tolerance 3% of the largest magnitude).
    @Test func promptGradientsMatchFiniteDifferences() throws {
        let encoder = try Self.smallEncoder()
        var rng = FixtureRandom(3)
        let image = rng.tensor([1, 48, 48, 3])
        let prompts = Self.prompts(for: encoder, tokens: 2, seed: 9)
        let seed = rng.tensor([1, 6, 6, 8])
        expectPromptGradientsMatchFiniteDifferences(prompts: prompts, seed: seed, step: 0.1, tolerance: 0.03, samples: 8) { tape in
            encoder(image, prompts: prompts, tape: tape)
        }
    }

    /// The op's backward (prompt rows, relative-position gradient into q) against central differences.
    @Test func promptedAttentionGradientMatchesFiniteDifferences() {
        var rng = FixtureRandom(31)
        let (heads, grid, prompts, c) = (2, 3, 2, 8)
        let n = grid * grid
        let qkv = rng.tensor([2, n + prompts, 3 * c])
        let rh = rng.tensor([grid, grid, c / heads], scale: 0.5), rw = rng.tensor([grid, grid, c / heads], scale: 0.5)
        let seed = rng.tensor([2, n, c])
        func objective() -> Double {
            let y = promptedRelativePositionAttention(qkv: qkv, heads: heads, relativePosition: rh, rw, tape: nil)
            var s = 0.0
            for i in 0..<y.count { s += Double(y.data[i]) * Double(seed.data[i]) }
            return s
        }
        let tape = Tape()
        tape.requireGradient(qkv)
        let y = promptedRelativePositionAttention(qkv: qkv, heads: heads, relativePosition: rh, rw, tape: tape)
        tape.backward(seeding: y, with: seed)
        let grad = tape.gradient(of: qkv)!
        let largest = grad.data.reduce(0) { max($0, abs($1)) }
        var worst: Float = 0
        for i in 0..<qkv.count {
            let h: Float = 1e-2, saved = qkv.data[i]
            qkv.data[i] = saved + h; let up = objective()
            qkv.data[i] = saved - h; let down = objective()
            qkv.data[i] = saved
            worst = max(worst, abs(Float((up - down) / Double(2 * h)) - grad.data[i]))
        }
        #expect(largest > 1e-2)
        #expect(worst <= 1e-2 * largest, "\(worst) of \(largest)")
        // The prompts' query rows do not query: their q gradient is zero.
        for s in 0..<2 { for r in n..<(n + prompts) { for j in 0..<c { #expect(grad.data[(s * (n + prompts) + r) * 3 * c + j] == 0) } } }
    }
}
