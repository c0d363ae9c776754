import Foundation
import Imaging
@testable import Models
import Tensors
import Testing
@testable import Tuning

/// The atlas: registration of a slice to the training slices, and the box it gives.
@Suite struct AtlasTests {
    /// A synthetic axial slice in unit coordinates: a body, a bright "vertebra", a dark
    /// "bowel" and, when `structure`, a small gray disc: the structure whose box the atlas keeps.
    struct Scene {
        var structure = true
        var vertebraY: Float = 0.75

        func value(_ x: Float, _ y: Float) -> Float {
            func inside(_ cx: Float, _ cy: Float, _ rx: Float, _ ry: Float) -> Bool {
                let (dx, dy) = ((x - cx) / rx, (y - cy) / ry)
                return dx * dx + dy * dy <= 1
            }
            if !inside(0.5, 0.5, 0.45, 0.38) { return 0 }
            if inside(0.5, vertebraY, 0.08, 0.07) { return 1 }
            if inside(0.32, 0.42, 0.1, 0.08) { return 0.1 }
            if structure && inside(0.62, 0.45, 0.06, 0.06) { return 0.75 }
            return 0.45
        }

        static let structureBox = SliceAtlas.UnitBox(x0: 0.56, y0: 0.39, x1: 0.68, y1: 0.51)
    }

    /// `scene` seen through `transform` (target u ↦ scene (u − ½)·scale + ½ + shift), as the
    /// model's prepared input of a `side`×`side` slice.
    static func slice(_ scene: Scene, _ transform: SliceAtlas.Transform = .init(), side: Int = 128) -> PreparedImage {
        let input = Tensor(zeros: [1, 256, 256, 3])
        let k = 256 / side
        for row in 0..<256 {
            for col in 0..<256 {
                let (u, v) = ((Float(col) + 0.5) / 256, (Float(row) + 0.5) / 256)
                let value = scene.value((u - 0.5) * transform.scaleX + 0.5 + transform.shiftX, (v - 0.5) * transform.scaleY + 0.5 + transform.shiftY)
                for c in 0..<3 { input.data[(row * 256 + col) * 3 + c] = value }
            }
        }
        return PreparedImage(input: input, originalWidth: side, originalHeight: side, resizedWidth: 256, resizedHeight: 256, scale: Float(k))
    }

    static func example(_ scene: Scene, _ z: Int) -> TuningExample {
        let geometry = slice(scene)
        var voxels = [UInt8](repeating: 0, count: 128 * 128)
        if scene.structure {
            let b = Scene.structureBox
            for y in Int(b.y0 * 128)..<Int(b.y1 * 128) { for x in Int(b.x0 * 128)..<Int(b.x1 * 128) { voxels[y * 128 + x] = 1 } }
        }
        let mask = Mask(width: 128, height: 128, voxels: voxels)
        return TuningExample(name: "a#\(z)", caseName: "a", embedding: nil, geometry: geometry, target: Tensor(zeros: [1]),
                             mask: mask, box: boundingBox(of: mask), sliceIndex: z)
    }

