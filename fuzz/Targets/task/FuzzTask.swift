import Foundation
import FuzzSupport
import Tuning

/// A task folder as `predict --task` loads it: the input is `task.json`, then
/// `fileSeparator`, then `prompts.safetensors`, whose atlas is read as predict reads it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let parts = split(bytes(data, size), limit: 2)
    var files = ["tasks/t/task.json": parts[0]]
    if parts.count == 2 { files["tasks/t/prompts.safetensors"] = parts[1] }
    withFiles(files) { folder in
        let (_, prompts) = try TaskStore(root: folder.appendingPathComponent("tasks")).load("t")
        _ = try SliceAtlas.stored(in: prompts)
    }
    return 0
}
