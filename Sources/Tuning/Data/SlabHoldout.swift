import Foundation

/// Validation for a dataset of one volume (a common first try), where holding out a
/// whole case would leave nothing to train on: a contiguous run of the volume's slices
/// is held out instead, and `guardSlices` slices on each side of it are left out of
/// training too, since neighbouring slices are nearly the same image and would leak.
/// Where the volume extends well past the structure, a run of its slices without the
/// structure is held out as well (`absentFirst`…`absentLast`), so that validation sees
/// what the task marks where there is nothing to mark.
public struct SlabHoldout: Codable, Sendable, Equatable {
    public var caseName: String
    /// The validation slices, inclusive, as 0-based slice indices of the case.
    public var first: Int
    public var last: Int
    public var guardSlices: Int
    /// Validation slices without the structure, inclusive; nil when none are held out
    /// (and in tasks from before 7 Dec 2026).
    public var absentFirst: Int?
    public var absentLast: Int?

    public init(caseName: String, first: Int, last: Int, guardSlices: Int, absent: ClosedRange<Int>? = nil) {
        (self.caseName, self.first, self.last, self.guardSlices) = (caseName, first, last, guardSlices)
        (absentFirst, absentLast) = (absent?.lowerBound, absent?.upperBound)
    }

    var absent: ClosedRange<Int>? {
        guard let absentFirst, let absentLast else { return nil }
        return absentFirst...absentLast
    }

    /// Whether slice `index` of the case is validated on.
    public func validates(_ index: Int) -> Bool {
        (first...last).contains(index) || absent?.contains(index) == true
    }

    /// Whether slice `index` of the case is validation or guard (not for training).
    public func excludesFromTraining(_ index: Int) -> Bool {
        if index >= first - guardSlices && index <= last + guardSlices { return true }
        guard let absent else { return false }
        return index >= absent.lowerBound - guardSlices && index <= absent.upperBound + guardSlices
    }

    public var description: String {
        let slab = "slices \(first)–\(last) of \(caseName) (\(last - first + 1) contiguous slices; \(guardSlices) on each side left out of training)"
        guard let absent else { return slab }
        return slab + ", and slices \(absent.lowerBound)–\(absent.upperBound) without the structure"
    }
}

/// Picks the slab: in the volume with the most slices, `fraction` of the run of slices
/// that hold the structure, at a seeded place inside that run (so it is validated where
/// the structure is). Where the slices beyond one end of that run number at least twice
/// the slab's length plus the guard, as many of them as the slab has, at the volume's
/// far end, are validated too (as many stay for training). Nil when the volume is too
/// short to keep training slices as well.
public func chooseSlabHoldout(_ slices: [LabeledSlice], fraction: Double, guardSlices: Int = 2, seed: UInt64) -> SlabHoldout? {
    let volumes = Dictionary(grouping: slices.filter(\.isVolumeSlice), by: \.caseName)
    guard let (name, caseSlices) = volumes.max(by: { $0.value.count < $1.value.count || ($0.value.count == $1.value.count && $0.key > $1.key) }),
          fraction > 0 else { return nil }
    let count = (caseSlices.map(\.index).max() ?? -1) + 1
    let withStructure = caseSlices.filter { $0.mask.foregroundCount > 0 }.map(\.index).sorted()
    let span = withStructure.count >= 3 ? withStructure.first!...withStructure.last! : 0...(count - 1)
    let length = max(1, Int((Double(span.count) * fraction).rounded()))
    guard count - length - 2 * guardSlices >= max(2, length) else { return nil }
    var generator = SeededGenerator(seed: seed ^ 0x51ab)
    let first = span.lowerBound + Int(generator.next() % UInt64(span.count - length + 1))
    let (below, above) = (span.lowerBound, count - 1 - span.upperBound)
    var absent: ClosedRange<Int>?
    if max(below, above) >= 2 * length + guardSlices {
        absent = above >= below ? (count - length)...(count - 1) : 0...(length - 1)
    }
    return SlabHoldout(caseName: name, first: first, last: first + length - 1, guardSlices: guardSlices, absent: absent)
}
