import Imaging
@testable import Metrics
import Testing

/// Small tabled cases whose answers can be checked on paper (MONAI's test style).
func grid(_ rows: [[UInt8]], spacing: [Double]? = nil) -> Mask {
    Mask(width: rows[0].count, height: rows.count, voxels: rows.flatMap { $0 }, spacing: spacing)
}

struct OverlapRow: Sendable, CustomTestStringConvertible {
    let name: String, prediction: [[UInt8]], reference: [[UInt8]], dice: Double, iou: Double
    var testDescription: String { name }
}

@Test("Dice and IoU on 3×3 masks", arguments: [
    // TP 4, FP 0, FN 2: Dice 8/10, IoU 4/6
    OverlapRow(name: "prediction inside reference",
               prediction: [[1, 1, 0], [1, 1, 0], [0, 0, 0]], reference: [[1, 1, 1], [1, 1, 1], [0, 0, 0]],
               dice: 0.8, iou: 4.0 / 6),
    // TP 1, FP 1, FN 1: Dice 2/4, IoU 1/3
    OverlapRow(name: "one shared pixel of two",
               prediction: [[1, 1, 0], [0, 0, 0], [0, 0, 0]], reference: [[1, 0, 0], [1, 0, 0], [0, 0, 0]],
               dice: 0.5, iou: 1.0 / 3),
    OverlapRow(name: "identical", prediction: [[0, 1, 0], [1, 1, 1], [0, 1, 0]],
               reference: [[0, 1, 0], [1, 1, 1], [0, 1, 0]], dice: 1, iou: 1),
    OverlapRow(name: "disjoint", prediction: [[1, 0, 0], [0, 0, 0], [0, 0, 0]],
               reference: [[0, 0, 0], [0, 0, 0], [0, 0, 1]], dice: 0, iou: 0),
    OverlapRow(name: "label values above 1 count as foreground", prediction: [[255, 0, 0], [0, 0, 0], [0, 0, 0]],
               reference: [[2, 0, 0], [0, 0, 0], [0, 0, 0]], dice: 1, iou: 1),
])
func diceAndIoUOnThreeByThree(_ row: OverlapRow) throws {
    let m = try scoreCase(prediction: grid(row.prediction), reference: grid(row.reference), spacing: nil, tolerance: 2)
    #expect(abs(m.dice - row.dice) < 1e-12)
    #expect(abs(m.iou - row.iou) < 1e-12)
}

@Test func bothEmptyGivesDiceOneAndUndefinedDistances() throws {
    let empty = grid([[0, 0], [0, 0]])
    let m = try scoreCase(prediction: empty, reference: empty, spacing: nil, tolerance: 2)
    #expect(m.dice == 1 && m.iou == 1)
    #expect(m.hd95.isNaN && m.nsd.isNaN)
}

@Test func oneEmptyGivesZeroDiceZeroNSDAndUndefinedHD95() throws {
    let empty = grid([[0, 0], [0, 0]]), one = grid([[0, 1], [0, 0]])
    for (p, r) in [(empty, one), (one, empty)] {
        let m = try scoreCase(prediction: p, reference: r, spacing: nil, tolerance: 2)
        #expect(m.dice == 0 && m.iou == 0 && m.nsd == 0)
        #expect(m.hd95.isNaN)
    }
}

