import FuzzSupport
import Models

/// A PyTorch `.pth` (zip + pickle, our restricted unpickler) through `loadCheckpoint`, as
/// `--checkpoint` loads it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: "model.pth", bytes(data, size)) { url in _ = try loadCheckpoint(at: url) }
    return 0
}
