/// Keeps the largest connected component of the foreground: 4-connected in 2-D,
/// 6-connected in 3-D (face neighbours, as scipy.ndimage.label's default). Ties
/// keep the component met first in x-fastest order. An empty mask stays empty.
public func largestConnectedComponent(of mask: Mask) -> Mask {
    let (w, h, d) = (mask.width, mask.height, mask.depth)
    var labels = [Int32](repeating: 0, count: mask.voxels.count)
    var stack: [Int] = []
    var best = (label: Int32(0), size: 0)
    var next: Int32 = 0
    for start in 0 ..< mask.voxels.count where mask.voxels[start] != 0 && labels[start] == 0 {
        next += 1
        labels[start] = next
        stack.append(start)
        var size = 0
        while let i = stack.popLast() {
            size += 1
            let x = i % w, y = (i / w) % h, z = i / (w * h)
            for (dx, dy, dz) in [(-1, 0, 0), (1, 0, 0), (0, -1, 0), (0, 1, 0), (0, 0, -1), (0, 0, 1)] {
                let (nx, ny, nz) = (x + dx, y + dy, z + dz)
                guard nx >= 0, nx < w, ny >= 0, ny < h, nz >= 0, nz < d else { continue }
                let j = (nz * h + ny) * w + nx
                if mask.voxels[j] != 0 && labels[j] == 0 {
                    labels[j] = next
                    stack.append(j)
                }
            }
        }
        if size > best.size { best = (next, size) }
    }
    var result = mask
    result.voxels = labels.map { $0 != 0 && $0 == best.label ? 1 : 0 }
    return result
}

/// An 8-bit RGB rendering of a windowed gray image (values in [0, 1]) with the
/// mask's outline drawn in `colour`: outline pixels are foreground pixels with a
/// background 4-neighbour (or on the image edge).
public func outlineOverlay(image: Image, mask: Mask, colour: (UInt8, UInt8, UInt8) = (255, 200, 0)) -> [UInt8] {
    precondition(image.width == mask.width && image.height == mask.height, "overlay: image and mask differ in size")
    let (w, h) = (image.width, image.height)
    var rgb = [UInt8](repeating: 0, count: w * h * 3)
    for y in 0 ..< h {
        for x in 0 ..< w {
            let i = y * w + x
            let inside = mask.voxels[i] != 0
            let edge = inside && (x == 0 || y == 0 || x == w - 1 || y == h - 1
                || mask.voxels[i - 1] == 0 || mask.voxels[i + 1] == 0 || mask.voxels[i - w] == 0 || mask.voxels[i + w] == 0)
            if edge {
                (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]) = colour
                continue
            }
            for c in 0 ..< 3 {
                let value = image.pixels[i * image.channels + (image.channels >= 3 ? c : 0)]
                rgb[3 * i + c] = UInt8((min(max(value, 0), 1) * 255).rounded())
            }
        }
    }
    return rgb
}
