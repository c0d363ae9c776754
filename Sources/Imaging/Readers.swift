import Foundation

/// Reads a mask from a PNG (nonzero is foreground) or a NIfTI label map.
/// `labels`: when given, only these label values are foreground.
public func readMask(at url: URL, labels: Set<Int>? = nil) throws -> Mask {
    throw InputError(file: url.path, reason: "mask reading is not built yet")
}

/// Writes an 8-bit gray PNG atomically (temporary name, then rename).
public func writeGrayPNG(_ pixels: [UInt8], width: Int, height: Int, to url: URL) throws {
    throw InputError(file: url.path, reason: "PNG writing is not built yet")
}
