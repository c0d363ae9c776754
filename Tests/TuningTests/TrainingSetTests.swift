import Foundation
import Imaging
import Testing
@testable import Tuning

/// A 3×2 image with distinct values, to follow where each pixel goes.
private let values: [Int] = [1, 2, 3,
                             4, 5, 6]

@Test(arguments: [
    (Augmentation.identity, [1, 2, 3, 4, 5, 6], 3, 2),
    (.flipHorizontal, [3, 2, 1, 6, 5, 4], 3, 2),
    (.flipVertical, [4, 5, 6, 1, 2, 3], 3, 2),
    (.rotate90, [4, 1, 5, 2, 6, 3], 2, 3),  // clockwise: the bottom-left corner goes to the top-left
])
func augmentationsMoveEveryPixel(augmentation: Augmentation, expected: [Int], width: Int, height: Int) {
    let out = augmentation.apply(values, width: 3, height: 2, channels: 1)
    #expect(out.values == expected)
    #expect(out.width == width && out.height == height)
}

@Test func augmentationKeepsChannelsTogether() {
    let rgb: [Int] = [1, 10, 100, 2, 20, 200]  // two pixels in one row
    #expect(Augmentation.flipHorizontal.apply(rgb, width: 2, height: 1, channels: 3).values == [2, 20, 200, 1, 10, 100])
}

@Test func boundingBoxOfAMask() {
    let mask = Mask(width: 4, height: 3, voxels: [0, 0, 0, 0,
                                                  0, 1, 1, 0,
                                                  0, 0, 1, 0])
    #expect(boundingBox(of: mask) == .init(x0: 1, y0: 1, x1: 2, y1: 2))
    #expect(boundingBox(of: Mask(width: 2, height: 2, voxels: [0, 0, 0, 0])) == nil)
}
