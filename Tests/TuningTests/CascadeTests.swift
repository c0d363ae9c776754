import Imaging
import Models
import Testing
@testable import Tuning

/// The cascade's boxes: largest 3-D component, span interpolation, margins.
@Suite struct CascadeTests {
    /// A 20×10 slice with the rectangle x0…x1, y0…y1 set.
    static func slice(_ rect: (Int, Int, Int, Int)?) -> Mask {
        var voxels = [UInt8](repeating: 0, count: 200)
        if let (x0, y0, x1, y1) = rect { for y in y0...y1 { for x in x0...x1 { voxels[y * 20 + x] = 1 } } }
        return Mask(width: 20, height: 10, voxels: voxels)
    }

    @Test func volumeKeepsTheLargestComponentAndFillsGaps() {
        // Slices 0–3: an organ (slice 2 missed, bridged); slices 6–7: a small far detection.
        let coarse = [Self.slice((4, 2, 8, 6)), Self.slice((4, 2, 10, 6)), Self.slice(nil), Self.slice((6, 2, 12, 6)),
                      Self.slice(nil), Self.slice(nil), Self.slice((17, 8, 18, 9)), Self.slice((17, 8, 18, 9))]
        let boxes = cascadeBoxes(coarse, isVolume: true, margin: 0)
        #expect(boxes[0] == BoxPrompt(x0: 4, y0: 2, x1: 8, y1: 6))
        #expect(boxes[2] == BoxPrompt(x0: 5, y0: 2, x1: 11, y1: 6))      // halfway between slices 1 and 3
        #expect(boxes[4...].allSatisfy { $0 == nil })                     // outside the kept component's span
        // 2-D images keep every detection as it is.
        #expect(cascadeBoxes(coarse, isVolume: false, margin: 0)[6] == BoxPrompt(x0: 17, y0: 8, x1: 18, y1: 9))
    }

    @Test func marginGrowsByTheImageSideAndStaysInside() {
        let boxes = cascadeBoxes([Self.slice((4, 2, 8, 6))], isVolume: false, margin: 0.1)   // 10% of 20 = 2 px
        #expect(boxes[0] == BoxPrompt(x0: 2, y0: 0, x1: 10, y1: 8))
        let edge = cascadeBoxes([Self.slice((0, 0, 19, 9))], isVolume: false, margin: 0.2)
        #expect(edge[0] == BoxPrompt(x0: 0, y0: 0, x1: 19, y1: 9))
        #expect(cascadeBoxes([Self.slice(nil)], isVolume: true, margin: 0.1) == [nil])
    }
}
