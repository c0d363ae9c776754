import Foundation
import Testing
@testable import Models
import Tensors

/// LiteMedSAM, stage by stage, against the PyTorch reference (fixtures/parity/README.md):
/// max |error| ≤ 1e-3 × the reference tensor's max |value|; masks agree on ≥ 99.9% of pixels.
@Suite(.enabled(if: hasRealCheckpoint, "needs models/lite_medsam.pth (scripts/setup)"))
struct LiteMedSAMParityTests {
    let manifest: [String: [String: ParityFixtures.Entry]]
    init() throws { manifest = try ParityFixtures.manifest() }

    func scale(_ file: String, _ name: String) -> Float { Float(manifest[file]![name]!.maxAbs) }

    /// Compares every stored slice of `name` with the same slice of our channels-last (1, H, W, C) tensor.
    func expectSlicesMatch(_ ours: Tensor, _ name: String, in file: String, _ ref: [String: Tensor],
                           sourceLocation: SourceLocation = #_sourceLocation) {
        for key in manifest[file]![name]!.stored {
            let (rows, cols, grid) = sliceRanges(key)
            let reference = ref[key]!.values
            ParityFixtures.expectClose(slice(ours, rows: rows, cols: cols, channelsLast: grid), reference,
                                       scale: scale(file, name), key, sourceLocation: sourceLocation)
        }
    }

    @Test func encoderStagesMatchPyTorch() throws {
        let segmenter = try #require(realSegmenter)
        let file = "litemedsam-encoder.safetensors"
        let ref = try ParityFixtures.tensors(file)
        let image = ref["image"]!
        let prepared = segmenter.prepare(pixels: image.values, width: 256, height: 256, channels: 1)
        let channel0 = (0..<(256 * 256)).map { prepared.input.data[$0 * 3] }
        ParityFixtures.expectClose(channel0, ref["input[0,0]"]!.values, scale: scale(file, "input[0,0]"), "input")

        var trace: TinyViT.Trace? = TinyViT.Trace()
        let embedding = segmenter.model.imageEncoder.forward(prepared.input, trace: &trace)
        expectSlicesMatch(trace!.patchEmbed!, "patch_embed", in: file, ref)
        for i in 0..<4 { expectSlicesMatch(trace!.layers[i], "layers.\(i)", in: file, ref) }
        ParityFixtures.expectClose(embedding.permuted([0, 3, 1, 2]).values, ref["image_embedding"]!.values,
                                   scale: scale(file, "image_embedding"), "image_embedding")
    }

    @Test func promptEncoderAndDecoderMatchPyTorch() throws {
        let segmenter = try #require(realSegmenter)
        let file = "litemedsam-decoder.safetensors"
        let ref = try ParityFixtures.tensors(file)
        let embedding = try ParityFixtures.tensors("litemedsam-encoder.safetensors")["image_embedding"]!
            .permuted([0, 2, 3, 1]).reshaped([64, 64, 256])
        let b = ref["box"]!.values
        let prompts = segmenter.model.promptEncoder
        let sparse = prompts.sparseEmbeddings(points: [], box: BoxPrompt(x0: b[0], y0: b[1], x1: b[2], y1: b[3]))
        ParityFixtures.expectClose(sparse.values, ref["sparse_embeddings"]!.values, scale: scale(file, "sparse_embeddings"), "sparse")
        let dense = prompts.denseEmbedding()
        expectSlicesMatch(dense.reshaped([1, 64, 64, 256]), "dense_embeddings", in: file, ref)
        expectSlicesMatch(segmenter.imagePositionalEncoding.reshaped([1, 64, 64, 256]), "image_pe", in: file, ref)

        let all = segmenter.model.maskDecoder.predictMasks(imageEmbedding: embedding, imagePE: segmenter.imagePositionalEncoding,
                                                           sparse: sparse, dense: dense)
        ParityFixtures.expectClose(all.iouPredictions.values, ref["iou_predictions_all"]!.values,
                                   scale: scale(file, "iou_predictions_all"), "iou (4 tokens)")
        let single = segmenter.decode(imageEmbedding: embedding, sparse: sparse, dense: dense)
        ParityFixtures.expectClose(single.masks.values, ref["low_res_logits"]!.values, scale: scale(file, "low_res_logits"), "low_res_logits")
        ParityFixtures.expectClose(single.iouPredictions.values, ref["iou_predictions"]!.values,
                                   scale: scale(file, "iou_predictions"), "iou_predictions")

        let c = ref["points.coords"]!.values, l = ref["points.labels"]!.values
        let points = prompts.sparseEmbeddings(points: [PointPrompt(x: c[0], y: c[1], label: Int(l[0])),
                                                       PointPrompt(x: c[2], y: c[3], label: Int(l[1]))], box: nil)
        ParityFixtures.expectClose(points.values, ref["points.sparse_embeddings"]!.values,
                                   scale: scale(file, "points.sparse_embeddings"), "points.sparse_embeddings")
        let maskDense = prompts.denseEmbedding(mask: ref["mask_prompt.input"]!.reshaped([256, 256]))
        expectSlicesMatch(maskDense.reshaped([1, 64, 64, 256]), "mask_prompt.dense_embeddings", in: file, ref)
    }

