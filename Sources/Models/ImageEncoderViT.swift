// Port of SAM's ViT image encoder:
// facebookresearch/segment-anything, segment_anything/modeling/image_encoder.py
// (ImageEncoderViT, Block, Attention, get_rel_pos, add_decomposed_rel_pos, window_partition/unpartition, PatchEmbed).
// Parameter names are the checkpoint's keys under "image_encoder.". Channels-last throughout, as upstream's blocks are.
import Tensors

/// The hyper-parameters of one SAM ViT (segment_anything/build_sam.py).
public struct ViTConfig: Sendable {
    public var imageSize = 1024, patchSize = 16, embedDim = 768, depth = 12, numHeads = 12
    public var mlpRatio = 4, outChans = 256, windowSize = 14
    public var globalAttnIndexes = [2, 5, 8, 11]

    public static let vitB = ViTConfig()
    public static let vitL = ViTConfig(embedDim: 1024, depth: 24, numHeads: 16, globalAttnIndexes: [5, 11, 17, 23])
    public static let vitH = ViTConfig(embedDim: 1280, depth: 32, numHeads: 16, globalAttnIndexes: [7, 15, 23, 31])

    public init(imageSize: Int = 1024, patchSize: Int = 16, embedDim: Int = 768, depth: Int = 12, numHeads: Int = 12,
                mlpRatio: Int = 4, outChans: Int = 256, windowSize: Int = 14, globalAttnIndexes: [Int] = [2, 5, 8, 11]) {
        self.imageSize = imageSize; self.patchSize = patchSize; self.embedDim = embedDim; self.depth = depth
        self.numHeads = numHeads; self.mlpRatio = mlpRatio; self.outChans = outChans
        self.windowSize = windowSize; self.globalAttnIndexes = globalAttnIndexes
    }
}

/// image_encoder.Attention with relative positions; input (B, H, W, C) windows or the whole grid.
struct ViTAttention {
    let qkv: Linear, proj: Linear
    let heads: Int, headDim: Int
    /// get_rel_pos for this block's size, resolved at load time: (size, size, headDim) each.
    let rh: Tensor, rw: Tensor

    init(_ s: Scope, dim: Int, heads: Int, size: Int) {
        self.heads = heads
        headDim = dim / heads
        qkv = Linear(s["qkv"], dim, 3 * dim)
        proj = Linear(s["proj"], dim, dim)
        // Tables of another length (a checkpoint trained at another size) are resized, as upstream does on every forward.
        rh = relativePositionTable(querySize: size, keySize: size, table: s.take("rel_pos_h", anyLength: [headDim]))
        rw = relativePositionTable(querySize: size, keySize: size, table: s.take("rel_pos_w", anyLength: [headDim]))
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, h, w, c) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let n = h * w
        let qkvOut = qkv(x)                     // per token: [q heads | k heads | v heads]
        let out = Tensor(uninitialized: [b, h, w, c])
        func view(_ part: Int) -> HeadView { HeadView(qkvOut, offset: part * c, sequenceStride: n * 3 * c, rowStride: 3 * c, headStride: headDim) }
        let (rh, rw, d) = (self.rh, self.rw, headDim)
        attentionForward(q: view(0), k: view(1), v: view(2),
                         out: HeadView(out, sequenceStride: n * c, rowStride: c, headStride: d),
                         shape: AttentionShape(sequences: b, heads: heads, queries: n, keys: n, headDim: d),
                         addBias: { s, head, into in
                             decomposedRelativePositionBias(q: qkvOut.ptr + s * n * 3 * c + head * d, qStride: 3 * c,
                                                            rh: rh, rw: rw, bias: into)
                         })
        return proj(out)
    }
}

/// image_encoder.Block: pre-norm attention (windowed unless global) and MLP, each with a residual.
struct ViTBlock {
    let norm1: LayerNorm, attn: ViTAttention, norm2: LayerNorm, lin1: Linear, lin2: Linear
    let window: Int   // 0: global attention

    init(_ s: Scope, dim: Int, heads: Int, mlpRatio: Int, window: Int, gridSize: Int) {
        self.window = window
        norm1 = LayerNorm(s["norm1"], dim, eps: 1e-6)
        attn = ViTAttention(s["attn"], dim: dim, heads: heads, size: window > 0 ? window : gridSize)
        norm2 = LayerNorm(s["norm2"], dim, eps: 1e-6)
        lin1 = Linear(s["mlp"]["lin1"], dim, dim * mlpRatio)
        lin2 = Linear(s["mlp"]["lin2"], dim * mlpRatio, dim)
    }

    /// x (1, H, W, C) → (1, H, W, C).
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (h, w, c) = (x.shape[1], x.shape[2], x.shape[3])
        let normed = norm1(x)
        let attended: Tensor
        if window > 0 {
            // Upstream pads after norm1, with zeros (window_partition).
            let windows = windowPartition(normed, window: window)
            let out = attn(windows.reshaped([windows.shape[0], window, window, c]))
            attended = windowUnpartition(out.reshaped([windows.shape[0], window * window, c]), window: window, height: h, width: w)
        } else {
            attended = attn(normed)
        }
        attended.add(x)
        let hidden = lin1(norm2(attended)); hidden.geluInPlace()
        let out = lin2(hidden)
        out.add(attended)
        return out
    }
}

/// SAM's ViT image encoder with its neck: (1, S, S, 3) normalised → (1, S/16, S/16, outChans).
public struct ImageEncoderViT {
    let patchEmbed: Conv2d
    let posEmbed: Tensor
    let blocks: [ViTBlock]
    let neck0: Conv2d, neck1: LayerNorm, neck2: Conv2d, neck3: LayerNorm
    public let config: ViTConfig

    public init(_ s: Scope, config c: ViTConfig) {
        config = c
        let grid = c.imageSize / c.patchSize
        patchEmbed = Conv2d(s["patch_embed"]["proj"], 3, c.embedDim, kernel: c.patchSize, stride: c.patchSize)
        posEmbed = s.take("pos_embed", [1, grid, grid, c.embedDim])
        blocks = (0..<c.depth).map { i in
            ViTBlock(s["blocks"][i], dim: c.embedDim, heads: c.numHeads, mlpRatio: c.mlpRatio,
                     window: c.globalAttnIndexes.contains(i) ? 0 : c.windowSize, gridSize: grid)
        }
        neck0 = Conv2d(s["neck"][0], c.embedDim, c.outChans, kernel: 1, bias: false)
        neck1 = LayerNorm(s["neck"][1], c.outChans, eps: 1e-6)
        neck2 = Conv2d(s["neck"][2], c.outChans, c.outChans, kernel: 3, padding: 1, bias: false)
        neck3 = LayerNorm(s["neck"][3], c.outChans, eps: 1e-6)
    }

    /// Each block's output, for parity tests.
    public func forward(_ image: Tensor, blockOutputs: inout [Tensor]) -> Tensor {
        var x = patchEmbed(image)
        blockOutputs.append(x.copy())   // before pos_embed, as the fixtures record it
        x.add(posEmbed)
        for block in blocks {
            x = block(x)
            blockOutputs.append(x)
        }
        return neck3(neck2(neck1(neck0(x))))
    }

    public func callAsFunction(_ image: Tensor) -> Tensor {
        var ignored: [Tensor] = []
        return forward(image, blockOutputs: &ignored)
    }
}
