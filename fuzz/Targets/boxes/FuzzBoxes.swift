import Foundation
import FuzzSupport
import Models

/// The `--boxes` CSV through `readBoxTable`, which `predict --boxes` calls.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: "boxes.csv", bytes(data, size)) { url in _ = try readBoxTable(at: url) }
    return 0
}