    /// A slice moved and scaled (by values on the search grid) gets the structure's box
    /// where it now lies, to within a thumbnail cell; the margin grows it by its share.
    @Test func registrationFindsAMovedAndScaledSlice() throws {
        let atlas = SliceAtlas([Self.example(Scene(), 0), Self.example(Scene(vertebraY: 0.7), 1), Self.example(Scene(vertebraY: 0.8), 2)])
        let moved = SliceAtlas.Transform(scaleX: 1.08, scaleY: 0.92, shiftX: 0.05, shiftY: -0.05)
        let target = Self.slice(Scene(), moved)
        let match = try #require(atlas.matches(thumbnail(target)).first)
        #expect(match.slice == 0 && match.transform == moved, "\(match)")
        let expected = moved.targetBox(of: Scene.structureBox)
        let unit = try #require(atlas.locate([target], at: [0], sliceSpacing: nil).boxes[0])
        let cell = 1 / Float(SliceAtlas.side)
        #expect(abs(unit.x0 - expected.x0) <= cell && abs(unit.x1 - expected.x1) <= cell, "\(unit) vs \(expected)")
        #expect(abs(unit.y0 - expected.y0) <= cell && abs(unit.y1 - expected.y1) <= cell, "\(unit) vs \(expected)")
        // Each side grows by the larger of the margin (of the longest side) and half the box's extent.
        let (width, height) = ((unit.x1 - unit.x0) * 128, (unit.y1 - unit.y0) * 128)
        let tight = try #require(SliceAtlas.box(unit, in: target, margin: 0))
        #expect(abs((unit.x0 * 128 - tight.x0) - 0.5 * width) < 1e-3 && abs((tight.y1 - (unit.y1 * 128 - 1)) - 0.5 * height) < 1e-3)
        let grown = try #require(atlas.boxes(for: [target], sliceSpacing: nil, margin: 0.08).boxes[0])
        #expect(abs((unit.x0 * 128 - grown.x0) - 10.24) < 1e-3 && abs((grown.y1 - (unit.y1 * 128 - 1)) - 10.24) < 1e-3)
        // A box half the slice wide grows by at most a tenth of the side.
        let wide = try #require(SliceAtlas.box(SliceAtlas.UnitBox(x0: 0.25, y0: 0.4, x1: 0.75, y1: 0.5), in: target, margin: 0))
        #expect(wide.x0 == 32 - 12.8 && wide.x1 == 95 + 12.8 && abs(wide.y0 - (51.2 - 6.4)) < 1e-3)
    }

    /// Where most of the best-matching training slices hold no structure, the slice gets no box.
    @Test func noBoxWhereTheMatchedSlicesHoldNoStructure() {
        let absent = Scene(structure: false, vertebraY: 0.62)
        let atlas = SliceAtlas([Self.example(Scene(), 0), Self.example(absent, 1), Self.example(absent, 2), Self.example(Scene(vertebraY: 0.8), 3)])
        #expect(atlas.boxes(for: [Self.slice(absent, .init(shiftX: 0.025))], sliceSpacing: nil, margin: 0.05).boxes[0] == nil)
        #expect(atlas.boxes(for: [Self.slice(Scene(), .init(shiftX: 0.025))], sliceSpacing: nil, margin: 0.05).boxes[0] != nil)
    }

    /// A whole scan whose upper slices are the training scan's: its lower slices all match
    /// the training scan's lowest slice, less well, and lie beyond its span; they get no box,
    /// the slices within the span (and its tolerance) keep theirs.
    @Test func slicesBeyondTheTrainingScansSpanGetNoBox() {
        let blank = [Float](repeating: 0, count: SliceAtlas.side * SliceAtlas.side)
        let atlas = SliceAtlas(thumbnails: Array(repeating: blank, count: 10), boxes: Array(repeating: nil, count: 10),
                               positions: (0..<10).map { SliceAtlas.Position(scan: 0, z: Float($0 * 3)) })
        // Target slices 20…29 are atlas slices 0…9; slices 0…19 match atlas slice 0 at 0.7.
        let best: [SliceAtlas.Match?] = (0..<30).map { k in
            SliceAtlas.Match(slice: max(0, k - 20), correlation: k >= 20 ? 0.9 : 0.7, transform: .init())
        }
        let inside = atlas.withinSpan(best, z: (0..<30).map { Float($0 * 3) })
        // Tolerance: 0.25 of the 27 mm span plus a slice, 9.75 mm: down to slice 17.
        #expect(inside == (0..<30).map { $0 >= 17 })
        // Without positions (2-D training images) nothing is cut.
        let flat = SliceAtlas(thumbnails: Array(repeating: blank, count: 10), boxes: Array(repeating: nil, count: 10))
        #expect(flat.withinSpan(best, z: (0..<30).map { Float($0 * 3) }).allSatisfy { $0 })
    }

