/// Exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher,
/// "Distance Transforms of Sampled Functions", Theory of Computing 8, 2012):
/// one 1-D lower-envelope pass per axis, so the cost is linear in the voxel
/// count instead of quadratic in the number of surface points.
///
/// `grid` holds 0 at sites and `.infinity` elsewhere, x fastest, then y, then z;
/// on return each entry is the squared distance to the nearest site, with axis
/// steps of `spacing` (anisotropic voxels are exact, not rescaled). Entries stay
/// infinite when there is no site at all.
public func squaredDistanceTransform(_ grid: inout [Double], size: (x: Int, y: Int, z: Int), spacing: [Double]) {
    precondition(grid.count == size.x * size.y * size.z, "grid does not match its size")
    precondition(spacing.count >= (size.z > 1 ? 3 : 2), "one spacing value per axis")
    let longest = max(size.x, size.y, size.z)
    let scratch = UnsafeMutableBufferPointer<Double>.allocate(capacity: 3 * longest + 1)
    let vertices = UnsafeMutableBufferPointer<Int>.allocate(capacity: longest)
    defer { scratch.deallocate(); vertices.deallocate() }
    let line = scratch.baseAddress!, out = line + longest, bounds = out + longest

    let plane = size.x * size.y
    // (length, stride, step, number of lines, first index of line i)
    let axes: [(n: Int, stride: Int, step: Double, count: Int, start: (Int) -> Int)] = [
        (size.x, 1, spacing[0], size.y * size.z, { $0 * size.x }),
        (size.y, size.x, spacing[1], size.x * size.z, { ($0 / size.x) * plane + $0 % size.x }),
        (size.z, plane, size.z > 1 ? spacing[2] : 1, plane, { $0 }),
    ]
    grid.withUnsafeMutableBufferPointer { g in
        let g = g.baseAddress!
        for axis in axes where axis.n > 1 {
            for l in 0..<axis.count {
                let p = g + axis.start(l)
                var anySite = false
                for i in 0..<axis.n {
                    line[i] = p[i * axis.stride]
                    anySite = anySite || line[i].isFinite
                }
                guard anySite else { continue }
                lowerEnvelope(line, axis.n, axis.step, out, vertices.baseAddress!, bounds)
                for i in 0..<axis.n { p[i * axis.stride] = out[i] }
            }
        }
    }
}

/// d(q) = min over p of (step·(q − p))² + f(p), for one line with at least one finite f.
/// Infinite entries are not parabolas at all, so they are skipped rather than
/// intersected (∞ − ∞ would poison the envelope with NaN).
private func lowerEnvelope(_ f: UnsafePointer<Double>, _ n: Int, _ step: Double,
                           _ d: UnsafeMutablePointer<Double>, _ v: UnsafeMutablePointer<Int>,
                           _ z: UnsafeMutablePointer<Double>) {
    var k = -1
    for q in 0..<n where f[q].isFinite {
        let xq = Double(q) * step
        if k < 0 {
            k = 0; v[0] = q; z[0] = -.infinity; z[1] = .infinity
            continue
        }
        var s: Double
        while true {
            let p = v[k], xp = Double(p) * step
            s = ((f[q] + xq * xq) - (f[p] + xp * xp)) / (2 * (xq - xp))
            if s > z[k] { break }
            k -= 1  // z[0] is −∞, so the loop always stops at k = 0
        }
        k += 1
        v[k] = q; z[k] = s; z[k + 1] = .infinity
    }
    k = 0
    for q in 0..<n {
        let xq = Double(q) * step
        while z[k + 1] < xq { k += 1 }
        let dx = xq - Double(v[k]) * step
        d[q] = dx * dx + f[v[k]]
    }
}
