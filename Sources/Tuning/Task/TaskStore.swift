import Foundation
import Imaging
import Models
import Tensors

/// The tasks folder: `<root>/<name>/task.json` and `prompts.safetensors` (what
/// `predict` needs), plus `training-state.safetensors` (the last epoch's prompts
/// and optimiser moments, for `fit --resume`). Every file is written atomically.
public struct TaskStore: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public func folder(_ name: String) -> URL { root.appendingPathComponent(name, isDirectory: true) }
    func manifestURL(_ name: String) -> URL { folder(name).appendingPathComponent("task.json") }
    func promptsURL(_ name: String) -> URL { folder(name).appendingPathComponent("prompts.safetensors") }
    func stateURL(_ name: String) -> URL { folder(name).appendingPathComponent("training-state.safetensors") }

    /// Task names become folder names: letters, digits, `-`, `_` and `.`, not starting with `.`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && name.count <= 100
            && name.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) }
    }

    public func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: manifestURL(name).path)
    }

    /// Writes the best prompts first, then the manifest that describes them, so a
    /// reader never sees a manifest newer than its prompts.
    public func save(_ manifest: TaskManifest, prompts: [String: Tensor]) throws {
        try AtomicFiles.createFolder(folder(manifest.name))
        try writeSafetensors(prompts, metadata: ["task": manifest.name, "base_model_sha256": manifest.baseModel.sha256],
                             to: promptsURL(manifest.name))
        do { try manifest.encoded().write(to: manifestURL(manifest.name), options: .atomic) } catch {
            throw InputError(file: manifestURL(manifest.name).path, reason: "cannot write (\(systemReason(error)))")
        }
    }

    public func saveTrainingState(_ name: String, values: Tensor, optimiser: AdamW) throws {
        try AtomicFiles.createFolder(folder(name))
        let tensors = [
            "values": values,
            "adam_first_moment": Tensor(shape: [optimiser.firstMoment.count], values: optimiser.firstMoment),
            "adam_second_moment": Tensor(shape: [optimiser.secondMoment.count], values: optimiser.secondMoment),
        ]
        try writeSafetensors(tensors, metadata: ["adam_step": String(optimiser.step)], to: stateURL(name))
    }

    /// The manifest and prompts of task `name`.
    public func load(_ name: String) throws -> (manifest: TaskManifest, prompts: [String: Tensor]) {
        (try loadManifest(name), try loadPrompts(name))
    }

    /// Task `name`'s `task.json`, with a clear error when there is no such task.
    public func loadManifest(_ name: String) throws -> TaskManifest {
        let manifestURL = manifestURL(name)
        guard FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw InputError(file: folder(name).path, reason: "no task named '\(name)' here (expected \(manifestURL.lastPathComponent); train it with `segtune fit --task \(name)`)")
        }
        return try TaskManifest.read(from: manifestURL)
    }

    /// Task `name`'s prompts, by name.
    public func loadPrompts(_ name: String) throws -> [String: Tensor] {
        do {
            return try readSafetensors(at: promptsURL(name))
        } catch let error as CheckpointError {
            throw InputError(file: error.file, reason: error.reason)
        }
    }

    /// The last epoch's prompts and optimiser, or nil when none were saved.
    public func loadTrainingState(_ name: String) throws -> (values: Tensor, optimiser: AdamW)? {
        let url = stateURL(name)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let tensors = try readSafetensors(at: url)
        let metadata = try readSafetensorsMetadata(at: url)
        guard let values = tensors["values"], let m = tensors["adam_first_moment"], let v = tensors["adam_second_moment"],
              let step = metadata["adam_step"].flatMap(Int.init), m.count == values.count, v.count == values.count
        else { throw InputError(file: url.path, reason: "incomplete training state") }
        return (values.copy(), AdamW(step: step, firstMoment: m.values, secondMoment: v.values))
    }

    /// The arena's named views as tensors for `prompts.safetensors`.
    public static func namedPrompts(_ arena: ParameterArena, values: Tensor) -> [String: Tensor] {
        var result: [String: Tensor] = [:]
        for entry in arena.entries {
            let view = UnsafeMutableBufferPointer(rebasing: values.data[entry.offset ..< entry.offset + entry.count])
            result[entry.name] = Tensor(shape: entry.shape, borrowing: view, owner: values)
        }
        return result
    }
}
