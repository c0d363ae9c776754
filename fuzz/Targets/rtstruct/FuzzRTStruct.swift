import Foundation
import FuzzSupport
import Imaging

/// An RTSTRUCT as `score --series` reads it: its contours filled on the fixed four-slice
/// series the seed references (the dicom-seg target's), so contours that match its
/// instances reach the placement and the even-odd fill.
let series = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../seeds/dicom-seg-series").standardizedFileURL

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    withFile(named: "case.rtstruct.dcm", bytes(data, size)) { url in _ = try readRTStructMask(at: url, series: series, roi: nil) }
    return 0
}
