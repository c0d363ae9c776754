import Foundation
import Testing
@testable import Imaging

/// A windowed slice: background 0, `body` rectangles filled with 0.5.
private func slice(width: Int, height: Int, bodies: [(x0: Int, y0: Int, x1: Int, y1: Int)]) -> Image {
    var pixels = [Float](repeating: 0, count: width * height)
    for body in bodies {
        for y in body.y0 ... body.y1 { for x in body.x0 ... body.x1 { pixels[y * width + x] = 0.5 } }
    }
    return Image(width: width, height: height, channels: 1, pixels: pixels)
}

@Suite struct BodyCropTests {
    /// 256 wide: the two erosion steps (256/128) are given back, then a margin of 5 pixels (2% of 256).
    @Test func theBodysBoxGrowsByTheMargin() {
        let image = slice(width: 256, height: 200, bodies: [(60, 40, 189, 149)])
        let region = bodyRegion(of: image, fieldOfView: .body)
        let grow = 5
        #expect(region == PixelRegion(x: 60 - grow, y: 40 - grow, width: 130 + 2 * grow, height: 110 + 2 * grow))
    }

    /// A patient table under the body, joined to it by a 1-pixel bridge, is not the body.
    @Test func aTableJoinedByAThinBridgeIsLeftOut() {
        let image = slice(width: 256, height: 256, bodies: [(60, 40, 189, 149), (120, 150, 120, 169), (20, 170, 235, 185)])
        let region = bodyRegion(of: image, fieldOfView: .body)
        #expect(region.y + region.height - 1 < 170)
        #expect(region.x > 20 && region.x + region.width - 1 < 235)
    }

    @Test func noBodyOrNoCropIsTheWholeSlice() {
        let dark = slice(width: 64, height: 48, bodies: [(10, 10, 12, 12)])  // under 2% of the slice
        #expect(bodyRegion(of: dark, fieldOfView: .body) == .whole(width: 64, height: 48))
        let image = slice(width: 64, height: 48, bodies: [(10, 10, 40, 30)])
        #expect(bodyRegion(of: image, fieldOfView: .none) == .whole(width: 64, height: 48))
    }

    /// A volume's slices share one region, the union of theirs; a slice without a body adds nothing.
    @Test func aVolumeUsesTheUnionOfItsSlices() {
        let slices = [slice(width: 128, height: 128, bodies: [(30, 30, 70, 60)]),
                      slice(width: 128, height: 128, bodies: [(50, 40, 100, 90)]),
                      slice(width: 128, height: 128, bodies: [])]
        let a = bodyRegion(of: slices[0], fieldOfView: .body), b = bodyRegion(of: slices[1], fieldOfView: .body)
        let union = bodyRegion(ofVolume: slices, fieldOfView: .body)
        #expect(union == PixelRegion(x: a.x, y: a.y, width: b.x + b.width - a.x, height: b.y + b.height - a.y))
    }

    /// A slice whose body reaches every edge counts as the whole slice, not as "no body".
    @Test func aBodyFillingOneSliceWidensTheVolumesRegionToIt() {
        let slices = [slice(width: 128, height: 128, bodies: [(30, 30, 70, 60)]),
                      slice(width: 128, height: 128, bodies: [(0, 0, 127, 127)])]
        #expect(bodyRegion(ofVolume: slices, fieldOfView: .body) == .whole(width: 128, height: 128))
    }

    /// Cropping and placing back keep every voxel inside the region and clear the rest.
    @Test func cropThenPlaceRoundTrips() {
        let (w, h) = (9, 7)
        let voxels: [UInt8] = (0 ..< w * h).map { (i: Int) -> UInt8 in UInt8((i * 7 + i / 3) % 2) }
        let mask = Mask(width: w, height: h, voxels: voxels)
        let region = PixelRegion(x: 2, y: 1, width: 5, height: 4)
        let back = mask.cropped(to: region).placed(in: region, width: w, height: h)
        for y in 0 ..< h {
            for x in 0 ..< w {
                let inside = x >= 2 && x < 7 && y >= 1 && y < 5
                #expect(back.voxels[y * w + x] == (inside ? voxels[y * w + x] : 0))
            }
        }
        let image = Image(width: w, height: h, channels: 1, pixels: voxels.map(Float.init))
        let crop = image.cropped(to: region)
        #expect(crop.width == 5 && crop.height == 4)
        #expect(crop.pixels == mask.cropped(to: region).voxels.map(Float.init))
    }
}
