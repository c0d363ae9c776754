import Foundation
import Testing
import Tensors
import Models

/// The reference tensors of fixtures/parity/, written by scripts/make-parity-fixtures
/// (layout and slicing in fixtures/parity/README.md). Parity tests of the models
/// load them through here.
enum ParityFixtures {
    /// The repository root, found from this file's path (tests run from any folder).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let folder = repositoryRoot.appendingPathComponent("fixtures/parity")

    /// What manifest.json records about one reference tensor: its full shape,
    /// float64 sum and max |value|, and the safetensors keys holding it or its slices.
    struct Entry {
        let shape: [Int]
        let sum: Double
        let maxAbs: Double
        let stored: [String]
    }

    static func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// The tensors of one fixture file, e.g. `tensors("litemedsam-encoder.safetensors")`.
    static func tensors(_ file: String) throws -> [String: Tensor] {
        try readSafetensors(at: url(file))
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// manifest.json: per fixture file, its entries by reference-tensor name.
    static func manifest() throws -> [String: [String: Entry]] {
        let raw = try json("manifest.json")
        var result: [String: [String: Entry]] = [:]
        for (file, value) in raw {
            let tensors = try #require((value as? [String: Any])?["tensors"] as? [String: [String: Any]])
            result[file] = try tensors.mapValues { e in
                Entry(shape: try #require(e["shape"] as? [Int]), sum: try #require(e["sum"] as? Double),
                      maxAbs: try #require(e["max_abs"] as? Double), stored: try #require(e["stored"] as? [String]))
            }
        }
        return result
    }

    /// The parity criterion of the project: max |actual − reference| ≤ `tolerance` × the
    /// full reference tensor's max |value| (`scale`; the slice's own when nil).
    static func maxError(_ actual: [Float], _ reference: [Float]) -> Float {
        precondition(actual.count == reference.count, "sizes differ: \(actual.count) vs \(reference.count)")
        return zip(actual, reference).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func expectClose(_ actual: [Float], _ reference: [Float], scale: Float? = nil, tolerance: Float = 1e-3,
                            _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard actual.count == reference.count else {
            Issue.record("\(what): \(actual.count) values vs \(reference.count) in the reference", sourceLocation: sourceLocation)
            return
        }
        let bound = tolerance * (scale ?? reference.reduce(0) { max($0, abs($1)) })
        let error = maxError(actual, reference)
        #expect(error <= bound, "\(what): max abs error \(error) > \(bound)", sourceLocation: sourceLocation)
    }
}
