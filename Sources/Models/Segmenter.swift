// The user-facing API, as segment_anything/predictor.py (SamPredictor) is for SAM,
// with LiteMedSAM's own pre- and post-processing (bowang-lab/MedSAM, branch
// LiteMedSAM, CVPR24_LiteMedSAM_infer.py: resize_longest_side, pad_image, medsam_inference).
import Tensors

/// An image made ready for the encoder, with what is needed to map results back.
public struct PreparedImage: @unchecked Sendable {
    /// (1, S, S, 3) channels-last, values in [0, 1], zero-padded bottom/right.
    public var input: Tensor
    public var originalWidth: Int, originalHeight: Int
    /// Size of the image inside the S×S input, before padding.
    public var resizedWidth: Int, resizedHeight: Int
    /// input pixels per original pixel.
    public var scale: Float
}

/// Predicts a mask for an image from a box and/or points.
///
/// The steps are exposed separately so that training can cache
/// `imageEmbedding(_:)` and call `decode(imageEmbedding:sparse:dense:)` with its
/// own sparse tokens (B, K, 256) and dense map (64, 64, 256) — channels-last,
/// the transpose of PyTorch's (256, 64, 64).
public final class Segmenter: @unchecked Sendable {
    public let model: SAMModel
    /// get_dense_pe(), (64, 64, 256): fixed, so computed once.
    public let imagePositionalEncoding: Tensor

    public init(model: SAMModel) {
        self.model = model
        imagePositionalEncoding = model.promptEncoder.densePositionalEncoding()
    }

    public convenience init(preset: ModelPreset = .liteMedSAM, weights: [String: Tensor]) throws {
        try self.init(model: SAMModel(preset: preset, weights: weights))
    }

    public var inputSize: Int { model.preset.inputSize }

    /// Preprocessing. LiteMedSAM (`.minMax`): gray replicated to 3 channels; longest side resized
    /// to S (bilinear, align_corners=False — the original uses OpenCV INTER_AREA,
    /// identical for 2× downsizing, slightly different otherwise); min–max
    /// normalised to [0, 1]; padded bottom/right with zeros. SAM (`.pixelMeanStd`):
    /// longest side to 1024, min–max to 0…255, ImageNet mean/std, zero padding.
    /// pixels: interleaved (height, width, channels), channels 1 or 3.
    public func prepare(pixels: [Float], width: Int, height: Int, channels: Int) -> PreparedImage {
        precondition(pixels.count == width * height * channels && (channels == 1 || channels == 3),
                     "prepare: \(pixels.count) values for \(width)×\(height)×\(channels)")
        let s = inputSize
        let scale = Float(s) / Float(max(width, height))
        // At least one row/column: a 3000×1 strip would otherwise round to zero rows.
        let newW = max(1, Int(Float(width) * scale + 0.5)), newH = max(1, Int(Float(height) * scale + 0.5))
        let planes = Tensor(shape: [height, width, channels], values: pixels).permuted([2, 0, 1])
        let resized = (newW == width && newH == height) ? planes : resizeBilinear(planes, height: newH, width: newW)
        var lo = Float.infinity, hi = -Float.infinity
        for v in resized.data { lo = min(lo, v); hi = max(hi, v) }
        let range = max(hi - lo, 1e-8)
        // Per channel: value = (x − lo) / range · gain[c] + offset[c].
        let gain: [Float], offset: [Float]
        switch model.preset.normalization {
        case .minMax:
            (gain, offset) = ([1, 1, 1], [0, 0, 0])
        case .pixelMeanStd:   // segment_anything Sam.pixel_mean / pixel_std, on 0…255 values
            let mean: [Float] = [123.675, 116.28, 103.53], std: [Float] = [58.395, 57.12, 57.375]
            (gain, offset) = ((0..<3).map { 255 / std[$0] }, (0..<3).map { -mean[$0] / std[$0] })
        }
        let input = Tensor(zeros: [1, s, s, 3])   // padding stays 0, as upstream pads after normalising
        for y in 0..<newH {
            for x in 0..<newW {
                for c in 0..<3 {
                    let src = resized.data[((channels == 1 ? 0 : c) * newH + y) * newW + x]
                    input.data[(y * s + x) * 3 + c] = (src - lo) / range * gain[c] + offset[c]
                }
            }
        }
        return PreparedImage(input: input, originalWidth: width, originalHeight: height,
                             resizedWidth: newW, resizedHeight: newH, scale: scale)
    }

