import Foundation
import Testing
@testable import Models
import Tensors

/// The reverse-mode tape through the real LiteMedSAM mask decoder, against PyTorch
/// autograd (fixtures/gradients, written by scripts/make-gradient-fixtures).
///
/// Models' forward has no tape yet, so this file runs the decoder with the taped ops,
/// line for line as MaskDecoder.predictMasks and TwoWayTransformer (same weights); the
/// first test pins that forward to the engine's, bit for bit. When the models gain
/// `tape:` parameters, these extensions go and the tests call the models directly.
@Suite struct TapedDecoderGradientTests {
    static let fixture = packageRoot.appendingPathComponent("fixtures/gradients/litemedsam-decoder-gradients.safetensors")

    /// The inputs both sides draw from scripts/make-gradient-fixtures' generator (16×16 grid).
    struct Inputs {
        let embedding: Tensor, pe: Tensor, sparse: Tensor, dense: Tensor, seed: Tensor
        init() {
            var rng = FixtureRandom(2026)
            embedding = rng.tensor([1, 16, 16, 256]); pe = rng.tensor([16, 16, 256])
            sparse = rng.tensor([1, 4, 256], scale: 0.5); dense = rng.tensor([16, 16, 256], scale: 0.2)
            seed = rng.tensor([1, 4, 64, 64])
        }
    }

    @Test(.enabled(if: hasRealCheckpoint)) func tapedForwardEqualsEngineForward() {
        let decoder = MaskDecoder(Scope(Weights(realWeights), "mask_decoder"))
        let x = Inputs()
        let engine = decoder.predictMasks(imageEmbedding: x.embedding.reshaped([16, 16, 256]), imagePE: x.pe,
                                          sparse: x.sparse, dense: x.dense).masks
        let taped = decoder.tapedMasks(embedding: x.embedding, pe: x.pe, sparse: x.sparse, dense: x.dense, tape: nil)
        #expect(taped.shape == engine.shape)
        #expect(maxAbsDifference(taped, engine) == 0)
    }

    /// Gradients of Σ seed ⊙ masks w.r.t. the sparse and the dense prompt. Tolerance: 1e-4 of
    /// each gradient's largest magnitude (measured: 2.5e-6 sparse, 1.4e-6 dense).
    @Test(.enabled(if: hasRealCheckpoint)) func promptGradientsMatchPyTorch() throws {
        let reference = try readSafetensors(at: Self.fixture)
        let decoder = MaskDecoder(Scope(Weights(realWeights), "mask_decoder"))
        let x = Inputs()
        let tape = Tape()
        tape.requireGradient(x.sparse); tape.requireGradient(x.dense)
        let masks = decoder.tapedMasks(embedding: x.embedding, pe: x.pe, sparse: x.sparse, dense: x.dense, tape: tape)
        tape.backward(seeding: masks, with: x.seed)
        let refMasks = reference["masks"]!, refSparse = reference["grad_sparse"]!, refDense = reference["grad_dense"]!
        #expect(maxAbsDifference(masks, refMasks) <= 1e-4 * refMasks.maxAbs)
        let dSparse = tape.gradient(of: x.sparse)!, dDense = tape.gradient(of: x.dense)!
        #expect(dSparse.shape == refSparse.shape && dDense.shape == refDense.shape)
        #expect(maxAbsDifference(dSparse, refSparse) <= 1e-4 * refSparse.maxAbs, "sparse: \(maxAbsDifference(dSparse, refSparse)) of \(refSparse.maxAbs)")
        #expect(maxAbsDifference(dDense, refDense) <= 1e-4 * refDense.maxAbs, "dense: \(maxAbsDifference(dDense, refDense)) of \(refDense.maxAbs)")
        #expect(refSparse.maxAbs > 1 && refDense.maxAbs > 1)
    }
}

/// Tests/TensorsTests/Support.swift's SeededRandom (a 64-bit LCG, uniform in [-1, 1)),
/// mirrored in scripts/make-gradient-fixtures.
struct FixtureRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &* 6364136223846793005 &+ 1442695040888963407 }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, values: (0..<Tensor.elementCount(shape)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        })
    }
}

// MARK: - The decoder with taped ops (mirrors MaskDecoder.swift and TwoWayTransformer.swift)

