import Foundation
import Imaging
import Models
import Tensors

/// The mask in the model's padded input frame, at the logits' size: the image's
/// resized region scaled by size / input size (1 for LiteMedSAM, 1/4 for SAM's 1024
/// input), filled by nearest neighbour (PyTorch's `mode="nearest"`: source index
/// ⌊dst · in / out⌋), zero-padded bottom/right to `size`×`size`.
public func paddedTarget(_ mask: Mask, geometry: PreparedImage, size: Int) -> Tensor {
    let target = Tensor(zeros: [size, size])
    let inputSide = geometry.input.shape[1]
    let outW = min(size, max(1, Int((Double(geometry.resizedWidth * size) / Double(inputSide)).rounded())))
    let outH = min(size, max(1, Int((Double(geometry.resizedHeight * size) / Double(inputSide)).rounded())))
    let sx = Double(mask.width) / Double(outW), sy = Double(mask.height) / Double(outH)
    for y in 0 ..< outH {
        let srcY = min(Int(Double(y) * sy), mask.height - 1)
        for x in 0 ..< outW {
            let srcX = min(Int(Double(x) * sx), mask.width - 1)
            target.data[y * size + x] = mask.voxels[srcY * mask.width + srcX] != 0 ? 1 : 0
        }
    }
    return target
}

/// The foreground's bounding box in pixels, or nil for an empty mask.
public func boundingBox(of mask: Mask) -> BoxPrompt? {
    mask.foregroundBounds.map {
        BoxPrompt(x0: Float($0.x), y0: Float($0.y), x1: Float($0.x + $0.width - 1), y1: Float($0.y + $0.height - 1))
    }
}

/// The mean of the structure's bounding boxes over `slices` that show it, in the model's
/// input frame (`inputSize` on the longest side); nil when no slice shows it.
public func meanStructureBox(_ slices: [LabeledSlice], inputSize: Int) -> BoxPrompt? {
    var sum: (x0: Float, y0: Float, x1: Float, y1: Float) = (0, 0, 0, 0), count: Float = 0
    for slice in slices {
        guard let box = boundingBox(of: slice.mask) else { continue }
        let k = Float(inputSize) / Float(max(slice.mask.width, slice.mask.height))
        sum = (sum.x0 + box.x0 * k, sum.y0 + box.y0 * k, sum.x1 + box.x1 * k, sum.y1 + box.y1 * k)
        count += 1
    }
    guard count > 0 else { return nil }
    return BoxPrompt(x0: sum.x0 / count, y0: sum.y0 / count, x1: sum.x1 / count, y1: sum.y1 / count)
}

/// The encoder's input for a windowed image (gray or RGB; other channel counts use the first).
public func prepare(_ image: Image, with segmenter: Segmenter) -> PreparedImage {
    let channels = image.channels >= 3 ? 3 : 1
    let pixels = image.channels == channels ? image.pixels
        : (0 ..< image.width * image.height).flatMap { p in (0 ..< channels).map { image.pixels[p * image.channels + $0] } }
    return segmenter.prepare(pixels: pixels, width: image.width, height: image.height, channels: channels)
}

/// Turns slices into examples, through the embedding cache. `progress(done, total, encoded)`
/// is called after each variant; `encoded` says whether the encoder ran for it.
public func makeExamples(
    _ slices: [LabeledSlice], augmentations: [Augmentation], segmenter: Segmenter, cache: EmbeddingCache,
    progress: (Int, Int, Bool) -> Void = { _, _, _ in }
) throws -> [TuningExample] {
    var examples: [TuningExample] = []
    let total = slices.count * augmentations.count
    let size = lowResolutionSize(segmenter)
    for slice in slices {
        for augmentation in augmentations {
            let variant = augmentation.apply(to: slice)
            let geometry = prepare(variant.image, with: segmenter)
            let (embedding, encoded) = try cache.embedding(of: geometry, using: segmenter)
            var example = TuningExample(
                name: augmentation == .identity ? variant.name : "\(variant.name) (\(augmentation.rawValue))",
                caseName: slice.caseName, embedding: embedding, geometry: geometry,
                target: paddedTarget(variant.mask, geometry: geometry, size: size), mask: variant.mask,
                box: boundingBox(of: variant.mask), sliceIndex: slice.isVolumeSlice ? slice.index : nil, augmentation: augmentation)
            example.sliceSpacing = slice.sliceSpacing
            examples.append(example)
            progress(examples.count, total, encoded)
        }
    }
    return examples
}

/// Deep-mode examples: no embedding (the encoder runs with the current prompts at every
/// step) and no precomputed variants (each step draws its own: PromptTuner+Deep.swift).
public func makeDeepExamples(_ slices: [LabeledSlice], segmenter: Segmenter) -> [TuningExample] {
    let size = lowResolutionSize(segmenter)
    return slices.map { slice in
        let geometry = prepare(slice.image, with: segmenter)
        var example = TuningExample(name: slice.name, caseName: slice.caseName, embedding: nil, geometry: geometry,
                                    target: paddedTarget(slice.mask, geometry: geometry, size: size), mask: slice.mask,
                                    box: boundingBox(of: slice.mask), sliceIndex: slice.isVolumeSlice ? slice.index : nil)
        example.sliceSpacing = slice.sliceSpacing
        return example
    }
}

/// The structure's mean pixel count over the targets that hold it (the Dice smoothing of
/// an empty target: SegmentationLoss); ε when none does.
public func meanStructurePixels(_ examples: [TuningExample]) -> Double {
    let counts = examples.map { $0.target.data.reduce(0, +) }.filter { $0 > 0 }
    return counts.isEmpty ? SegmentationLoss.smooth : Double(counts.reduce(0, +)) / Double(counts.count)
}

/// Side of the decoder's low-resolution logits: 4× the embedding grid (256 for every SAM).
public func lowResolutionSize(_ segmenter: Segmenter) -> Int {
    4 * segmenter.model.promptEncoder.imageEmbeddingSize
}
