import Metrics
import Testing

/// The separable transform against the definition (every site tried), on random
/// sparse grids with anisotropic spacing: 2-D, 3-D, a single column, and grids
/// with no site at all.
@Test("distance transform equals the nearest-site search", arguments: [
    (17, 11, 1, [0.7, 1.3, 1.0]), (9, 8, 6, [0.8, 0.8, 2.5]), (1, 13, 1, [1.0, 2.0, 1.0]), (6, 5, 4, [1.0, 1.0, 1.0]),
])
func distanceTransformMatchesDefinition(nx: Int, ny: Int, nz: Int, spacing: [Double]) {
    var rng = SystemRandomNumberGenerator()
    for density in [0.0, 0.02, 0.3] {
        var grid = (0..<nx * ny * nz).map { _ in Double.random(in: 0..<1, using: &rng) < density ? 0 : Double.infinity }
        let sites = grid.indices.filter { grid[$0] == 0 }
        squaredDistanceTransform(&grid, size: (nx, ny, nz), spacing: spacing)
        for i in grid.indices {
            let (x, y, z) = (i % nx, (i / nx) % ny, i / (nx * ny))
            let want = sites.map { s -> Double in
                let dx = Double(s % nx - x) * spacing[0], dy = Double((s / nx) % ny - y) * spacing[1]
                let dz = Double(s / (nx * ny) - z) * spacing[2]
                return dx * dx + dy * dy + dz * dz
            }.min() ?? .infinity
            #expect(want.isInfinite ? grid[i].isInfinite : abs(grid[i] - want) <= 1e-9 * max(1, want),
                    "voxel \(x),\(y),\(z): \(grid[i]) vs \(want)")
        }
    }
}
