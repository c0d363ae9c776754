import Foundation
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

    /// Slices without the structure are validated too where the volume has enough of them
    /// past one end of the structure: as many as the slab, at the far end, with a guard.
    @Test func aRunWithoutTheStructureIsHeldOutWhereThereAreEnough() throws {
        // Structure on 10…29 of 40: 10 empty slices above, ≥ 2 × 4 + 2.
        let slab = try #require(chooseSlabHoldout(Self.volume(), fraction: 0.2, seed: 0))
        #expect(slab.absentFirst == 36 && slab.absentLast == 39)
        #expect((36...39).allSatisfy(slab.validates) && !slab.validates(35) && !slab.validates(30))
        #expect(slab.excludesFromTraining(34) && !slab.excludesFromTraining(33))
        #expect(slab.description.hasSuffix("and slices 36–39 without the structure"))
        // The larger side is the one used.
        let low = try #require(chooseSlabHoldout(Self.volume(structure: 20...35), fraction: 0.2, seed: 0))
        #expect(low.absentFirst == 0 && low.absentLast == 2)
        // Too few empty slices to spare (9 on each side, < 2 × 4 + 2), or none: no run.
        let short = try #require(chooseSlabHoldout(Self.volume(structure: 9...30), fraction: 0.2, seed: 0))
        #expect(short.absentFirst == nil && short.absentLast == nil && short.validates(short.first) && !short.validates(35))
        let full = try #require(chooseSlabHoldout(Self.volume(structure: 0...39), fraction: 0.2, seed: 0))
        #expect(full.absentFirst == nil)
    }

    /// A task saved before the run existed decodes with none.
    @Test func olderSlabsDecodeWithoutARun() throws {
        let json = #"{"caseName": "ct", "first": 3, "last": 5, "guardSlices": 2}"#
        let slab = try JSONDecoder().decode(SlabHoldout.self, from: Data(json.utf8))
        #expect(slab == SlabHoldout(caseName: "ct", first: 3, last: 5, guardSlices: 2))
        #expect(!slab.validates(10) && slab.validates(4))
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
