import Testing
@testable import Tensors

/// The tape itself: what it records, and gradients through a chain of ops end to end.
@Suite struct TapeTests {
    /// A miniature of SAM's mask decoder (two-way block: self-attention, token→image,
    /// MLP, image→token; then upscaling and the hypernetwork product), dims 8, 2 heads,
    /// attention downsample 2. Learnable: prompt tokens and a global dense prompt.
    struct MiniDecoder {
        struct Attn {
            let q: (Tensor, Tensor), k: (Tensor, Tensor), v: (Tensor, Tensor), out: (Tensor, Tensor)
            init(_ rng: inout SeededRandom, dim: Int, inner: Int) {
                func lin(_ i: Int, _ o: Int) -> (Tensor, Tensor) { (rng.tensor([o, i], scale: 0.6), rng.tensor([o], scale: 0.1)) }
                q = lin(dim, inner); k = lin(dim, inner); v = lin(dim, inner); out = lin(inner, dim)
            }
            func callAsFunction(q x: Tensor, k y: Tensor, v z: Tensor, tape: Tape?) -> Tensor {
                let a = attention(q: linear(x, weight: q.0, bias: q.1, tape: tape), k: linear(y, weight: k.0, bias: k.1, tape: tape),
                                  v: linear(z, weight: v.0, bias: v.1, tape: tape), heads: 2, tape: tape)
                return linear(a, weight: out.0, bias: out.1, tape: tape)
            }
        }
        let selfAttn: Attn, toImage: Attn, toToken: Attn
        let lin1: (Tensor, Tensor), lin2: (Tensor, Tensor), hyper: (Tensor, Tensor)
        let norm: (Tensor, Tensor), upNorm: (Tensor, Tensor), upWeight: Tensor, upBias: Tensor
        let outputTokens: Tensor, image: Tensor, imagePE: Tensor

        init(seed: UInt64) {
            var rng = SeededRandom(seed)
            selfAttn = Attn(&rng, dim: 8, inner: 8); toImage = Attn(&rng, dim: 8, inner: 4); toToken = Attn(&rng, dim: 8, inner: 4)
            lin1 = (rng.tensor([16, 8], scale: 0.5), rng.tensor([16], scale: 0.1))
            lin2 = (rng.tensor([8, 16], scale: 0.4), rng.tensor([8], scale: 0.1))
            hyper = (rng.tensor([4, 8], scale: 0.5), rng.tensor([4], scale: 0.1))
            norm = (Tensor(shape: [8], values: (0..<8).map { 1 + 0.1 * Float($0) }), rng.tensor([8], scale: 0.1))
            upNorm = (Tensor(shape: [4], values: [1, 0.9, 1.1, 1.2]), rng.tensor([4], scale: 0.1))
            upWeight = packTransposedConvWeight(rng.tensor([8, 4, 2, 2], scale: 0.5)); upBias = rng.tensor([4], scale: 0.1)
            outputTokens = rng.tensor([1, 2, 8]); image = rng.tensor([1, 6, 8]); imagePE = rng.tensor([1, 6, 8])
        }

        /// prompts (1, 3, 8), dense (8) → mask logits (1, 2, 4·6).
        func callAsFunction(prompts: Tensor, dense: Tensor, tape: Tape?) -> Tensor {
            func ln(_ x: Tensor) -> Tensor { layerNorm(x, weight: norm.0, bias: norm.1, eps: 1e-5, tape: tape) }
            let points = concatenate([outputTokens, prompts], axis: 1, tape: tape)          // (1, 5, 8)
            let src = add(image, dense, tape: tape)                                         // (1, 6, 8)
            var queries = ln(selfAttn(q: points, k: points, v: points, tape: tape))
            var q = add(queries, points, tape: tape)
            let k = add(src, imagePE, tape: tape)
            queries = ln(add(queries, toImage(q: q, k: k, v: src, tape: tape), tape: tape))
            let hidden = relu(linear(queries, weight: lin1.0, bias: lin1.1, tape: tape), tape: tape)
            queries = ln(add(queries, linear(hidden, weight: lin2.0, bias: lin2.1, tape: tape), tape: tape))
            q = add(queries, points, tape: tape)
            let keys = ln(add(src, toToken(q: k, k: q, v: queries, tape: tape), tape: tape))
            // Upscale keys (2×3 grid) to 4×6 with 4 channels, then the hypernetwork product.
            var up = transposedConv2x2(reshaped(keys, [1, 2, 3, 8], tape: tape), weight: upWeight, bias: upBias, tape: tape)
            up = gelu(layerNorm(up, weight: upNorm.0, bias: upNorm.1, eps: 1e-6, tape: tape), tape: tape)
            let maskTokens = slice(queries, axis: 1, 0..<2, tape: tape)                    // (1, 2, 8)
            let weights = linear(maskTokens, weight: hyper.0, bias: hyper.1, tape: tape)    // (1, 2, 4)
            return matmul(weights, reshaped(up, [1, 24, 4], tape: tape), transposeB: true, tape: tape)
        }
    }

    @Test func miniDecoderPromptGradients() {
        let decoder = MiniDecoder(seed: 50)
        var rng = SeededRandom(51)
        let r = checkGradients([rng.tensor([1, 3, 8]), rng.tensor([8], scale: 0.5)]) { t, x in
            decoder(prompts: x[0], dense: x[1], tape: t)
        }
        #expect(r.passed, "\(r)")
    }