    /// The encoder's output, (64, 64, 256) channels-last.
    public func imageEmbedding(_ image: PreparedImage) -> Tensor {
        let e = model.imageEncoder(image.input)
        return e.reshaped(Array(e.shape.dropFirst()))
    }

    /// Sparse (1, K, 256) and dense (64, 64, 256) embeddings of a box and/or points
    /// given in original-image pixels.
    public func promptEmbeddings(box: BoxPrompt?, points: [PointPrompt], for image: PreparedImage) -> (sparse: Tensor, dense: Tensor) {
        let k = image.scale
        let scaledBox = box.map { BoxPrompt(x0: $0.x0 * k, y0: $0.y0 * k, x1: $0.x1 * k, y1: $0.y1 * k) }
        let scaledPoints = points.map { PointPrompt(x: $0.x * k, y: $0.y * k, label: $0.label) }
        return (model.promptEncoder.sparseEmbeddings(points: scaledPoints, box: scaledBox),
                model.promptEncoder.denseEmbedding())
    }

    /// Mask decoder with LiteMedSAM's single-mask output: logits (B, 1, 256, 256), IoU (B, 1).
    /// With a `tape` tracking the prompts, the logits carry their gradient (training).
    public func decode(imageEmbedding: Tensor, sparse: Tensor, dense: Tensor, tape: Tape? = nil) -> DecoderOutput {
        model.maskDecoder(imageEmbedding: imageEmbedding, imagePE: imagePositionalEncoding,
                          sparse: sparse, dense: dense, multimaskOutput: false, tape: tape)
    }

    /// Low-resolution logits (S, S) cropped to the resized image and resized
    /// (bilinear) back to the original size: (H, W).
    public func logitsAtOriginalSize(_ lowRes: Tensor, for image: PreparedImage) -> Tensor {
        // SAM's postprocess_masks: low-res logits up to the input frame first (a no-op for
        // LiteMedSAM, whose 256×256 logits are its input size; 4× for SAM's 1024 input).
        let s = lowRes.shape.last!, side = inputSize
        let frame = s == side ? lowRes : resizeBilinear(lowRes.reshaped([1, s, s]), height: side, width: side)
        let crop = Tensor(zeros: [1, image.resizedHeight, image.resizedWidth])
        for y in 0..<image.resizedHeight {
            (crop.ptr + y * image.resizedWidth).update(from: frame.ptr + y * side, count: image.resizedWidth)
        }
        return resizeBilinear(crop, height: image.originalHeight, width: image.originalWidth)
            .reshaped([image.originalHeight, image.originalWidth])
    }

    /// The whole prediction: mask (H·W, row-major), 1 where the logit is above 0.
    public func predict(pixels: [Float], width: Int, height: Int, channels: Int,
                        box: BoxPrompt?, points: [PointPrompt] = []) -> [UInt8] {
        let image = prepare(pixels: pixels, width: width, height: height, channels: channels)
        return predictMask(embedding: imageEmbedding(image), for: image, box: box, points: points)
    }

    /// The mask (H·W, row-major) for an already encoded image: 1 where the logit at the
    /// original size exceeds `threshold` (0: probability 0.5).
    public func predictMask(embedding: Tensor, for image: PreparedImage, box: BoxPrompt?, points: [PointPrompt] = [],
                            threshold: Float = 0) -> [UInt8] {
        let (sparse, dense) = promptEmbeddings(box: box, points: points, for: image)
        let low = decode(imageEmbedding: embedding, sparse: sparse, dense: dense).masks
        let logits = logitsAtOriginalSize(low.reshaped([low.shape[2], low.shape[3]]), for: image)
        return logits.data.map { $0 > threshold ? 1 : 0 }
    }
}
