import Imaging
import Models

/// Crop-and-zoom for a given box: a small structure is a few pixels wide at the model's
/// 256-pixel input (the right adrenal gland on a 500 mm slice: about 12), and the mask decoder
/// works at a quarter of that. With zoom on, the box stage runs on a square crop around
/// the box, resized to the model's input like any image, and the mask is put back on the
/// slice: one encoder pass for the crop instead of the whole slice.
///
/// Off by default. Measured with a hand box per slice on another patient's CT series
/// (docs/tuning.md, "Crop-and-zoom"): it lifts the adrenal gland 0.448 → 0.627 and the
/// inferior vena cava 0.630 → 0.735, but costs the aorta 0.932 → 0.873, the spinal cord
/// 0.898 → 0.820 and the stomach 0.893 → 0.801; box size alone cannot tell those apart.
public enum ZoomMode: String, Sendable, CaseIterable {
    case off
    case on
}

public enum BoxZoom {
    /// The crop's side as a multiple of the box's longest side: the box in the middle and
    /// half a box of context on every side. Measured 2, 3 and 5: 2 was best on the small
    /// structures and least bad on the others.
    public static let context = 2.0
    /// Crops never get smaller than this (pixels): below it the image is only blur.
    public static let minimumSide = 48
}

/// The square region (inside the slice) the box stage sees for `box`, or nil for the
/// whole slice: zoom off, or a box too big for a crop to hold with its context.
public func zoomRegion(for box: BoxPrompt, width: Int, height: Int, mode: ZoomMode) -> PixelRegion? {
    guard mode == .on else { return nil }
    let boxSide = Double(max(box.x1 - box.x0, box.y1 - box.y0)) + 1
    let wanted = Int((boxSide * BoxZoom.context).rounded(.up))
    let side = min(max(wanted, BoxZoom.minimumSide), width, height)
    guard side < max(width, height), Double(side) >= boxSide else { return nil }
    // Centred on the box, then moved to lie inside the slice.
    func start(_ centre: Double, _ limit: Int) -> Int { min(max(Int((centre - Double(side) / 2).rounded()), 0), limit - side) }
    return PixelRegion(x: start(Double(box.x0 + box.x1) / 2, width), y: start(Double(box.y0 + box.y1) / 2, height),
                       width: side, height: side)
}
