import FuzzSupport

/// `input.nrrd` as an image and as a mask (`readAsImageAndMask`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    readAsImageAndMask("input.nrrd", data, size)
}
