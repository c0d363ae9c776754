/// Mask ⇄ closed planar contours, for RTSTRUCT: the tracer that writes them and the
/// even-odd rasteriser that reads them back.
///
/// Coordinates are a slice's pixel coordinates: x along columns, y along rows, pixel
/// (i, j)'s centre at (i, j). Traced vertices lie on pixel edges (half-integers), not on
/// pixel centres: then no pixel centre is ever on a contour, so filling at pixel centres
/// (as TPS and `fillEvenOdd` read contours) gives back exactly the traced pixels, and a
/// one-pixel mask is a square of area 1, not a degenerate point. Contours through the
/// centres of boundary pixels would put those pixels on the edge, where readers disagree,
/// and lose half a pixel all around (Dice about 0.9 on a 20-pixel-wide organ).
public struct PixelContour: Sendable, Equatable {
    /// Corners only, in order, not repeated at the end (the contour is closed).
    public var points: [SIMD2<Double>]

    /// Shoelace area in pixels: positive for the outer boundary of a component, negative for
    /// the boundary of a hole (outer boundaries run clockwise on screen, y pointing down).
    public var signedArea: Double {
        var sum = 0.0
        for i in points.indices {
            let a = points[i], b = points[(i + 1) % points.count]
            sum += a.x * b.y - b.x * a.y
        }
        return sum / 2
    }
}

/// Every boundary of every component of a `width` × `height` mask (nonzero = inside), as
/// closed contours along pixel edges: one per outer boundary and one per hole, so that
/// filling them even-odd gives the mask back. Where two pixels touch only at a corner the
/// contours pass that corner separately (components are 4-connected): islands that touch
/// diagonally get a contour each, not one figure-eight that crosses itself.
public func traceContours(_ mask: [UInt8], width: Int, height: Int) -> [PixelContour] {
    precondition(mask.count == width * height)
    // Directed edges between pixel corners (corner (u, v) is the pixel-coordinate point
    // (u - 0.5, v - 0.5)), each with the inside on its right on screen. Bits: the
    // directions leaving a corner, 0 +x, 1 +y, 2 -x, 3 -y.
    let stride = width + 1
    var leaving = [UInt8](repeating: 0, count: stride * (height + 1))
    func inside(_ x: Int, _ y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x] != 0 }
    for y in 0..<height {
        for x in 0..<width where mask[y * width + x] != 0 {
            if !inside(x, y - 1) { leaving[y * stride + x] |= 1 }                  // top, going +x
            if !inside(x + 1, y) { leaving[y * stride + x + 1] |= 2 }              // right, going +y
            if !inside(x, y + 1) { leaving[(y + 1) * stride + x + 1] |= 4 }        // bottom, going -x
            if !inside(x - 1, y) { leaving[(y + 1) * stride + x] |= 8 }            // left, going -y
        }
    }
    let step = [1, stride, -1, -stride]
    var used = [UInt8](repeating: 0, count: leaving.count)
    var contours: [PixelContour] = []
    for start in leaving.indices where leaving[start] & ~used[start] != 0 {
        for startDirection in 0..<4 where (leaving[start] & ~used[start]) >> startDirection & 1 != 0 {
            var corners: [(corner: Int, direction: Int)] = []
            var corner = start, direction = startDirection
            repeat {
                used[corner] |= UInt8(1 << direction)
                corners.append((corner, direction))
                corner += step[direction]
                // At a corner where two pixels meet diagonally two edges leave: the right
                // turn keeps to the pixel just passed, separating the two.
                let right = (direction + 1) % 4, left = (direction + 3) % 4
                direction = leaving[corner] >> right & 1 != 0 ? right : leaving[corner] >> direction & 1 != 0 ? direction : left
            } while corner != start || direction != startDirection
            // Corners where the direction changes are the polygon's vertices.
            let vertices = corners.indices.filter { corners[$0].direction != corners[($0 + corners.count - 1) % corners.count].direction }
            contours.append(PixelContour(points: vertices.map { i in
                let c = corners[i].corner
                return SIMD2(Double(c % stride) - 0.5, Double(c / stride) - 0.5)
            }))
        }
    }
    return contours
}

/// Fills closed polygons (pixel coordinates, as `PixelContour`) on a `width` × `height`
/// grid by the even-odd rule over all of them together, sampled at pixel centres: a pixel
/// is inside when a ray from its centre crosses the polygons' edges an odd number of
/// times. So a hole's contour cuts the hole out of its outer contour, whichever way either
/// runs. Returns 0/1 per pixel, rows top to bottom.
public func fillEvenOdd(_ polygons: [[SIMD2<Double>]], width: Int, height: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: width * height)
    var edges: [(a: SIMD2<Double>, b: SIMD2<Double>)] = []
    for polygon in polygons where polygon.count >= 3 {
        for i in polygon.indices {
            let a = polygon[i], b = polygon[(i + 1) % polygon.count]
            if a.y != b.y { edges.append(a.y < b.y ? (a, b) : (b, a)) }  // horizontal edges cross no row
        }
    }
    guard !edges.isEmpty else { return out }
    var crossings: [Double] = []
    for y in 0..<height {
        let row = Double(y)
        crossings.removeAll(keepingCapacity: true)
        // Half-open in y (a.y ≤ row < b.y): a vertex on the row counts once, not twice.
        for (a, b) in edges where a.y <= row && row < b.y {
            crossings.append(a.x + (row - a.y) * (b.x - a.x) / (b.y - a.y))
        }
        crossings.sort()
        var k = 0
        while k + 1 < crossings.count {
            // Pixels whose centre x satisfies left ≤ x < right.
            // (Clamped first: a contour far off the image must not overflow Int.)
            let left = min(max(crossings[k], -1), Double(width)), right = min(max(crossings[k + 1], -1), Double(width))
            let first = max(0, Int(left.rounded(.up))), last = min(width - 1, Int(right.rounded(.up)) - 1)
            if first <= last { for x in first...last { out[y * width + x] = 1 } }
            k += 2
        }
    }
    return out
}