@Test func surfaceOfASquareIsItsRingAndTheImageEdgeCountsAsBackground() {
    let square = grid([[0, 0, 0, 0, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 1, 1, 1, 0], [0, 0, 0, 0, 0]])
    #expect(surfaceVoxels(of: square).map { $0 ? 1 : 0 }
            == [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    let full = grid([[1, 1, 1], [1, 1, 1], [1, 1, 1]])
    #expect(surfaceVoxels(of: full).map { $0 ? 1 : 0 } == [1, 1, 1, 1, 0, 1, 1, 1, 1])
}

@Test func surfaceUsesFaceNeighboursOnlySoADiagonalGapIsInterior() {
    // The centre has all four face neighbours; its missing corner neighbours do not matter.
    let plus = grid([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    #expect(surfaceVoxels(of: plus)[4] == false)
}

@Test func sliceOfAVolumeIsAllSurfaceBecauseItsZNeighboursAreBackground() {
    var voxels = [UInt8](repeating: 0, count: 5 * 5 * 3)
    for y in 1...3 { for x in 1...3 { voxels[(1 * 5 + y) * 5 + x] = 1 } }
    let slab = Mask(width: 5, height: 5, depth: 3, voxels: voxels)
    #expect(surfaceVoxels(of: slab).filter { $0 }.count == 9)
}

@Test func hd95OfTwoPixelsIsTheirDistanceInMillimetres() throws {
    var p = [[UInt8]](repeating: [0, 0, 0, 0, 0], count: 5), r = p
    p[0][0] = 1; r[4][3] = 1  // 3 columns, 4 rows apart
    let px = try scoreCase(prediction: grid(p), reference: grid(r), spacing: nil, tolerance: 2)
    #expect(abs(px.hd95 - 5) < 1e-12)
    #expect(px.distanceUnit == .pixel)
    let mm = try scoreCase(prediction: grid(p), reference: grid(r), spacing: [2, 0.5], tolerance: 2)
    #expect(abs(mm.hd95 - (36.0 + 4).squareRoot()) < 1e-12)  // 3 × 2 mm across, 4 × 0.5 mm down
    #expect(mm.distanceUnit == .millimetre)
}

@Test func nsdCountsSurfacePixelsWithinTheToleranceIncludingOnIt() throws {
    // Two 1-pixel-wide bars 3 columns apart: every surface pixel is exactly 3 px from the other.
    let p = grid([[1, 0, 0, 0], [1, 0, 0, 0]]), r = grid([[0, 0, 0, 1], [0, 0, 0, 1]])
    #expect(try scoreCase(prediction: p, reference: r, spacing: nil, tolerance: 2.9).nsd == 0)
    #expect(try scoreCase(prediction: p, reference: r, spacing: nil, tolerance: 3).nsd == 1)
    // 3 × 0.1 mm is 0.30000000000000004 in floating point; it is still within 0.3 mm
    // (MONAI, in float32, counts it too).
    #expect(try scoreCase(prediction: p, reference: r, spacing: [0.1, 1], tolerance: 0.3).nsd == 1)
}

@Test func percentileInterpolatesLinearlyAsNumpy() {
    #expect(abs(percentile([4, 1, 3, 2], 95) - 3.85) < 1e-12)  // position 0.95 × 3 = 2.85
    #expect(percentile([7], 95) == 7)
    #expect(percentile([], 95).isNaN)
}

@Test func volumeIsScoredAsAWholeNotAsTheMeanOfSlices() throws {
    // Slice 0: perfect (Dice 1); slice 1: reference 3 pixels, prediction 1 (Dice 0.5).
    // Mean of slices 0.75; the volume has TP 3 + 1, FN 2: Dice 8/10.
    let p: [UInt8] = [1, 1, 1, 0, 1, 0, 0, 0], r: [UInt8] = [1, 1, 1, 0, 1, 1, 1, 0]
    let m = try scoreCase(prediction: Mask(width: 4, height: 1, depth: 2, voxels: p),
                          reference: Mask(width: 4, height: 1, depth: 2, voxels: r), spacing: nil, tolerance: 1)
    #expect(m.dimensions == 3)
    #expect(abs(m.dice - 0.8) < 1e-12)
}

@Test func volumeDifferenceUsesVoxelVolume() throws {
    let p = Mask(width: 2, height: 2, depth: 2, voxels: [1, 1, 1, 1, 1, 1, 0, 0])
    let r = Mask(width: 2, height: 2, depth: 2, voxels: [1, 0, 0, 0, 0, 0, 0, 0])
    let m = try scoreCase(prediction: p, reference: r, spacing: [0.5, 0.5, 2], tolerance: 2)
    #expect(m.absoluteVolumeDifference == 5 * 0.5)
    #expect(m.volumeUnit == "mm³")
}

@Test func mismatchedSizesAndMissingSpacingAreErrors() {
    #expect(throws: MetricsError.self) {
        try scoreCase(prediction: grid([[1, 0]]), reference: grid([[1], [0]]), spacing: nil, tolerance: 2)
    }
    let v = Mask(width: 1, height: 1, depth: 2, voxels: [1, 0])
    #expect(throws: MetricsError.self) { try scoreCase(prediction: v, reference: v, spacing: [1, 1], tolerance: 2) }
    #expect(throws: MetricsError.self) { try scoreCase(prediction: v, reference: v, spacing: nil, tolerance: -1) }
}
