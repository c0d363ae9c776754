import Testing
@testable import Imaging

/// A mask from rows of text: '#' inside, '.' outside.
private func mask(_ rows: [String]) -> (voxels: [UInt8], width: Int, height: Int) {
    (rows.flatMap { $0.map { $0 == "#" ? UInt8(1) : 0 } }, rows[0].count, rows.count)
}

private func roundTrip(_ m: (voxels: [UInt8], width: Int, height: Int)) -> [UInt8] {
    fillEvenOdd(traceContours(m.voxels, width: m.width, height: m.height).map(\.points), width: m.width, height: m.height)
}

@Suite struct ContourTracingTests {
    @Test func onePixelIsASquareAlongItsEdges() {
        let m = mask(["....", "..#.", "...."])
        let contours = traceContours(m.voxels, width: m.width, height: m.height)
        // Pixel (2, 1): corners half a pixel from its centre, clockwise on screen.
        #expect(contours == [PixelContour(points: [SIMD2(1.5, 0.5), SIMD2(2.5, 0.5), SIMD2(2.5, 1.5), SIMD2(1.5, 1.5)])])
        #expect(contours[0].signedArea == 1)
        #expect(roundTrip(m) == m.voxels)
    }

    @Test func squareHasFourCorners() {
        let m = mask(["......", ".###..", ".###..", ".###..", "......"])
        let contours = traceContours(m.voxels, width: m.width, height: m.height)
        #expect(contours == [PixelContour(points: [SIMD2(0.5, 0.5), SIMD2(3.5, 0.5), SIMD2(3.5, 3.5), SIMD2(0.5, 3.5)])])
        #expect(contours[0].signedArea == 9)
        #expect(roundTrip(m) == m.voxels)
    }

    @Test func ringGivesAnOuterAndAHoleContour() {
        let m = mask([".......", ".#####.", ".##.##.", ".#...#.", ".##.##.", ".#####.", "......."])
        let contours = traceContours(m.voxels, width: m.width, height: m.height)
        #expect(contours.count == 2)
        // The outer boundary runs one way (area +25), the plus-shaped hole the other (-5).
        #expect(contours.map(\.signedArea).sorted() == [-5, 25])
        #expect(contours.first { $0.signedArea < 0 }?.points.count == 12)
        #expect(roundTrip(m) == m.voxels)
    }

    @Test func twoIslandsGiveTwoContours() {
        let m = mask(["##....", "##..#.", "....#.", "....#."])
        let contours = traceContours(m.voxels, width: m.width, height: m.height)
        #expect(contours.map(\.signedArea).sorted() == [3, 4])
        #expect(roundTrip(m) == m.voxels)
    }

    /// Pixels that touch only at a corner: two squares, each a simple polygon, sharing that corner.
    @Test func diagonalTouchGivesSeparateContours() {
        let m = mask(["....", ".#..", "..#.", "...."])
        let contours = traceContours(m.voxels, width: m.width, height: m.height)
        #expect(contours.count == 2)
        #expect(contours.allSatisfy { $0.points.count == 4 && $0.signedArea == 1 })
        #expect(contours.allSatisfy { $0.points.contains(SIMD2(1.5, 1.5)) })
        #expect(roundTrip(m) == m.voxels)
        // The other diagonal too.
        let other = mask(["....", "..#.", ".#..", "...."])
        #expect(traceContours(other.voxels, width: 4, height: 4).count == 2)
        #expect(roundTrip(other) == other.voxels)
    }

    @Test func maskFillingTheImageFollowsItsBorder() {
        let m = (voxels: [UInt8](repeating: 1, count: 12), width: 4, height: 3)
        let contours = traceContours(m.voxels, width: 4, height: 3)
        #expect(contours == [PixelContour(points: [SIMD2(-0.5, -0.5), SIMD2(3.5, -0.5), SIMD2(3.5, 2.5), SIMD2(-0.5, 2.5)])])
        #expect(roundTrip(m) == m.voxels)
        #expect(traceContours([UInt8](repeating: 0, count: 12), width: 4, height: 3).isEmpty)
    }

    /// Any mask, holes in islands in holes included, comes back exactly: pixel-edge vertices
    /// put no pixel centre on a contour.
    @Test func randomMasksComeBackExactly() {
        var generator = SplitMix(seed: 19)
        for trial in 0..<200 {
            let width = 1 + Int(generator.next() % 23), height = 1 + Int(generator.next() % 19)
            let density = generator.next() % 100
            let voxels = (0..<(width * height)).map { _ in generator.next() % 100 < density ? UInt8(1) : 0 }
            let contours = traceContours(voxels, width: width, height: height)
            #expect(fillEvenOdd(contours.map(\.points), width: width, height: height) == voxels, "trial \(trial)")
            // Outer areas less hole areas is the pixel count.
            #expect(contours.map(\.signedArea).reduce(0, +) == Double(voxels.filter { $0 != 0 }.count), "trial \(trial)")
        }
    }
}

@Suite struct EvenOddFillTests {
    /// A triangle drawn by hand: centres with x + y < 4.2 are inside, 5 + 4 + 3 + 2 + 1 of them.
    @Test func triangleFillsThePixelCentresInside() {
        let filled = fillEvenOdd([[SIMD2(-0.5, -0.5), SIMD2(4.7, -0.5), SIMD2(-0.5, 4.7)]], width: 6, height: 6)
        for y in 0..<6 { for x in 0..<6 { #expect(filled[y * 6 + x] == (x + y <= 4 ? 1 : 0), "(\(x), \(y))") } }
        #expect(filled.reduce(0) { $0 + Int($1) } == 15)
    }

    /// Even-odd: overlapping polygons cancel where they overlap, whichever way each runs.
    @Test func overlapCancelsWhateverTheDirection() {
        let a = [SIMD2(-0.5, -0.5), SIMD2(2.5, -0.5), SIMD2(2.5, 2.5), SIMD2(-0.5, 2.5)]
        let b = [SIMD2(0.5, 0.5), SIMD2(3.5, 0.5), SIMD2(3.5, 3.5), SIMD2(0.5, 3.5)]
        let expected: [UInt8] = [1, 1, 1, 0,
                                 1, 0, 0, 1,
                                 1, 0, 0, 1,
                                 0, 1, 1, 1]
        #expect(fillEvenOdd([a, b], width: 4, height: 4) == expected)
        #expect(fillEvenOdd([a, b.reversed()], width: 4, height: 4) == expected)
    }

    @Test func polygonsOffTheImageAreClipped() {
        let huge = [SIMD2(-1e9, -1e9), SIMD2(1e9, -1e9), SIMD2(1e9, 1e9), SIMD2(-1e9, 1e9)]
        #expect(fillEvenOdd([huge], width: 3, height: 2) == [1, 1, 1, 1, 1, 1])
        let away = [SIMD2(10.0, 10), SIMD2(12, 10), SIMD2(12, 12)]
        #expect(fillEvenOdd([away], width: 3, height: 2) == [0, 0, 0, 0, 0, 0])
        #expect(fillEvenOdd([[SIMD2(0.0, 0), SIMD2(1, 1)]], width: 2, height: 2) == [0, 0, 0, 0])  // no area
    }
}

/// A small seeded generator (SplitMix64), so that the random masks are the same every run.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
