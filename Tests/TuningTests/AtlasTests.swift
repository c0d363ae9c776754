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
        var bowelY: Float = 0.42

        func value(_ x: Float, _ y: Float) -> Float {
            func inside(_ cx: Float, _ cy: Float, _ rx: Float, _ ry: Float) -> Bool {
                let (dx, dy) = ((x - cx) / rx, (y - cy) / ry)
                return dx * dx + dy * dy <= 1
            }
            if !inside(0.5, 0.5, 0.45, 0.38) { return 0 }
            if inside(0.5, vertebraY, 0.08, 0.07) { return 1 }
            if inside(0.32, bowelY, 0.1, 0.08) { return 0.1 }
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

    /// A level of a synthetic scan, z mm along it: the dark "bowel" moves down the body,
    /// the structure shows from 6 to 18 mm.
    static func level(_ z: Float) -> Scene { Scene(structure: (6...18).contains(z), bowelY: 0.25 + z / 100) }

    /// A volume is placed along the training scan as a whole: another scan, 2 mm apart,
    /// whose slice k shows the level 2k + 12 mm of the training scan (3 mm apart, 0–27 mm),
    /// moved in-plane. Its slices get boxes where they land on the structure, none where
    /// they land beside it, and none beyond the span (27 mm plus a quarter of it and a
    /// slice: 36.75 mm, so from slice 13 on).
    @Test func aVolumeIsPlacedAlongTheTrainingScan() throws {
        let atlas = SliceAtlas((0..<10).map { i in
            var example = Self.example(Self.level(Float(3 * i)), i)
            example.sliceSpacing = 3
            return example
        })
        let targets = (0..<20).map { k in Self.slice(Self.level(Float(2 * k + 12)), .init(shiftX: 0.025)) }
        let placements = atlas.placements(of: targets.map(thumbnail), z: (0..<20).map { Float(2 * $0) })
        let placement = try #require(placements.first)
        #expect(placements.count == 1 && placement.scan == 0 && abs(placement.offset - 12) <= 1.5, "\(placements)")
        let located = atlas.locate(targets, at: Array(0..<20), sliceSpacing: 2)
        #expect(located.beyondSpan == 7 && located.boxes[13...].allSatisfy { $0 == nil })
        #expect(located.boxes[0...3].allSatisfy { $0 != nil } && located.boxes[6...12].allSatisfy { $0 == nil }, "\(located.boxes.map { $0 != nil })")
        // Without positions (2-D training images) each slice is matched alone, and nothing lies beyond.
        let flat = SliceAtlas(thumbnails: atlas.thumbnails, boxes: atlas.boxes)
        #expect(flat.placements(of: targets.map(thumbnail), z: (0..<20).map { Float(2 * $0) }).isEmpty)
        #expect(flat.locate(targets, at: Array(0..<20), sliceSpacing: 2).beyondSpan == 0)
    }

    /// A task file may hold any positions: 10³⁸ mm apart, further than a Float spans, or all
    /// at one place. The volume is still placed in bounded time (at most 4,096 offsets), or
    /// matched slice by slice where the span is no number.
    @Test func absurdPositionsKeepThePlacementBounded() {
        let thumbnails = (0..<3).map { thumbnail(Self.slice(Self.level(Float(6 * $0)))) }
        let targets = (0..<10).map { Self.slice(Self.level(Float($0))) }
        for zs: [Float] in [[0, 1.5e38, 3e38], [-3e38, 0, 3e38], [0, 0, 0]] {
            let atlas = SliceAtlas(thumbnails: thumbnails, boxes: [nil, Scene.structureBox, nil],
                                   positions: zs.map { SliceAtlas.Position(scan: 0, z: $0) })
            let located = atlas.locate(targets, at: Array(0..<10), sliceSpacing: 1)
            #expect(located.boxes.count == 10, "\(zs)")
            #expect(atlas.placements(of: targets.map(thumbnail), z: (0..<10).map { Float($0) }).count == (zs[0] == -3e38 ? 0 : 1), "\(zs)")
        }
    }

    /// The nearest position, ties to the lower one.
    @Test func nearestPosition() {
        let zs: [Float] = [0, 3, 6, 12]
        #expect([-5, 1.4, 1.5, 1.6, 8.9, 9, 40].map { SliceAtlas.nearest($0, in: zs) } == [0, 0, 0, 1, 2, 2, 3])
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
