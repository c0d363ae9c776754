import Foundation
import Imaging
import Models
import Tensors

/// An image encoder deep mode can prompt: per-block visual prompts on a taped forward
/// (Models/TinyViT+Taped.swift, Models/ImageEncoderViT+Taped.swift).
protocol DeepPromptableEncoder {
    var attentionBlockCount: Int { get }
    func attentionBlockWidth(_ index: Int) -> Int
    func callAsFunction(_ image: Tensor, prompts: [Tensor]?, tape: Tape?) -> Tensor
    /// The side in input pixels of one token of the first attention block (VPT's initialisation).
    var promptPatchSize: Int { get }
}

/// LiteMedSAM's patch_embed does not downsample; its first token grid is reached after
/// the 256 → 64 reduction, so p = 4.
extension TinyViT: DeepPromptableEncoder { var promptPatchSize: Int { 4 } }
extension ImageEncoderViT: DeepPromptableEncoder { var promptPatchSize: Int { config.patchSize } }

/// Deep mode: visual prompts in every encoder attention block (Models/PromptedWindowAttention.swift,
/// Models/ImageEncoderViT+Taped.swift), trained through the encoder, so each step encodes its
/// image anew and nothing is cached.
extension PromptTuner {
    /// The encoder deep mode prompts: LiteMedSAM's TinyViT or SAM's ViT (all of whose blocks take prompts).
    static func promptableEncoder(_ segmenter: Segmenter) -> any DeepPromptableEncoder {
        switch segmenter.model.imageEncoder {
        case .tinyViT(let encoder): return encoder
        case .vit(let encoder): return encoder
        }
    }

    /// `vpt.<block>`: (tokens, width of the block) for every attention block, in order.
    static func visualPromptLayout(_ segmenter: Segmenter, tokens: Int) -> [(name: String, shape: [Int])] {
        let encoder = promptableEncoder(segmenter)
        return (0..<encoder.attentionBlockCount).map { ("vpt.\($0)", [tokens, encoder.attentionBlockWidth($0)]) }
    }

    /// VPT's initialisation: uniform in ±√(6 / (3·p² + d)) for patch size p and width d
    /// (Jia et al. 2022, vit_prompt/vit.py).
    func initialiseVisualPrompts() {
        let patch = Self.promptableEncoder(segmenter).promptPatchSize
        for entry in arena.entries where entry.name.hasPrefix("vpt.") {
            let bound = Float((6 / Double(3 * patch * patch + entry.shape[1])).squareRoot())
            let values = arena.value(entry.name)
            for i in 0..<values.count { values.data[i] = Float.random(in: -bound...bound, using: &generator) }
        }
    }

    /// The image embedding (64, 64, 256) by the encoder with the current visual prompts;
    /// recorded on `tape` (with the prompts marked) when training.
    public func promptedEmbedding(_ image: PreparedImage, tape: Tape? = nil) -> Tensor {
        precondition(settings.mode == .deep, "promptedEmbedding: not a deep-mode tuner")
        let encoder = Self.promptableEncoder(segmenter)
        let prompts = (0..<encoder.attentionBlockCount).map { parameter("vpt.\($0)", tape: tape) }
        let embedding = encoder(image.input, prompts: prompts, tape: tape)
        return reshaped(embedding, Array(embedding.shape.dropFirst()), tape: tape)
    }

    /// A training variant drawn for one step: a flip or quarter turn (or none) of the image
    /// and its target inside the padded frame, and ±5% contrast and brightness. The jitter
    /// acts on the normalised input (in [0, 1]): LiteMedSAM min–max normalises, which would
    /// undo it on the windowed image. With `withBox` only the jitter: the box stays valid.
    func augmented(_ example: TuningExample) -> TuningExample {
        let turn = settings.withBox ? .identity : Augmentation.geometric.randomElement(using: &generator)!
        let contrast = Float.random(in: 0.95...1.05, using: &generator)
        let brightness = Float.random(in: -0.05...0.05, using: &generator)
        var out = example
        let g = example.geometry, side = g.input.shape[1]
        precondition(example.target.shape[0] == side, "deep augmentation: target \(example.target.shape) for a \(side) frame")
        let pixels = region(g.input, side: side, width: g.resizedWidth, height: g.resizedHeight, channels: 3)
            .map { ($0 - 0.5) * contrast + 0.5 + brightness }
        let image = turn.apply(pixels, width: g.resizedWidth, height: g.resizedHeight, channels: 3)
        out.geometry.input = framed(image.values, width: image.width, height: image.height, side: side, channels: 3, leading: [1])
        (out.geometry.resizedWidth, out.geometry.resizedHeight) = (image.width, image.height)
        let target = turn.apply(region(example.target, side: side, width: g.resizedWidth, height: g.resizedHeight, channels: 1),
                                width: g.resizedWidth, height: g.resizedHeight, channels: 1)
        out.target = framed(target.values, width: target.width, height: target.height, side: side, channels: 1, leading: [])
        return out
    }
}

/// The top-left width × height region of a side × side frame with `channels` values per pixel.
private func region(_ frame: Tensor, side: Int, width: Int, height: Int, channels: Int) -> [Float] {
    var out: [Float] = []
    out.reserveCapacity(width * height * channels)
    for y in 0..<height {
        let row = UnsafeBufferPointer(start: frame.ptr + y * side * channels, count: width * channels)
        out.append(contentsOf: row)
    }
    return out
}

/// `values` (height, width, channels) placed top-left in a zero side × side frame.
private func framed(_ values: [Float], width: Int, height: Int, side: Int, channels: Int, leading: [Int]) -> Tensor {
    let frame = Tensor(zeros: leading + (channels == 1 ? [side, side] : [side, side, channels]))
    for y in 0..<height {
        for i in 0..<(width * channels) { frame.data[y * side * channels + i] = values[y * width * channels + i] }
    }
    return frame
}
