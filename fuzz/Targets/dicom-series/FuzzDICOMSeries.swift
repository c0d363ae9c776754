import Foundation
import FuzzSupport
import Imaging

/// A DICOM series folder: the input is up to 8 slices separated by `fileSeparator`, read
/// as one folder by `readVolume` (sorting by position and orientation, mixed sizes).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let slices = split(bytes(data, size), limit: 8)
    var files: [String: Data] = [:]
    for (k, slice) in slices.enumerated() { files["series/slice\(k)"] = slice }
    withFiles(files) { folder in _ = try readVolume(at: folder.appendingPathComponent("series")) }
    return 0
}
