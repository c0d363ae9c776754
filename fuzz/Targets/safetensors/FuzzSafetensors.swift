import FuzzSupport
import Models

/// A `.safetensors` checkpoint through `loadCheckpoint`, and its metadata as task folders
/// read it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: "model.safetensors", bytes(data, size)) { url in
        _ = try? readSafetensorsMetadata(at: url)
        _ = try loadCheckpoint(at: url)
    }
    return 0
}
