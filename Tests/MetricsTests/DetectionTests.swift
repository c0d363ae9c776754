import Imaging
@testable import Metrics
import Testing

/// Components per slice, matched by overlap: counted by hand on two 6×4 slices.
@Test func detectionCountsComponentsPerSliceByOverlap() {
    // Slice 0, reference: A (two pixels touching at a corner: one component, 8-connected),
    // B (x 4–5, y 0) and C (x 5, y 3). Prediction: one pixel in A, one in C, and D (x 2, y 3)
    // touching no reference pixel. Slice 1: no reference, one predicted pixel (false).
    let reference: [UInt8] = [1, 0, 0, 0, 1, 1,
                              0, 1, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 1,
                              0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0,
                              0, 0, 0, 0, 0, 0]
    let prediction: [UInt8] = [0, 0, 0, 0, 0, 0,
                               0, 1, 0, 0, 0, 0,
                               0, 0, 0, 0, 0, 0,
                               0, 0, 1, 0, 0, 1,
                               0, 0, 0, 0, 0, 0,
                               0, 0, 0, 1, 0, 0,
                               0, 0, 0, 0, 0, 0,
                               0, 0, 0, 0, 0, 0]
    let counts = detectionCounts(prediction: Mask(width: 6, height: 4, depth: 2, voxels: prediction),
                                 reference: Mask(width: 6, height: 4, depth: 2, voxels: reference))
    #expect(counts.referenceComponents == 3 && counts.found == 2 && counts.missed == 1)
    #expect(counts.predictedComponents == 4 && counts.falseComponents == 2 && counts.slices == 2)
    #expect(abs(counts.sensitivity - 2.0 / 3) < 1e-12 && counts.falsePerSlice == 1)
    // A diagonal pair is one component in the plane, never across slices.
    #expect(planeComponents([1, 0, 0, 1], width: 2).count == 1)
    #expect(DetectionCounts().sensitivity.isNaN)
}

@Test func worstErrorSliceIsTheOneWithTheMostFalseVoxelsCroppedAroundThem() throws {
    // 100×80×3: slice 0 agrees; slice 1 has 4 false positives; slice 2 misses a 5×5 square.
    let (w, h) = (100, 80)
    var p = [UInt8](repeating: 0, count: w * h * 3), r = p
    for y in 10..<15 { for x in 10..<15 { p[y * w + x] = 1; r[y * w + x] = 1 } }
    for x in 50..<54 { p[w * h + 40 * w + x] = 1 }
    for y in 60..<65 { for x in 90..<95 { r[2 * w * h + y * w + x] = 1 } }
    let slice = try #require(worstErrorSlice(prediction: Mask(width: w, height: h, depth: 3, voxels: p, spacing: nil),
                                             reference: Mask(width: w, height: h, depth: 3, voxels: r, spacing: nil)))
    #expect(slice.index == 2 && slice.falseNegatives == 25 && slice.falsePositives == 0)
    // A 64-pixel square around the miss, pushed inside the slice's right and bottom edges.
    #expect(slice.width == 64 && slice.height == 64 && slice.origin.x == 36 && slice.origin.y == 16)
    let missed = ((62 - 16) * 64 + (92 - 36)) * 3
    #expect(Array(slice.rgb[missed..<(missed + 3)]) == ErrorSlice.falseNegative)
    #expect(slice.rgb.count == 64 * 64 * 3 && slice.rgb.filter { $0 != 0 }.count == 25 * 3)
    let none = Mask(width: w, height: h, depth: 3, voxels: r, spacing: nil)
    #expect(worstErrorSlice(prediction: none, reference: none) == nil)
}
