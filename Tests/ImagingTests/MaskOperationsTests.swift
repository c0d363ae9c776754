import Testing
@testable import Imaging

@Test func largestComponentKeepsTheBiggestFourConnectedBlob() {
    // Two blobs: three pixels (left) and two pixels touching the first only diagonally.
    let mask = Mask(width: 4, height: 3, voxels: [1, 1, 0, 0,
                                                  1, 0, 1, 0,
                                                  0, 0, 1, 0])
    #expect(largestConnectedComponent(of: mask).voxels == [1, 1, 0, 0,
                                                           1, 0, 0, 0,
                                                           0, 0, 0, 0])
}

@Test func largestComponentIsThreeDimensional() {
    // Slice 0's pixel joins slice 1's 2-pixel run through a face: one 3-voxel component.
    let mask = Mask(width: 3, height: 1, depth: 2, voxels: [1, 0, 0,  // z = 0
                                                            1, 1, 0]) // z = 1
    #expect(largestConnectedComponent(of: mask).voxels == [1, 0, 0, 1, 1, 0])
    let split = Mask(width: 4, height: 1, depth: 2, voxels: [1, 0, 1, 1,
                                                             1, 0, 0, 0])
    // Two components of two voxels each: the tie keeps the one met first.
    #expect(largestConnectedComponent(of: split).voxels == [1, 0, 0, 0, 1, 0, 0, 0])
}

@Test func emptyMaskStaysEmpty() {
    let mask = Mask(width: 2, height: 2, voxels: [0, 0, 0, 0])
    #expect(largestConnectedComponent(of: mask) == mask)
}

@Test func overlayDrawsTheOutlineOverTheImage() {
    var image = Image(width: 3, height: 3, channels: 1, pixels: [Float](repeating: 0.5, count: 9))
    image.maxSampleValue = 1
    let mask = Mask(width: 3, height: 3, voxels: [0, 0, 0,
                                                  0, 1, 0,
                                                  0, 0, 0])
    let rgb = outlineOverlay(image: image, mask: mask, colour: (255, 0, 0))
    #expect(Array(rgb[12 ..< 15]) == [255, 0, 0])  // the lone pixel is its own outline
    #expect(Array(rgb[0 ..< 3]) == [128, 128, 128])  // 0.5 → 128 elsewhere
}
