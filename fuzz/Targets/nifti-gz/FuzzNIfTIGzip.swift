import FuzzSupport

/// `input.nii.gz` as an image and as a mask (`readAsImageAndMask`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    readAsImageAndMask("input.nii.gz", data, size)
}
