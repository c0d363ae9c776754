import Foundation
import Imaging
@testable import Models
import Tensors
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

/// Where fit's tokens start: the mean of the structure's boxes over the slices that show
/// it, scaled to the model's input frame by the slice's longest side.
@Test func meanStructureBoxAveragesTheSlicesThatShowIt() throws {
    func slice(_ voxels: [UInt8]) -> LabeledSlice {
        LabeledSlice(caseName: "ct", index: 0, image: Image(width: 4, height: 2, channels: 1, pixels: [Float](repeating: 0, count: 8)),
                     mask: Mask(width: 4, height: 2, voxels: voxels), isVolumeSlice: true)
    }
    let slices = [slice([1, 1, 0, 0,  0, 0, 0, 0]), slice([0, 0, 0, 0,  0, 0, 0, 0]), slice([0, 0, 0, 1,  0, 0, 0, 1])]
    // Boxes (0,0)-(1,0) and (3,0)-(3,1): mean (1.5, 0)-(2, 0.5); ×256/4 = 64.
    #expect(try #require(meanStructureBox(slices, inputSize: 256)) == BoxPrompt(x0: 96, y0: 0, x1: 128, y1: 32))
    #expect(meanStructureBox([slices[1]], inputSize: 256) == nil)
}

/// The training target lives in the logits' frame: for LiteMedSAM (input 256, logits 256)
/// the resized image region itself; for SAM's 1024 input, that region scaled by 1/4.
@Test(arguments: [(256, 256, 128, 64, 128, 64), (1024, 256, 1024, 512, 256, 128)])
func paddedTargetCoversTheResizedRegionInTheLogitsFrame(input: Int, size: Int, resizedW: Int, resizedH: Int, regionW: Int, regionH: Int) {
    let mask = Mask(width: 100, height: 50, voxels: [UInt8](repeating: 1, count: 5000))
    let geometry = PreparedImage(input: Tensor(zeros: [1, input, input, 3]), originalWidth: 100, originalHeight: 50,
                                 resizedWidth: resizedW, resizedHeight: resizedH, scale: Float(resizedW) / 100)
    let target = paddedTarget(mask, geometry: geometry, size: size)
    #expect(target.shape == [size, size])
    let filled = (0 ..< size * size).filter { target.data[$0] == 1 }
    #expect(filled.count == regionW * regionH)
    #expect(filled.allSatisfy { $0 % size < regionW && $0 / size < regionH })
}

/// The zoom-out variant shrinks about the centre: same size, border on the image's lowest
/// value with no mask, the structure 70% as wide, and the pixel spacing grown to match.
@Test func zoomOutShrinksAboutTheCentre() {
    let (w, h) = (20, 20)
    var pixels = [Float](repeating: 0.2, count: w * h), voxels = [UInt8](repeating: 0, count: w * h)
    for y in 0..<h { for x in 0..<w where (5..<15).contains(x) && (5..<15).contains(y) { pixels[y * w + x] = 1; voxels[y * w + x] = 1 } }
    pixels[0] = 0   // the lowest value: the border's
    let slice = LabeledSlice(caseName: "c", index: 0, image: Image(width: w, height: h, channels: 1, pixels: pixels),
                             mask: Mask(width: w, height: h, voxels: voxels, spacing: [1, 1]), isVolumeSlice: false)
    let zoomed = Augmentation.zoomOut.apply(to: slice)
    #expect(zoomed.image.width == w && zoomed.image.height == h && zoomed.mask.width == w)
    #expect(zoomed.mask.foregroundCount == 49)                       // 10 px → 7 px square
    #expect(zoomed.image.pixels[0] == 0 && zoomed.image.pixels[w + 1] == 0 && zoomed.mask.voxels[w * 10 + 10] == 1)
    #expect(zoomed.mask.spacing == [1 / 0.7, 1 / 0.7])
    #expect(AugmentationGroup.variants(AugmentationGroup.defaults).contains(.zoomOut) && !Augmentation.geometric.contains(.zoomOut))
}

