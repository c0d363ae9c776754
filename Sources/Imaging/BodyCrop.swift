/// Field-of-view normalisation: each slice is cropped to the body before the model sees it.
///
/// Two scanners frame the same patient differently (a 366 mm field of view at one site,
/// 500 mm with the table and air at another), so an organ sits at another place and
/// size in the model's 256×256 frame. Learned prompt tokens act much like positions in
/// that frame, and on another patient they point beside the organ. Cropped to the
/// body's bounding box, the organs of TotalSegmentator's two test patients sit within
/// a few hundredths of the frame of each other; uncropped they are 0.10–0.19 apart
/// (docs/tuning.md, "Field of view").
public enum FieldOfView: String, Codable, Sendable, CaseIterable {
    /// The slice as stored.
    case none
    /// The bounding box of the body (the largest bright region), plus a small margin.
    case body
}

/// A rectangle of a slice in pixels: columns x ..< x + width, rows y ..< y + height.
public struct PixelRegion: Sendable, Equatable {
    public var x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        (self.x, self.y, self.width, self.height) = (x, y, width, height)
    }

    public static func whole(width: Int, height: Int) -> PixelRegion { PixelRegion(x: 0, y: 0, width: width, height: height) }

    /// The smallest region holding both.
    public func union(_ other: PixelRegion) -> PixelRegion {
        let (x0, y0) = (min(x, other.x), min(y, other.y))
        let (x1, y1) = (max(x + width, other.x + other.width), max(y + height, other.y + other.height))
        return PixelRegion(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }
}

/// Tuning constants of the body detection, in one place.
enum BodyDetection {
    /// Windowed values above this are tissue (CT's abdomen window: above about −140 HU,
    /// so fat counts and air and lung do not; MR and PNG backgrounds sit near 0).
    static let threshold: Float = 0.05
    /// Erosions before the largest component is taken: the patient table and blankets
    /// touch the body by thin bridges, which this breaks. As a fraction of the longest side.
    static let erosion = 1.0 / 128
    /// Added on each side of the body's box, as a fraction of the longest side.
    static let margin = 0.02
    /// A body smaller than this fraction of the slice is taken as no body (an empty slice).
    static let minimumArea = 0.02
}

/// The region of one windowed slice (values in [0, 1]) that holds the body: the bounding
/// box of its largest bright connected region after a small erosion, grown back by the
/// erosion and a margin. The whole slice when no body is found.
public func bodyRegion(of image: Image, fieldOfView: FieldOfView) -> PixelRegion {
    (fieldOfView == .body ? detectedBody(in: image) : nil) ?? .whole(width: image.width, height: image.height)
}

/// One region for all slices of a volume: the union of their body regions, so that the
/// slices keep one size and a structure keeps its place from slice to slice (the
/// cascade's 3-D component and interpolated boxes need that). Slices without a body add nothing.
public func bodyRegion(ofVolume images: [Image], fieldOfView: FieldOfView) -> PixelRegion {
    guard let first = images.first else { return .whole(width: 0, height: 0) }
    let bodies = fieldOfView == .body ? images.compactMap(detectedBody) : []
    guard let firstBody = bodies.first else { return .whole(width: first.width, height: first.height) }
    return bodies.dropFirst().reduce(firstBody) { $0.union($1) }
}

/// The body's region on one slice, or nil when it has none (nothing bright and large enough).
private func detectedBody(in image: Image) -> PixelRegion? {
    let (w, h) = (image.width, image.height)
    guard w > 8, h > 8 else { return nil }
    var tissue = [UInt8](repeating: 0, count: w * h)
    for i in 0 ..< w * h where image.pixels[i * image.channels] > BodyDetection.threshold { tissue[i] = 1 }
    let steps = max(1, Int((Double(max(w, h)) * BodyDetection.erosion).rounded()))
    for _ in 0 ..< steps { tissue = eroded(tissue, width: w, height: h) }
    let body = largestConnectedComponent(of: Mask(width: w, height: h, voxels: tissue))
    guard Double(body.foregroundCount) >= BodyDetection.minimumArea * Double(w * h), let box = body.foregroundBounds else { return nil }
    let grow = steps + Int((Double(max(w, h)) * BodyDetection.margin).rounded())
    let (x0, y0) = (max(0, box.x - grow), max(0, box.y - grow))
    let (x1, y1) = (min(w - 1, box.x + box.width - 1 + grow), min(h - 1, box.y + box.height - 1 + grow))
    return PixelRegion(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
}

/// One 3×3 erosion (a pixel stays only if its 8 neighbours are set; the edge erodes).
private func eroded(_ mask: [UInt8], width w: Int, height h: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: w * h)
    for y in 1 ..< h - 1 {
        for x in 1 ..< w - 1 where mask[y * w + x] != 0 {
            var all = true
            for dy in -1 ... 1 where all { for dx in -1 ... 1 where mask[(y + dy) * w + x + dx] == 0 { all = false } }
            if all { out[y * w + x] = 1 }
        }
    }
    return out
}

extension Image {
    /// The pixels of `region` (the file's attributes kept).
    public func cropped(to region: PixelRegion) -> Image {
        if region == .whole(width: width, height: height) { return self }
        var pixels = [Float](repeating: 0, count: region.width * region.height * channels)
        for row in 0 ..< region.height {
            let source = ((region.y + row) * width + region.x) * channels
            let target = row * region.width * channels
            pixels.replaceSubrange(target ..< target + region.width * channels,
                                   with: self.pixels[source ..< source + region.width * channels])
        }
        var crop = self
        (crop.width, crop.height, crop.pixels) = (region.width, region.height, pixels)
        return crop
    }
}

extension Mask {
    /// The bounding box of a 2-D mask's foreground, or nil when it is empty.
    public var foregroundBounds: PixelRegion? {
        var (x0, y0, x1, y1) = (Int.max, Int.max, -1, -1)
        for y in 0 ..< height {
            for x in 0 ..< width where voxels[y * width + x] != 0 {
                x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
            }
        }
        return x1 < 0 ? nil : PixelRegion(x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1)
    }

    /// The voxels of `region` of a 2-D mask.
    public func cropped(to region: PixelRegion) -> Mask {
        if region == .whole(width: width, height: height) { return self }
        var voxels = [UInt8](repeating: 0, count: region.width * region.height)
        for row in 0 ..< region.height {
            let source = (region.y + row) * width + region.x
            voxels.replaceSubrange(row * region.width ..< (row + 1) * region.width, with: self.voxels[source ..< source + region.width])
        }
        return Mask(width: region.width, height: region.height, voxels: voxels, spacing: spacing)
    }

    /// A 2-D mask of `region` put back on a `width`×`height` slice (background elsewhere).
    public func placed(in region: PixelRegion, width: Int, height: Int) -> Mask {
        precondition(self.width == region.width && self.height == region.height, "mask does not match its region")
        if region == .whole(width: width, height: height) { return self }
        var voxels = [UInt8](repeating: 0, count: width * height)
        for row in 0 ..< region.height {
            let target = (region.y + row) * width + region.x
            voxels.replaceSubrange(target ..< target + region.width, with: self.voxels[row * region.width ..< (row + 1) * region.width])
        }
        return Mask(width: width, height: height, voxels: voxels, spacing: spacing)
    }
}
