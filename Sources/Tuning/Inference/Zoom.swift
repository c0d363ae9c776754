import Imaging
import Models

/// Crop-and-zoom for a given box: a small structure is a few pixels wide at the model's
/// 256-pixel input (the right adrenal gland on a 500 mm slice: about 12), and the mask decoder
/// works at a quarter of that. Where the box is small against the slice, the box stage also
/// runs on a square crop around it, resized to the model's input like any image, and the
/// crop's mask is put back on the slice and united with the whole slice's: one more encoder
/// pass per slice, for the crop.
///
/// Why the union: measured with a hand box per slice on another patient's CT series
/// (docs/tuning.md, "Crop-and-zoom"), the crop alone lifts small soft-tissue structures (the
/// adrenal gland 0.448 → 0.627) but loses part of the aorta (0.932 → 0.873) and the spinal
/// cord, and box size cannot tell those apart. The union keeps both: adrenal gland 0.687,
/// vena cava 0.809, aorta 0.934, and no structure measured lost more than 0.003.
public enum ZoomMode: String, Sendable, CaseIterable {
    /// The box on the whole slice only.
    case off
    /// The union of the box on the whole slice and on the crop (the default).
    case on
    /// The crop alone: one encoder pass per slice, the crop's instead of the slice's.
    case crop
}

public enum BoxZoom {
    /// The crop's side as a multiple of the box's longest side: the box in the middle and
    /// half a box of context on every side. Measured 2, 3 and 5: 2 was best on the small
    /// structures and least bad on the others.
    public static let context = 2.0
    /// Crops never get smaller than this (pixels): below it the image is only blur.
    public static let minimumSide = 48
}

/// The square region (inside the slice) the box stage also sees for `box`, or nil for the
/// whole slice alone: zoom off, or a crop (the box with its context) over half the slice's side.
public func zoomRegion(for box: BoxPrompt, width: Int, height: Int, mode: ZoomMode) -> PixelRegion? {
    guard mode != .off else { return nil }
    let boxSide = Double(max(box.x1 - box.x0, box.y1 - box.y0)) + 1
    let wanted = Int((boxSide * BoxZoom.context).rounded(.up))
    let side = min(max(wanted, BoxZoom.minimumSide), width, height)
    // A crop over half the slice's side would enlarge less than 2×: not worth its encoder pass.
    guard 2 * side <= max(width, height), Double(side) >= boxSide else { return nil }
    // Centred on the box, then moved to lie inside the slice.
    func start(_ centre: Double, _ limit: Int) -> Int { min(max(Int((centre - Double(side) / 2).rounded()), 0), limit - side) }
    return PixelRegion(x: start(Double(box.x0 + box.x1) / 2, width), y: start(Double(box.y0 + box.y1) / 2, height),
                       width: side, height: side)
}