    /// Ops on constants only (the frozen embedding path) record nothing and keep nothing.
    @Test func constantsRecordNothing() {
        var rng = SeededRandom(52)
        let tape = Tape()
        let prompt = rng.tensor([1, 2, 4]), image = rng.tensor([1, 3, 4]), pe = rng.tensor([1, 3, 4])
        tape.requireGradient(prompt)
        let k = add(image, pe, tape: tape)
        let n = layerNorm(k, weight: Tensor(shape: [4], repeating: 1), bias: Tensor(zeros: [4]), eps: 1e-5, tape: tape)
        #expect(tape.recordedOps == 0)
        #expect(!tape.tracks(k) && !tape.tracks(n))
        let y = attention(q: prompt, k: n, v: n, heads: 2, tape: tape)
        #expect(tape.recordedOps == 1 && tape.tracks(y))
        tape.backward(seeding: y, with: Tensor(shape: y.shape, repeating: 1))
        #expect(tape.gradient(of: prompt)!.maxAbs > 0)
        #expect(tape.gradient(of: image) == nil)
    }

    /// A marked tensor the seed does not depend on gets a zero gradient, and a seed on
    /// constants gives zeros everywhere.
    @Test func unreachedInputsHaveZeroGradient() {
        var rng = SeededRandom(53)
        let tape = Tape()
        let a = rng.tensor([2, 3]), b = rng.tensor([2, 3])
        tape.requireGradient(a); tape.requireGradient(b)
        let y = gelu(a, tape: tape)
        _ = relu(b, tape: tape)
        tape.backward(seeding: y, with: Tensor(shape: [2, 3], repeating: 1))
        #expect(tape.gradient(of: b)!.values == [Float](repeating: 0, count: 6))
        #expect(tape.gradient(of: a)!.maxAbs > 0)
    }

    /// A tensor freed during the forward cannot pass its tracking on to a new
    /// tensor that happens to get its address.
    @Test func freedTensorsLeaveNoTracking() {
        let tape = Tape()
        let prompt = Tensor(shape: [4], values: [1, 2, 3, 4])
        tape.requireGradient(prompt)
        // add's backward keeps no activation, so each output is freed at once.
        for _ in 0..<50 { _ = add(prompt, prompt, tape: tape) }
        // Fresh constants, some likely at a freed output's address, stay untracked.
        for _ in 0..<50 {
            let c = Tensor(zeros: [4])
            #expect(!tape.tracks(c))
        }
    }
}

/// Seeding a tensor that is not on the tape stops the program instead of returning zeros.
@Test func seedingAnUntrackedTensorStops() async {
    await #expect(processExitsWith: .failure) {
        let tape = Tape()
        let x = Tensor(shape: [2], values: [1, 2])
        tape.requireGradient(x)
        let y = gelu(x, tape: tape).reshaped([1, 2])    // an untaped view: not on the tape
        tape.backward(seeding: y, with: Tensor(shape: [1, 2], repeating: 1))
    }
}

/// Prompts as views of one parameter buffer, gradients into the matching views of one
/// gradient buffer, accumulated over two tapes (two items of a batch).
@Test func gradientsAccumulateIntoCallerBuffers() {
    var rng = SeededRandom(54)
    let parameters = rng.tensor([2 * 6 + 4]), gradients = Tensor(zeros: [16])
    let tokens = Tensor(shape: [1, 2, 6], borrowing: UnsafeMutableBufferPointer(rebasing: parameters.data[0..<12]), owner: parameters)
    let dense = Tensor(shape: [4], borrowing: UnsafeMutableBufferPointer(rebasing: parameters.data[12..<16]), owner: parameters)
    let dTokens = Tensor(shape: [12], borrowing: UnsafeMutableBufferPointer(rebasing: gradients.data[0..<12]), owner: gradients)
    let dDense = Tensor(shape: [4], borrowing: UnsafeMutableBufferPointer(rebasing: gradients.data[12..<16]), owner: gradients)
    let image = rng.tensor([1, 3, 4]), w = rng.tensor([4, 6])
    var expected = [Float](repeating: 0, count: 16)
    for _ in 0..<2 {
        let tape = Tape()
        tape.requireGradient(tokens, accumulatingInto: dTokens)
        tape.requireGradient(dense, accumulatingInto: dDense)
        let y = attention(q: linear(tokens, weight: w, bias: nil, tape: tape), k: add(image, dense, tape: tape),
                          v: add(image, dense, tape: tape), heads: 2, tape: tape)
        tape.backward(seeding: y, with: Tensor(shape: y.shape, repeating: 1))
        // The same step on a tape with its own buffers gives the increment.
        let fresh = Tape()
        fresh.requireGradient(tokens); fresh.requireGradient(dense)
        let z = attention(q: linear(tokens, weight: w, bias: nil, tape: fresh), k: add(image, dense, tape: fresh),
                          v: add(image, dense, tape: fresh), heads: 2, tape: fresh)
        fresh.backward(seeding: z, with: Tensor(shape: z.shape, repeating: 1))
        let increment = fresh.gradient(of: tokens)!.values + fresh.gradient(of: dense)!.values
        for i in 0..<16 { expected[i] += increment[i] }
    }
    #expect(maxAbsDiff(gradients.values, expected) < 1e-6)
    #expect(expected.contains { abs($0) > 1e-3 })
}
