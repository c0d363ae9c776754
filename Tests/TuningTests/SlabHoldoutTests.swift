import Imaging
import Testing
@testable import Tuning

/// One-volume datasets validate on a contiguous slab, with guard slices kept out of training.
@Suite struct SlabHoldoutTests {
    /// A 40-slice volume whose structure spans slices 10…29.
    static func volume(_ name: String = "ct", slices: Int = 40, structure: ClosedRange<Int> = 10...29) -> [LabeledSlice] {
        (0..<slices).map { z in
            let on: UInt8 = structure.contains(z) ? 1 : 0
            return LabeledSlice(caseName: name, index: z, image: Image(width: 2, height: 2, channels: 1, pixels: [0, 0, 0, 0]),
                                mask: Mask(width: 2, height: 2, voxels: [on, 0, 0, 0]), isVolumeSlice: true)
        }
    }

    @Test func slabLiesInsideTheStructureWithGuards() throws {
        for seed: UInt64 in 0..<20 {
            let slab = try #require(chooseSlabHoldout(Self.volume(), fraction: 0.2, seed: seed))
            #expect(slab.caseName == "ct" && slab.guardSlices == 2)
            #expect(slab.last - slab.first + 1 == 4)               // 20% of the 20-slice span
            #expect(slab.first >= 10 && slab.last <= 29)
            #expect(slab.excludesFromTraining(slab.first - 2) && !slab.excludesFromTraining(slab.first - 3))
            #expect(slab.excludesFromTraining(slab.last + 2) && !slab.excludesFromTraining(slab.last + 3))
        }
        #expect(chooseSlabHoldout(Self.volume(), fraction: 0.2, seed: 1) == chooseSlabHoldout(Self.volume(), fraction: 0.2, seed: 1))
    }

    /// The longest volume is the one split; 2-D images and too-short volumes give no slab.
    @Test func whichVolumeAndWhenNot() {
        let two = Self.volume("short", slices: 12, structure: 2...9) + Self.volume("long")
        #expect(chooseSlabHoldout(two, fraction: 0.2, seed: 0)?.caseName == "long")
        #expect(chooseSlabHoldout(Self.volume(slices: 5, structure: 0...4), fraction: 0.2, seed: 0) == nil)
        let flat = Self.volume().map { var s = $0; s.isVolumeSlice = false; return s }
        #expect(chooseSlabHoldout(flat, fraction: 0.2, seed: 0) == nil)
        #expect(chooseSlabHoldout(Self.volume(), fraction: 0, seed: 0) == nil)
    }
}