    /// The atlas goes into prompts.safetensors and comes back equal; a mis-shaped one is refused.
    @Test func storedAndRead() throws {
        var second = Self.example(Scene(structure: false), 1)
        second.sliceSpacing = 2.5
        let atlas = SliceAtlas([Self.example(Scene(), 0), second])
        #expect(atlas.boxes[1] == nil && atlas.boxes[0] != nil)
        #expect(atlas.positions == [nil, SliceAtlas.Position(scan: 0, z: 2.5)])
        #expect(try SliceAtlas.stored(in: atlas.tensors) == atlas)
        #expect(try SliceAtlas.stored(in: [:]) == nil)
        var broken = atlas.tensors
        broken["atlas.boxes"] = Tensor(zeros: [3, 4])
        #expect(throws: SliceAtlas.Misshaped.self) { try SliceAtlas.stored(in: broken) }
        // A box half "none" and half numbers, or a thumbnail pixel that is not a number, is refused too.
        broken = atlas.tensors
        broken["atlas.boxes"]!.data[4] = 0.5
        #expect(throws: SliceAtlas.Misshaped.self) { try SliceAtlas.stored(in: broken) }
        broken = atlas.tensors
        broken["atlas.thumbnails"]!.data[7] = .infinity
        #expect(throws: SliceAtlas.Misshaped.self) { try SliceAtlas.stored(in: broken) }
    }

    /// The cascade's first round takes the located boxes instead of stage 1's.
    @Test func locatedBoxesStartTheCascade() {
        var seen: [BoxPrompt] = []
        let stage: BoxStage = { _, geometry, box, _ in
            seen.append(box)
            return .empty(width: geometry.originalWidth, height: geometry.originalHeight)
        }
        let located = BoxPrompt(x0: 2, y0: 3, x1: 9, y1: 8)
        let geometry = PreparedImage(input: Tensor(zeros: [1, 256, 256, 3]), originalWidth: 20, originalHeight: 10,
                                     resizedWidth: 256, resizedHeight: 128, scale: 12.8)
        _ = cascadeMasks(coarse: [CascadeTests.slice(nil)], located: [located], isVolume: false, margin: 0.1, rounds: 1,
                         stage2: stage, embeddings: [Tensor(zeros: [1])], geometries: [geometry])
        #expect(seen == [located])
    }

    /// tokens-in-atlas: stage 1's mask inside the atlas's box gives the box; where stage 1
    /// marks nothing there, the atlas's box stays; no atlas box, no box.
    @Test func tokensInsideTheAtlasBoxGiveTheBox() {
        var blobs = [UInt8](repeating: 0, count: 200)
        for (x, y) in [(5, 4), (6, 5), (17, 8)] { blobs[y * 20 + x] = 1 }   // two pixels inside, one far outside
        let coarse = [Mask(width: 20, height: 10, voxels: blobs), CascadeTests.slice(nil), CascadeTests.slice((1, 1, 2, 2))]
        let region = BoxPrompt(x0: 3, y0: 2, x1: 10, y1: 7)
        let boxes = tokensInAtlasBoxes(coarse, located: [region, region, nil], margin: 0.05)
        #expect(boxes[0] == BoxPrompt(x0: 4, y0: 3, x1: 7, y1: 6))           // (5…6, 4…5) grown by 0.05 · 20
        #expect(boxes[1] == region && boxes[2] == nil)
    }

    /// The fuzz seed with an atlas (fuzz/make-seeds) is one predict reads: its target then
    /// starts from a valid atlas.
    @Test func fuzzSeedHoldsAValidAtlas() throws {
        let seed = try Data(contentsOf: repositoryRoot.appendingPathComponent("fuzz/seeds/task/atlas"))
        let separator = Data("\n--segtune-fuzz-file--\n".utf8)
        let cut = try #require(seed.range(of: separator))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("atlas-seed-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: file) }
        try seed[cut.upperBound...].write(to: file)
        let atlas = try #require(try SliceAtlas.stored(in: readSafetensors(at: file)))
        #expect(atlas.thumbnails.count == 2 && atlas.boxes[0] != nil && atlas.boxes[1] == nil)
        #expect(atlas.positions == [SliceAtlas.Position(scan: 0, z: 0), SliceAtlas.Position(scan: 0, z: 3)])
    }
}
