import Foundation
import Imaging
@testable import Models
import Tensors
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

    /// A cascade within a tie of stage 1 on validation is not used (stage 1 is the simpler
    /// guess); a clear win is.
    @Test func cascadeMustBeatStageOneByMoreThanATie() {
        #expect(!CascadeChoice.isWorthUsing(cascade: 0.5714, stage1: 0.5621))
        #expect(!CascadeChoice.isWorthUsing(cascade: 0.50, stage1: 0.60))
        #expect(CascadeChoice.isWorthUsing(cascade: 0.58, stage1: 0.5621))
        #expect(CascadeChoice.isWorthUsing(cascade: 0.896, stage1: 0.795))
    }

    /// A box stage that draws one pixel inside its box would shrink the structure round
    /// after round; a later round's box covers the earlier one instead.
    @Test func laterRoundsNeverShrinkABox() {
        var boxesSeen: [BoxPrompt] = []
        let insetStage: BoxStage = { _, geometry, box, _ in
            boxesSeen.append(box)
            var voxels = [UInt8](repeating: 0, count: geometry.originalWidth * geometry.originalHeight)
            for y in Int(box.y0) + 1 ..< Int(box.y1) { for x in Int(box.x0) + 1 ..< Int(box.x1) { voxels[y * geometry.originalWidth + x] = 1 } }
            return Mask(width: geometry.originalWidth, height: geometry.originalHeight, voxels: voxels)
        }
        let geometry = PreparedImage(input: Tensor(zeros: [1, 256, 256, 3]), originalWidth: 20, originalHeight: 10,
                                     resizedWidth: 256, resizedHeight: 128, scale: 12.8)
        let masks = cascadeMasks(coarse: [Self.slice((4, 2, 12, 8))], isVolume: false, margin: 0, rounds: 2,
                                 stage2: insetStage, embeddings: [Tensor(zeros: [1])], geometries: [geometry])
        #expect(boxesSeen == [BoxPrompt(x0: 4, y0: 2, x1: 12, y1: 8), BoxPrompt(x0: 4, y0: 2, x1: 12, y1: 8)])
        #expect(boundingBox(of: masks[0]) == BoxPrompt(x0: 5, y0: 3, x1: 11, y1: 7))
        #expect(covering(nil, BoxPrompt(x0: 1, y0: 1, x1: 2, y1: 2)) == BoxPrompt(x0: 1, y0: 1, x1: 2, y1: 2))
        #expect(covering(nil, nil) == nil)
    }

    /// A validation volume with a slab and a run without the structure (SlabHoldout): the
    /// two runs are separate volumes for the 3-D step, and stage 1's marks on the empty
    /// slices are counted.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: repositoryRoot.appendingPathComponent("models/lite_medsam.pth").path)))
    func validationRunsAreSeparateVolumesAndEmptySlicesAreCounted() throws {
        let geometry = PreparedImage(input: Tensor(zeros: [1, 256, 256, 3]), originalWidth: 20, originalHeight: 10,
                                     resizedWidth: 256, resizedHeight: 128, scale: 12.8)
        func example(_ z: Int, _ box: (Int, Int, Int, Int)?) -> TuningExample {
            TuningExample(name: "v#\(z)", caseName: "v", embedding: Tensor(zeros: [1]), geometry: geometry, target: Tensor(zeros: [1]),
                          mask: Self.slice(box), box: nil, sliceIndex: z)
        }
        // Slab 3…4 with the structure, then 8…9 without it; given out of order.
        let validation = CascadeValidation([example(8, nil), example(3, (4, 2, 12, 8)), example(9, nil), example(4, (4, 2, 12, 8))],
                                           segmenter: DecoderTuningTests.segmenter, embeddings: false)
        let ordered = try #require(validation.cases["v"])
        #expect(ordered.map(\.sliceIndex) == [3, 4, 8, 9])
        #expect(validation.consecutiveRuns(ordered) == [0..<2, 2..<4])
        // Stage 1 marks a small blob on slice 9 only: 1 of the 2 empty slices.
        let coarse = ["v": [Self.slice((4, 2, 12, 8)), Self.slice((4, 2, 12, 8)), Self.slice(nil), Self.slice((1, 1, 3, 3))]]
        let counted = try #require(validation.emptySlicesMarked(coarse))
        #expect(counted.marked == 1 && counted.of == 2)
        #expect(validation.emptySlicesMarked(["v": ordered.map { _ in Self.slice(nil) }])?.marked == 0)
    }

    /// Stage 2's training boxes: the reference box moved by one of stage 1's measured
    /// errors and grown by one of the candidate margins (fractions of the longest side).
    @Test func stage2BoxesFollowStage1sErrorsAndTheMargins() throws {
        let geometry = PreparedImage(input: Tensor(zeros: [1, 256, 256, 3]), originalWidth: 200, originalHeight: 100,
                                     resizedWidth: 256, resizedHeight: 128, scale: 1.28)
        let example = TuningExample(name: "c#3", caseName: "c", embedding: nil, geometry: geometry, target: Tensor(zeros: [1]),
                                    mask: Self.slice(nil), box: BoxPrompt(x0: 50, y0: 40, x1: 150, y1: 60), sliceIndex: 3)
        let errors = BoxErrors(offsets: [[0.05, 0, -0.05, 0]], missed: 0)
        var generator = SeededGenerator(seed: 1)
        var margins = Set<Double>()
        for _ in 0..<60 {
            let box = try #require(Stage2Training.box(for: example, errors: errors, using: &generator))
            let m = Double(60 - box.x0) / 200                                  // x0 = 50 + 0.05·200 − m·200
            let margin = try #require(CascadeChoice.candidateMargins.first { abs($0 - m) < 1e-4 }, "x0 \(box.x0)")
            margins.insert(margin)
            #expect(abs(box.x1 - Float(140 + margin * 200)) < 1e-3 || box.x1 == 199)
            #expect(abs(box.y0 - max(0, Float(40 - margin * 200))) < 1e-3 && abs(box.y1 - min(99, Float(60 + margin * 200))) < 1e-3)
        }
        #expect(margins == Set(CascadeChoice.candidateMargins))
        var empty = example
        empty.box = nil
        #expect(Stage2Training.box(for: empty, errors: errors, using: &generator) == nil)
        #expect(errors.medians == [0.05, 0, -0.05, 0])
    }
}

/// Crop-and-zoom's region: a square twice the box's longest side (at least 48 pixels),
/// centred on the box and moved inside the slice; none when off or too big to crop.
@Test func zoomRegionIsASquareAroundTheBoxInsideTheSlice() throws {
    let box = BoxPrompt(x0: 100, y0: 200, x1: 139, y1: 219)          // 40 × 20
    #expect(zoomRegion(for: box, width: 512, height: 512, mode: .off) == nil)
    #expect(zoomRegion(for: box, width: 512, height: 512, mode: .on) == PixelRegion(x: 80, y: 170, width: 80, height: 80))
    let corner = BoxPrompt(x0: 0, y0: 0, x1: 9, y1: 9)                // 48-pixel minimum, moved inside
    #expect(zoomRegion(for: corner, width: 512, height: 300, mode: .on) == PixelRegion(x: 0, y: 0, width: 48, height: 48))
    let large = BoxPrompt(x0: 10, y0: 10, x1: 300, y1: 200)           // twice it does not fit: the whole slice
    #expect(zoomRegion(for: large, width: 512, height: 512, mode: .on) == nil)
}
