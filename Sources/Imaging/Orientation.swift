import Foundation

/// Where a volume's voxels sit in the patient (LPS world, mm), and how its stored
/// voxel order maps to segtune's canonical one.
///
/// Canonical order is DICOM's axial LPS display: x (columns) runs to the patient's
/// left, y (rows) to posterior, z (slices) to superior. Readers bring every volume
/// with a known orientation to it by axis permutation and flips only (no
/// resampling), so a RAS-stored NIfTI and an LPS DICOM series of the same anatomy
/// reach the model alike and prompts learned on one apply to the other; writers undo
/// it, so masks land on the input's own grid.
public struct VolumeGeometry: Sendable, Equatable {
    /// Stored size: x fastest, then y, then z.
    public var storedSize: [Int]
    /// Stored voxel (i, j, k, 1) → LPS mm, three rows of four; nil when the file
    /// does not say (a NIfTI without sform/qform): the stored order is then kept.
    public var affine: [[Double]]?
    /// Canonical axis c is stored axis `axes[c]`, reversed when `flips[c]`.
    public private(set) var axes: [Int]
    public private(set) var flips: [Bool]

    /// A volume whose orientation is unknown: canonical order = stored order.
    public init(unorientedSize size: [Int]) {
        storedSize = size
        affine = nil
        axes = [0, 1, 2]
        flips = [false, false, false]
    }

    /// From a voxel-to-LPS affine. Throws for a singular one (its voxel axes do not span 3-D).
    public init(storedSize: [Int], affine: [[Double]]) throws(OrientationError) {
        precondition(storedSize.count == 3 && affine.count == 3 && affine.allSatisfy { $0.count == 4 })
        guard affine.joined().allSatisfy(\.isFinite) else { throw OrientationError("the affine has non-finite entries") }
        let columns = (0..<3).map { a in (0..<3).map { affine[$0][a] } }
        let norms = columns.map { ($0[0] * $0[0] + $0[1] * $0[1] + $0[2] * $0[2]).squareRoot() }
        let det = columns[0][0] * (columns[1][1] * columns[2][2] - columns[1][2] * columns[2][1])
            - columns[1][0] * (columns[0][1] * columns[2][2] - columns[0][2] * columns[2][1])
            + columns[2][0] * (columns[0][1] * columns[1][2] - columns[0][2] * columns[1][1])
        guard norms.allSatisfy({ $0 > 0 }), abs(det) > 1e-6 * norms[0] * norms[1] * norms[2] else {
            throw OrientationError("singular affine: its voxel axes do not span 3-D (determinant \(det))")
        }
        // Greedy: the voxel axis most aligned with a world axis takes it first.
        var axes = [0, 0, 0], flips = [false, false, false]
        var freeWorld: Set<Int> = [0, 1, 2], freeVoxel: Set<Int> = [0, 1, 2]
        while let (w, a) = freeWorld.flatMap({ w in freeVoxel.map { (w, $0) } })
            .max(by: { abs(columns[$0.1][$0.0]) / norms[$0.1] < abs(columns[$1.1][$1.0]) / norms[$1.1] }) {
            axes[w] = a
            flips[w] = columns[a][w] < 0
            freeWorld.remove(w); freeVoxel.remove(a)
        }
        self.storedSize = storedSize
        self.affine = affine
        self.axes = axes
        self.flips = flips
    }

    public var isOriented: Bool { affine != nil }
    public var isIdentity: Bool { axes == [0, 1, 2] && flips == [false, false, false] }

    /// Which way each stored axis points, as nibabel's axis codes: "RAS", "LPS", "LPI"…;
    /// "unknown" without an affine.
    public var storedCode: String {
        guard isOriented else { return "unknown" }
        let letters = [("L", "R"), ("P", "A"), ("S", "I")]
        return (0..<3).map { a in
            let w = axes.firstIndex(of: a)!
            return flips[w] ? letters[w].1 : letters[w].0
        }.joined()
    }

    public var canonicalSize: [Int] { axes.map { storedSize[$0] } }

    /// Millimetres per voxel along canonical x, y, z (nil without an affine).
    public var canonicalSpacing: [Double]? {
        guard let affine else { return nil }
        return axes.map { a in (0..<3).map { affine[$0][a] * affine[$0][a] }.reduce(0, +).squareRoot() }
    }

    /// Stored-order values (x fastest) in canonical order.
    public func toCanonical<T>(_ values: [T]) -> [T] {
        if isIdentity { return values }
        var out: [T] = []
        out.reserveCapacity(values.count)
        walkCanonical { out.append(values[$0]) }
        return out
    }

    /// Canonical-order values back in stored order.
    public func toStored<T>(_ values: [T]) -> [T] {
        if isIdentity { return values }
        var out = values
        var next = 0
        walkCanonical { stored in out[stored] = values[next]; next += 1 }
        return out
    }

    /// Calls `body` with the stored index of each canonical voxel, in canonical order.
    private func walkCanonical(_ body: (Int) -> Void) {
        let strides = [1, storedSize[0], storedSize[0] * storedSize[1]]
        let size = canonicalSize
        var step = [0, 0, 0], start = 0
        for c in 0..<3 {
            let s = strides[axes[c]]
            step[c] = flips[c] ? -s : s
            if flips[c] { start += (size[c] - 1) * s }
        }
        var zBase = start
        for _ in 0..<size[2] {
            var yBase = zBase
            for _ in 0..<size[1] {
                var index = yBase
                for _ in 0..<size[0] { body(index); index += step[0] }
                yBase += step[1]
            }
            zBase += step[2]
        }
    }
}

public struct OrientationError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
