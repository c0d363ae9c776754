import Foundation
import Testing
@testable import Models
import Tensors

/// The reverse-mode tape through the real LiteMedSAM mask decoder, against PyTorch
/// autograd (fixtures/gradients, written by scripts/make-gradient-fixtures).
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

    /// The decoder with a tape computes what it computes without one (one implementation,
    /// and recording must not disturb the forward).
    @Test(.enabled(if: hasRealCheckpoint)) func tapedForwardEqualsInference() {
        let decoder = MaskDecoder(Scope(Weights(realWeights), "mask_decoder"))
        let x = Inputs()
        let plain = decoder.predictMasks(imageEmbedding: x.embedding.reshaped([16, 16, 256]), imagePE: x.pe,
                                         sparse: x.sparse, dense: x.dense).masks
        let tape = Tape()
        tape.requireGradient(x.sparse)
        let taped = decoder.predictMasks(imageEmbedding: x.embedding.reshaped([16, 16, 256]), imagePE: x.pe,
                                         sparse: x.sparse, dense: x.dense, tape: tape).masks
        #expect(taped.shape == plain.shape)
        #expect(maxAbsDifference(taped, plain) == 0)
        #expect(tape.recordedOps > 0)
    }

    /// Gradients of Σ seed ⊙ masks w.r.t. the sparse and the dense prompt. Tolerance: 1e-4 of
    /// each gradient's largest magnitude (measured: 2.5e-6 sparse, 1.4e-6 dense).
    @Test(.enabled(if: hasRealCheckpoint)) func promptGradientsMatchPyTorch() throws {
        let reference = try readSafetensors(at: Self.fixture)
        let decoder = MaskDecoder(Scope(Weights(realWeights), "mask_decoder"))
        let x = Inputs()
        let tape = Tape()
        tape.requireGradient(x.sparse); tape.requireGradient(x.dense)
        let masks = decoder.predictMasks(imageEmbedding: x.embedding.reshaped([16, 16, 256]), imagePE: x.pe,
                                         sparse: x.sparse, dense: x.dense, tape: tape).masks
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