/// The anatomy-keeping variants: a shift moves the structure by 10% of the side onto
/// background, a zoom-in enlarges it 1.2×, gamma changes values but not the mask.
@Test func shiftScaleAndGammaVariants() {
    let (w, h) = (20, 20)
    var pixels = [Float](repeating: 0.25, count: w * h), voxels = [UInt8](repeating: 0, count: w * h)
    for y in 5..<15 { for x in 5..<15 { pixels[y * w + x] = 1; voxels[y * w + x] = 1 } }
    pixels[0] = 0
    let slice = LabeledSlice(caseName: "c", index: 0, image: Image(width: w, height: h, channels: 1, pixels: pixels),
                             mask: Mask(width: w, height: h, voxels: voxels, spacing: [1, 1]), isVolumeSlice: false)
    let moved = Augmentation.shiftDownRight.apply(to: slice)
    #expect(moved.mask.foregroundCount == 100)
    #expect(moved.mask.voxels[7 * w + 7] == 1 && moved.mask.voxels[6 * w + 6] == 0 && moved.mask.voxels[16 * w + 16] == 1)
    #expect(moved.image.pixels[0] == 0 && moved.image.pixels[w + 1] == 0)   // uncovered: the background
    let up = Augmentation.shiftUpLeft.apply(to: slice)
    #expect(up.mask.voxels[3 * w + 3] == 1 && up.mask.voxels[13 * w + 13] == 0)
    let zoomed = Augmentation.zoomIn.apply(to: slice)
    #expect(zoomed.mask.foregroundCount == 144)                      // 10 px → 12 px square
    #expect(zoomed.mask.spacing == [1 / 1.2, 1 / 1.2])
    let dark = Augmentation.gammaDark.apply(to: slice), bright = Augmentation.gammaBright.apply(to: slice)
    #expect(dark.mask.voxels == voxels && bright.mask.voxels == voxels)
    #expect(abs(dark.image.pixels[1] - 0.125) < 1e-6 && bright.image.pixels[1] > 0.25 && dark.image.pixels[5 * w + 5] == 1)
    // Another contrast phase: only the structure's pixels move, clamped to the window.
    var grey = slice
    grey.image.pixels = pixels.map { $0 == 1 ? 0.5 : $0 }
    let enhanced = Augmentation.structureBrighter.apply(to: grey), washed = Augmentation.structureDarker.apply(to: grey)
    #expect(enhanced.mask.voxels == voxels && washed.mask.voxels == voxels)
    #expect(abs(enhanced.image.pixels[5 * w + 5] - 0.85) < 1e-6 && abs(washed.image.pixels[14 * w + 14] - 0.15) < 1e-6)
    #expect(Augmentation.structureBrighter.apply(to: slice).image.pixels[5 * w + 5] == 1)
    #expect(enhanced.image.pixels[1] == 0.25 && washed.image.pixels[4 * w + 4] == 0.25 && enhanced.image.pixels[0] == 0)
}

@Test func augmentationGroupsParseAndKeepTheirOrder() throws {
    #expect(try AugmentationGroup.parseList("none") == [])
    #expect(try AugmentationGroup.parseList("all") == AugmentationGroup.allCases)
    #expect(try AugmentationGroup.parseList("shift, flips,shift") == [.flips, .shift])
    #expect(throws: AugmentationParseError.self) { try AugmentationGroup.parseList("flips,mirror") }
    #expect(throws: AugmentationParseError.self) { try AugmentationGroup.parseList("") }
    // The default (docs/tuning.md's held-out tables): zoom, scale, shift and contrast, no flips or turns.
    #expect(AugmentationGroup.variants(AugmentationGroup.defaults)
            == [.identity, .zoomOut, .zoomIn, .shiftUpLeft, .shiftDownRight, .structureBrighter, .structureDarker])
    #expect(AugmentationGroup.variants(try AugmentationGroup.parseList("flips,turns,zoom")) == [.identity, .flipHorizontal, .flipVertical, .rotate90, .zoomOut])
    #expect(AugmentationGroup.variants(try AugmentationGroup.parseList("intensity,scale")) == [.identity, .zoomIn, .gammaDark, .gammaBright])
}
