import Foundation

/// Which labels of a label map are foreground: label values, and segment names that a
/// Slicer segmentation (`.seg.nrrd`) maps to values in its own `Segment<N>_*` fields.
/// Names are resolved per file because Slicer numbers segments per file: "liver" may be
/// 5 in one case and 1 in the next.
public struct LabelSelection: Sendable, Equatable, ExpressibleByArrayLiteral {
    public var values: Set<Int>
    public var names: [String]

    public init(values: Set<Int> = [], names: [String] = []) {
        (self.values, self.names) = (values, names)
    }

    public init(arrayLiteral values: Int...) {
        self.init(values: Set(values))
    }

    /// `5`, `1,2`, `liver`, `liver,kidney_right`, `liver,2`: a whole number ≥ 0 is a label
    /// value, anything else a segment name. Nil when an item is empty or a negative number.
    public init?(parsing text: String) {
        var values = Set<Int>(), names: [String] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if item.isEmpty { return nil }
            if let value = Int(item) {
                guard value >= 0 else { return nil }
                values.insert(value)
            } else {
                names.append(item)
            }
        }
        self.init(values: values, names: names)
    }

    /// The label values picked in a file whose segments are `segments` (value → name);
    /// a name the file lacks is an error listing the names it has.
    public func resolved(in segments: [Int: String], file: String) throws -> Set<Int> {
        var picked = values
        for name in names {
            let matches = segments.filter { $0.value == name }.keys
            guard !matches.isEmpty else {
                let present = segments.sorted { $0.key < $1.key }.map { "\($0.value) (\($0.key))" }
                throw InputError(file: file, reason: present.isEmpty
                    ? "has no segment names, so segment '\(name)' cannot be picked (only a Slicer .seg.nrrd names its labels); give its label value"
                    : "no segment named '\(name)'; its segments: \(present.joined(separator: ", "))")
            }
            picked.formUnion(matches)
        }
        return picked
    }
}

/// `readMask(at:labels:)` with the selection's segment names looked up in the file's
/// own segments (a Slicer `.seg.nrrd`); values alone read any mask as before.
public func readMask(at url: URL, selecting selection: LabelSelection?) throws -> Mask {
    guard let selection, !selection.names.isEmpty else { return try readMask(at: url, labels: selection?.values) }
    // Only NRRD files carry segment names; elsewhere resolving throws the error that says so.
    guard case .nrrd = FileKind(url) else { return try readMask(at: url, labels: selection.resolved(in: [:], file: url.path)) }
    let file = try readNRRD(at: url)
    return file.grid.mask(labels: try selection.resolved(in: file.labelNames, file: url.path))
}