extension Linear {
    func taped(_ x: Tensor, _ tape: Tape?) -> Tensor { linear(x, weight: weight, bias: bias, tape: tape) }
}

extension LayerNorm {
    func taped(_ x: Tensor, _ tape: Tape?) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps, tape: tape) }
}

extension DecoderAttention {
    func taped(q: Tensor, k: Tensor, v: Tensor, _ tape: Tape?) -> Tensor {
        let heads = attention(q: qProj.taped(q, tape), k: kProj.taped(k, tape), v: vProj.taped(v, tape), heads: self.heads, tape: tape)
        return outProj.taped(heads, tape)
    }
}

extension TwoWayAttentionBlock {
    func taped(queries: Tensor, keys: Tensor, queryPE: Tensor, keyPE: Tensor, _ tape: Tape?) -> (Tensor, Tensor) {
        var queries = queries
        if skipFirstLayerPE {
            queries = selfAttn.taped(q: queries, k: queries, v: queries, tape)
        } else {
            let q = add(queries, queryPE, tape: tape)
            queries = add(queries, selfAttn.taped(q: q, k: q, v: queries, tape), tape: tape)
        }
        queries = norm1.taped(queries, tape)
        var q = add(queries, queryPE, tape: tape)
        let k = add(keys, keyPE, tape: tape)
        queries = norm2.taped(add(queries, crossAttnTokenToImage.taped(q: q, k: k, v: keys, tape), tape: tape), tape)
        let hidden = relu(lin1.taped(queries, tape), tape: tape)
        queries = norm3.taped(add(queries, lin2.taped(hidden, tape), tape: tape), tape)
        q = add(queries, queryPE, tape: tape)
        let attnOut = add(crossAttnImageToToken.taped(q: k, k: q, v: queries, tape), keys, tape: tape)
        return (queries, norm4.taped(attnOut, tape))
    }
}

extension MaskDecoder {
    /// embedding (1, h, w, C), pe (h, w, C), sparse (1, K, C), dense (h, w, C) → all masks (1, M, 4h, 4w).
    func tapedMasks(embedding: Tensor, pe: Tensor, sparse: Tensor, dense: Tensor, tape: Tape?) -> Tensor {
        let d = transformerDim, (h, w) = (embedding.shape[1], embedding.shape[2])
        let tokens = concatenate([iouToken.reshaped([1, 1, d]), maskTokens.reshaped([1, numMaskTokens, d]), sparse], axis: 1, tape: tape)
        let src = add(embedding.reshaped([1, h * w, d]), reshaped(dense, [h * w, d], tape: tape), tape: tape)
        let pos = pe.reshaped([1, h * w, d])
        var queries = tokens, keys = src
        for layer in transformer.layers {
            (queries, keys) = layer.taped(queries: queries, keys: keys, queryPE: tokens, keyPE: pos, tape)
        }
        let q = add(queries, tokens, tape: tape), k = add(keys, pos, tape: tape)
        queries = add(queries, transformer.finalAttnTokenToImage.taped(q: q, k: k, v: keys, tape), tape: tape)
        let hs = transformer.normFinalAttn.taped(queries, tape)

        var up = transposedConv2x2(reshaped(keys, [1, h, w, d], tape: tape), weight: upscale0.weight, bias: upscale0.bias, tape: tape)
        up = gelu(upscale1.taped(up, tape), tape: tape)
        up = gelu(transposedConv2x2(up, weight: upscale3.weight, bias: upscale3.bias, tape: tape), tape: tape)
        let (uh, uw, uc) = (up.shape[1], up.shape[2], up.shape[3])
        let hyper = concatenate((0..<numMaskTokens).map { m in
            var x = slice(hs, axis: 1, (1 + m)..<(2 + m), tape: tape)
            for (i, layer) in hypernetworks[m].layers.enumerated() {
                x = layer.taped(x, tape)
                if i < hypernetworks[m].layers.count - 1 { x = relu(x, tape: tape) }
            }
            return x
        }, axis: 1, tape: tape)                                                         // (1, M, C/8)
        let masks = matmul(hyper, reshaped(up, [1, uh * uw, uc], tape: tape), transposeB: true, tape: tape)
        return reshaped(masks, [1, numMaskTokens, uh, uw], tape: tape)
    }
}
