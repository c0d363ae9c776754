import Imaging

/// The slice where a prediction is most wrong, drawn for a person: agreement gray,
/// false positives orange, false negatives blue (apart for the common red–green
/// colour blindness), background black.
public struct ErrorSlice: Sendable {
    /// 0-based slice index in canonical order (0 for a 2-D case).
    public var index: Int
    public var falsePositives: Int
    public var falseNegatives: Int
    /// The shown region's top-left pixel in the slice, and its size.
    public var origin: (x: Int, y: Int)
    public var width: Int
    public var height: Int
    /// Interleaved RGB.
    public var rgb: [UInt8]

    public static let agreement: [UInt8] = [170, 170, 170]
    public static let falsePositive: [UInt8] = [255, 140, 0]
    public static let falseNegative: [UInt8] = [40, 120, 255]
}

/// The slice with the most false voxels (false positives + false negatives), nil when
/// the prediction has none. Both masks share one size (the caller checked).
public func worstErrorSlice(prediction: Mask, reference: Mask) -> ErrorSlice? {
    let plane = prediction.width * prediction.height
    var worst: (index: Int, fp: Int, fn: Int)?
    for z in 0..<prediction.depth {
        var fp = 0, fn = 0
        for i in (z * plane)..<((z + 1) * plane) {
            let p = prediction.voxels[i] != 0, r = reference.voxels[i] != 0
            if p && !r { fp += 1 } else if r && !p { fn += 1 }
        }
        if fp + fn > 0 && fp + fn > (worst.map { $0.fp + $0.fn } ?? 0) { worst = (z, fp, fn) }
    }
    guard let worst else { return nil }
    // Shown around what either mask marks (a small structure would be a dot on the whole
    // slice): that box, grown by half its size and to at least 64 pixels, inside the slice.
    let (w, h) = (prediction.width, prediction.height)
    var (x0, y0, x1, y1) = (w, h, -1, -1)
    for y in 0..<h {
        for x in 0..<w where prediction.voxels[worst.index * plane + y * w + x] != 0 || reference.voxels[worst.index * plane + y * w + x] != 0 {
            (x0, y0, x1, y1) = (min(x0, x), min(y0, y), max(x1, x), max(y1, y))
        }
    }
    let side = min(max(64, (max(x1 - x0, y1 - y0) + 1) * 3 / 2), max(w, h))
    let cropWidth = min(side, w), cropHeight = min(side, h)
    let left = min(max(0, (x0 + x1) / 2 - cropWidth / 2), w - cropWidth)
    let top = min(max(0, (y0 + y1) / 2 - cropHeight / 2), h - cropHeight)
    var rgb = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
    for y in 0..<cropHeight {
        for x in 0..<cropWidth {
            let i = worst.index * plane + (top + y) * w + left + x
            let p = prediction.voxels[i] != 0, r = reference.voxels[i] != 0
            let colour = p && r ? ErrorSlice.agreement : p ? ErrorSlice.falsePositive : r ? ErrorSlice.falseNegative : nil
            if let colour { rgb.replaceSubrange((3 * (y * cropWidth + x))..<(3 * (y * cropWidth + x) + 3), with: colour) }
        }
    }
    return ErrorSlice(index: worst.index, falsePositives: worst.fp, falseNegatives: worst.fn,
                      origin: (left, top), width: cropWidth, height: cropHeight, rgb: rgb)
}
