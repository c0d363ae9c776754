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
