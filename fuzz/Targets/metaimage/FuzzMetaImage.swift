import FuzzSupport
import Imaging

/// `input.mha` read as an image (`predict`, `fit`) and as a mask and label map (`score`,
/// `fit`'s masks/), through the functions the CLI calls.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: "input.mha", bytes(data, size)) { url in
        _ = try? readVolume(at: url)
        _ = try readMask(at: url, labels: [1, 5])
    }
    return 0
}
