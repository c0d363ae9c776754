import Foundation
import FuzzSupport
import Imaging

/// A DICOM SEG as `score --series` reads it: placed on a fixed four-slice series (the one
/// the seed SEGs reference), so frames that match its instances reach the placement code.
let series = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../seeds/dicom-seg-series").standardizedFileURL

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: "case.seg.dcm", bytes(data, size)) { url in _ = try readSegmentationMask(at: url, series: series) }
    return 0
}
