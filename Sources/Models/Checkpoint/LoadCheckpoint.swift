import Foundation
import Tensors

/// The tensors of a checkpoint, by parameter name, as Float32.
///
/// Dispatches on the content, not the extension: a zip is a PyTorch `.pth`/`.pt`
/// (read through a restricted unpickler that executes nothing), otherwise the
/// file must be safetensors. Weights are borrowed from a private memory map
/// where they are stored as little-endian Float32.
public func loadCheckpoint(at url: URL) throws -> [String: Tensor] {
    let file = try MappedFile(url: url)
    if ZipDirectory.isZip(file.bytes) { return try TorchCheckpoint.read(file) }
    if Safetensors.looksLikeSafetensors(file.bytes) { return try Safetensors.read(file) }
    if file.bytes.first == 0x80 {
        throw file.error("legacy (pre-1.6, non-zip) PyTorch format is not supported; re-save it with a current torch.save")
    }
    throw file.error("neither a PyTorch zip checkpoint (.pth/.pt) nor safetensors")
}

/// Checks that `stateDict` holds exactly the `expected` parameters with their shapes.
///
/// Throws one error listing the first few missing, unexpected and mis-shaped keys
/// (each mis-shaped key with both shapes), so one run shows what is wrong.
public func validate(stateDict: [String: Tensor], against expected: [String: [Int]],
                     file: String = "checkpoint", listing limit: Int = 5) throws {
    let missing = expected.keys.filter { stateDict[$0] == nil }.sorted()
    let unexpected = stateDict.keys.filter { expected[$0] == nil }.sorted()
    let misShaped = expected.keys.sorted().compactMap { key -> String? in
        guard let tensor = stateDict[key], tensor.shape != expected[key]! else { return nil }
        return "\(key) (checkpoint \(tensor.shape), model \(expected[key]!))"
    }
    guard !(missing.isEmpty && unexpected.isEmpty && misShaped.isEmpty) else { return }

    func part(_ title: String, _ items: [String]) -> String? {
        guard !items.isEmpty else { return nil }
        let more = items.count > limit ? ", … \(items.count - limit) more" : ""
        return "\(items.count) \(title): " + items.prefix(limit).joined(separator: ", ") + more
    }
    let parts = [part("missing", missing), part("unexpected", unexpected), part("mis-shaped", misShaped)]
    throw CheckpointError(file: file, reason: "does not match the model: " + parts.compactMap { $0 }.joined(separator: "; "))
}
