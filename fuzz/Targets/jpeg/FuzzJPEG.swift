import FuzzSupport
import Imaging

/// A JPEG image, through `readVolume` as `predict` reads it.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: "input.jpg", bytes(data, size)) { url in _ = try readVolume(at: url) }
    return 0
}
