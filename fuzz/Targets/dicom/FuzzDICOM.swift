import FuzzSupport
import Imaging

/// A DICOM file in any transfer syntax, through `readVolume` as `predict` and `inspect`
/// read it (DCMTK's codecs, and OpenJPEG for JPEG 2000 and HTJ2K).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: "input.dcm", bytes(data, size)) { url in _ = try readVolume(at: url) }
    return 0
}
