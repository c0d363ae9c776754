import Dispatch
import Foundation
import Imaging

/// The part of a grid that holds every foreground voxel of two masks: distances
/// between surface voxels do not depend on the grid around them, so the distance
/// transforms run over this box only.
struct Box {
    var x0 = 0, y0 = 0, z0 = 0
    var nx = 0, ny = 0, nz = 0
    var count: Int { nx * ny * nz }

    /// The bounding box of the union of two equally sized masks; nil when both are empty.
    init?(unionOf a: Mask, _ b: Mask) {
        var lo = (x: Int.max, y: Int.max, z: Int.max), hi = (x: -1, y: -1, z: -1)
        let w = a.width, h = a.height
        a.voxels.withUnsafeBufferPointer { pa in
            b.voxels.withUnsafeBufferPointer { pb in
                for z in 0..<a.depth {
                    for y in 0..<h {
                        let row = (z * h + y) * w
                        var first = -1, last = -1
                        for x in 0..<w where pa[row + x] != 0 || pb[row + x] != 0 {
                            if first < 0 { first = x }
                            last = x
                        }
                        guard first >= 0 else { continue }
                        lo = (min(lo.x, first), min(lo.y, y), min(lo.z, z))
                        hi = (max(hi.x, last), max(hi.y, y), max(hi.z, z))
                    }
                }
            }
        }
        guard hi.x >= 0 else { return nil }
        (x0, y0, z0) = lo
        (nx, ny, nz) = (hi.x - lo.x + 1, hi.y - lo.y + 1, hi.z - lo.z + 1)
    }

    init(all mask: Mask) {
        (nx, ny, nz) = (mask.width, mask.height, mask.depth)
    }
}

/// Surface voxels as MONAI's `get_mask_edges` finds them without subvoxels
/// (`mask ^ scipy.ndimage.binary_erosion(mask)`): foreground voxels with at least
/// one face neighbour (4 in 2-D, 6 in 3-D) that is background or outside the image.
/// A volume of depth 1 is 2-D: its voxels have no z neighbours.
/// Returned over `box`, x fastest.
func surfaceVoxels(of mask: Mask, in box: Box) -> [Bool] {
    let w = mask.width, h = mask.height, d = mask.depth
    var surface = [Bool](repeating: false, count: box.count)
    mask.voxels.withUnsafeBufferPointer { v in
        func fg(_ x: Int, _ y: Int, _ z: Int) -> Bool {
            x >= 0 && x < w && y >= 0 && y < h && z >= 0 && z < d && v[(z * h + y) * w + x] != 0
        }
        let threeD = d > 1
        for bz in 0..<box.nz {
            let z = box.z0 + bz
            for by in 0..<box.ny {
                let y = box.y0 + by
                for bx in 0..<box.nx {
                    let x = box.x0 + bx
                    guard v[(z * h + y) * w + x] != 0 else { continue }
                    let interior = fg(x - 1, y, z) && fg(x + 1, y, z) && fg(x, y - 1, z) && fg(x, y + 1, z)
                        && (!threeD || (fg(x, y, z - 1) && fg(x, y, z + 1)))
                    surface[(bz * box.ny + by) * box.nx + bx] = !interior
                }
            }
        }
    }
    return surface
}

/// The surface voxels of a whole mask (see `surfaceVoxels(of:in:)`), x fastest.
public func surfaceVoxels(of mask: Mask) -> [Bool] {
    surfaceVoxels(of: mask, in: Box(all: mask))
}

/// Directed surface distances between two masks, in the units of `spacing`.
public struct SurfaceDistances: Sendable {
    /// One entry per prediction surface voxel: the distance to the nearest
    /// reference surface voxel, +∞ when the reference is empty.
    public var predictionToReference: [Double]
    /// One entry per reference surface voxel, likewise.
    public var referenceToPrediction: [Double]

    /// Computes both directions with two exact distance transforms.
    /// `spacing`: x, y (and z for a 3-D mask) voxel sizes.
    public init(prediction: Mask, reference: Mask, spacing: [Double]) {
        precondition(prediction.width == reference.width && prediction.height == reference.height
                     && prediction.depth == reference.depth, "masks differ in size")
        guard let box = Box(unionOf: prediction, reference) else {
            predictionToReference = []; referenceToPrediction = []
            return
        }
        let p = surfaceVoxels(of: prediction, in: box), r = surfaceVoxels(of: reference, in: box)
        // A large box (a 3-D volume) runs its two transforms on two threads; small
        // ones stay on the caller's, which is already one of many parallel cases.
        let results = Slots<[Double]>(count: 2)
        let work = [(p, r), (r, p)]
        if box.count >= 1 << 20 {
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                results.set(i, distances(from: work[i].0, to: work[i].1, box: box, spacing: spacing))
            }
        } else {
            for i in 0..<2 { results.set(i, distances(from: work[i].0, to: work[i].1, box: box, spacing: spacing)) }
        }
        (predictionToReference, referenceToPrediction) = (results.values[0]!, results.values[1]!)
    }
}

private func distances(from a: [Bool], to b: [Bool], box: Box, spacing: [Double]) -> [Double] {
    var grid = b.map { $0 ? 0.0 : .infinity }
    squaredDistanceTransform(&grid, size: (box.nx, box.ny, box.nz), spacing: spacing)
    var out: [Double] = []
    for i in a.indices where a[i] { out.append(grid[i].squareRoot()) }
    return out
}

/// The q-th percentile (0…100) with linear interpolation between order
/// statistics (numpy's and `torch.quantile`'s default); NaN for no values.
public func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let position = q / 100 * Double(sorted.count - 1)
    let lo = Int(position.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    // Equal neighbours return as they are: ∞ + 0·(∞ − ∞) would be NaN.
    if sorted[lo] == sorted[hi] { return sorted[lo] }
    return sorted[lo] + (position - Double(lo)) * (sorted[hi] - sorted[lo])
}

extension SurfaceDistances {
    /// Hausdorff distance at a percentile, MONAI's way: the percentile of each
    /// directed set, then the larger. NaN when either mask is empty: MONAI's
    /// `compute_hausdorff_distance(percentile=95)` gives NaN there too (its
    /// distances to an empty surface are +∞, and `torch.quantile` of them is NaN),
    /// so a missed structure shows in Dice and NSD, not in HD95.
    public func hausdorff(percentile q: Double = 95) -> Double {
        guard !predictionToReference.isEmpty, !referenceToPrediction.isEmpty else { return .nan }
        return max(percentile(predictionToReference, q), percentile(referenceToPrediction, q))
    }

    /// Normalised surface distance (surface Dice, MONAI's `compute_surface_dice`
    /// without subvoxels): the fraction of all surface voxels of both masks that
    /// lie within `tolerance` of the other mask's surface. NaN when both masks are
    /// empty, 0 when one is.
    ///
    /// A relative slack of 1e-9 keeps a lattice distance that equals the tolerance
    /// (2 px, 3 × 0.7 mm) inside it whatever way its square root was rounded.
    public func surfaceDice(tolerance: Double) -> Double {
        let total = predictionToReference.count + referenceToPrediction.count
        guard total > 0 else { return .nan }
        let limit = tolerance * (1 + 1e-9)
        let within = predictionToReference.count(where: { $0 <= limit })
            + referenceToPrediction.count(where: { $0 <= limit })
        return Double(within) / Double(total)
    }
}