    /// A 200×300 image end to end through `Segmenter`: resize, pad, encode, decode, crop, resize back.
    @Test func nonSquareImageEndToEndMatchesPyTorch() throws {
        let segmenter = try #require(realSegmenter)
        let file = "litemedsam-rect.safetensors"
        let ref = try ParityFixtures.tensors(file)
        let image = ref["image"]!, b = ref["box_original"]!.values
        let prepared = segmenter.prepare(pixels: image.values, width: 300, height: 200, channels: 1)
        #expect((prepared.resizedWidth, prepared.resizedHeight) == (256, 171))
        let channel0 = (0..<(256 * 256)).map { prepared.input.data[$0 * 3] }
        ParityFixtures.expectClose(channel0, ref["input[0,0]"]!.values, scale: scale(file, "input[0,0]"), "input")

        let embedding = segmenter.imageEmbedding(prepared)
        let box = BoxPrompt(x0: b[0], y0: b[1], x1: b[2], y1: b[3])
        let (sparse, dense) = segmenter.promptEmbeddings(box: box, points: [], for: prepared)
        let out = segmenter.decode(imageEmbedding: embedding, sparse: sparse, dense: dense)
        ParityFixtures.expectClose(out.masks.values, ref["low_res_logits"]!.values, scale: scale(file, "low_res_logits"), "low_res_logits")
        let logits = segmenter.logitsAtOriginalSize(out.masks.reshaped([256, 256]), for: prepared)
        ParityFixtures.expectClose(logits.values, ref["mask_logits"]!.values, scale: scale(file, "mask_logits"), "mask_logits")

        let mask = segmenter.predict(pixels: image.values, width: 300, height: 200, channels: 1, box: box)
        let reference = ref["mask"]!.values
        let agree = zip(mask, reference).filter { Float($0.0) == $0.1 }.count
        #expect(Double(agree) / Double(reference.count) >= 0.999, "masks agree on \(agree) of \(reference.count) pixels")
        #expect(reference.contains(1) && reference.contains(0), "the reference mask is neither empty nor full")
    }
}

/// Row and column ranges of a fixture key such as `name[0,:,0:16,0:16]` or
/// `name.grid[56:64,56:64,:]` (README), and whether it is a channels-last grid slice.
func sliceRanges(_ key: String) -> (Range<Int>, Range<Int>, Bool) {
    let inside = key[key.lastIndex(of: "[")!...].dropFirst().dropLast()
    let ranges = inside.split(separator: ",").filter { $0.contains(":") && $0 != ":" }.map { part -> Range<Int> in
        let ends = part.split(separator: ":").map { Int($0)! }
        return ends[0]..<ends[1]
    }
    return (ranges[0], ranges[1], key.contains(".grid["))
}

/// rows × cols of a (1, H, W, C) tensor: channels-last (rows, cols, C) for grid slices,
/// channel-major (C, rows, cols) for PyTorch NCHW slices.
func slice(_ t: Tensor, rows: Range<Int>, cols: Range<Int>, channelsLast: Bool) -> [Float] {
    let (w, c) = (t.shape[2], t.shape[3])
    var out: [Float] = []
    out.reserveCapacity(rows.count * cols.count * c)
    if channelsLast {
        for y in rows { for x in cols { for ch in 0..<c { out.append(t.data[(y * w + x) * c + ch]) } } }
    } else {
        for ch in 0..<c { for y in rows { for x in cols { out.append(t.data[(y * w + x) * c + ch]) } } }
    }
    return out
}
