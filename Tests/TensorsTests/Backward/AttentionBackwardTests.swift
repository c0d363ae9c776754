import Testing
@testable import Tensors

/// Multi-head attention's gradients with respect to q, k and v.
@Suite struct AttentionBackwardTests {
    @Test func qkvGradients() {
        var rng = SeededRandom(30)
        let q = rng.tensor([2, 3, 8]), k = rng.tensor([2, 5, 8]), v = rng.tensor([2, 5, 6])
        let r = checkGradients([q, k, v]) { t, x in attention(q: x[0], k: x[1], v: x[2], heads: 2, tape: t) }
        #expect(r.passed, "\(r)")
    }

    @Test func withAdditiveBias() {
        var rng = SeededRandom(31)
        let bias = rng.tensor([2, 4, 4], scale: 2)
        let r = checkGradients([rng.tensor([1, 4, 6]), rng.tensor([1, 4, 6]), rng.tensor([1, 4, 6])]) { t, x in
            attention(q: x[0], k: x[1], v: x[2], heads: 2, bias: bias, tape: t)
        }
        #expect(r.passed, "\(r)")
    }

    /// One tensor as queries, keys and values: the three gradients land in one buffer.
    @Test func selfAttentionSharesOneGradient() {
        var rng = SeededRandom(32)
        let r = checkGradients([rng.tensor([2, 4, 8])]) { t, x in attention(q: x[0], k: x[0], v: x[0], heads: 4, tape: t) }
        #expect(r.passed, "\(r)")
    }

    /// The recompute in row blocks gives the same gradients as one block of all rows.
    @Test func rowBlocksMatchOneBlock() {
        var rng = SeededRandom(33)
        let (s, heads, nq, nk, d) = (2, 2, 7, 5, 4)
        let q = rng.tensor([s, nq, heads * d]), k = rng.tensor([s, nk, heads * d]), v = rng.tensor([s, nk, heads * d])
        let dOut = rng.tensor([s, nq, heads * d]), bias = rng.tensor([heads, nq, nk])
        func view(_ t: Tensor) -> HeadView {
            HeadView(t, sequenceStride: t.shape[1] * t.shape[2], rowStride: t.shape[2], headStride: d)
        }
        let shape = AttentionShape(sequences: s, heads: heads, queries: nq, keys: nk, headDim: d)
        func grads(_ tileElements: Int) -> [[Float]] {
            let dq = Tensor(zeros: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: v.shape)
            attentionBackward(q: view(q), k: view(k), v: view(v), dOut: view(dOut), dQ: view(dq), dK: view(dk), dV: view(dv),
                              shape: shape, bias: bias.ptr, tileElements: tileElements)
            return [dq.values, dk.values, dv.values]
        }
        let whole = grads(1 << 18), blocked = grads(3 * nk)   // all 7 rows vs blocks of 3, 3, 1
        for i in 0..<3 { #expect(maxAbsDiff(whole[i], blocked[i]) < 1e-5) }
        #expect(whole[0].contains { abs($0) > 1e-3 })
    }
}

/// TinyViT's fused [q | k | v] per head, with a bias, and shared prompts repeated over windows.
@Suite struct FusedAttentionBackwardTests {
    @Test func fusedQKVGradient() {
        var rng = SeededRandom(34)
        let bias = rng.tensor([2, 4, 4])
        // 2 heads × (2·3 + 2): key dim 3, value dim 2.
        let r = checkGradients([rng.tensor([2, 4, 16])]) { t, x in
            fusedAttention(qkv: x[0], heads: 2, keyDim: 3, valueDim: 2, bias: bias, tape: t)
        }
        #expect(r.passed, "\(r)")
    }

    /// Prompt tokens repeated into each of 3 windows and appended to its keys and values.
    @Test func promptsRepeatedOverWindows() {
        var rng = SeededRandom(35)
        let windows = rng.tensor([3, 4, 6])
        let r = checkGradients([rng.tensor([2, 6])]) { t, x in
            let kv = concatenate([windows, repeated(x[0], count: 3, tape: t)], axis: 1, tape: t)   // (3, 6, 6)
            return attention(q: windows, k: kv, v: kv, heads: 2, tape: t)
        }
        #expect(r.passed, "\(r)")
    }
}
