import Foundation
import Testing
import Tensors
@testable import Models

private func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Expects `body` to throw a `CheckpointError` whose text contains every one of `parts`.
private func expectCheckpointError(containing parts: [String], _ body: () throws -> Void,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
        Issue.record("expected an error containing \(parts)", sourceLocation: sourceLocation)
    } catch let error as CheckpointError {
        for part in parts {
            #expect(error.description.contains(part), "\(error) lacks \(part)", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a CheckpointError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// JSON numbers parse as Double (Foundation may be off in the last bit); the
/// fixtures hold Float32 values, so compare after rounding to Float.
private func floats(_ json: Any?) -> [Float]? { (json as? [Double])?.map { Float($0) } }

/// Compares a loaded tensor with a fixture entry `{"shape": [...], "values": [...]}`.
private func expectMatches(_ tensor: Tensor?, _ fixture: Any?, _ name: String) {
    guard let tensor, let fixture = fixture as? [String: Any],
          let shape = fixture["shape"] as? [Int], let values = floats(fixture["values"]) else {
        Issue.record("\(name): missing tensor or fixture entry")
        return
    }
    #expect(tensor.shape == shape, "\(name) shape")
    #expect(tensor.values == values, "\(name) values")
}

@Suite struct CheckpointTests {
    @Test func realLiteMedSAMCheckpointLoads() throws {
        let url = ParityFixtures.repositoryRoot.appendingPathComponent("models/lite_medsam.pth")
        try #require(FileManager.default.fileExists(atPath: url.path), "models/lite_medsam.pth is missing: run scripts/setup")
        let expected = try ParityFixtures.json("checkpoint-samples.json")
        let state = try loadCheckpoint(at: url)
        #expect(state.count == expected["entries"] as? Int)
        #expect(state.values.reduce(0) { $0 + $1.count } == expected["values"] as? Int)
        let samples = try #require(expected["samples"] as? [String: [String: Any]])
        for (key, sample) in samples {
            let tensor = try #require(state[key], "\(key) missing")
            #expect(tensor.shape == sample["shape"] as? [Int], "\(key) shape")
            let first = try #require(floats(sample["first"]))
            #expect(Array(tensor.values.prefix(first.count)) == first, "\(key) first values")
            let sum = tensor.values.reduce(0.0) { $0 + Double($1) }
            let reference = try #require(sample["sum"] as? Double)
            #expect(abs(sum - reference) <= 1e-6 * max(1, abs(reference)), "\(key) sum \(sum) vs \(reference)")
        }
    }

    @Test func smallTorchCheckpointsWithHalfBFloat16StridesAndNesting() throws {
        let expected = try ParityFixtures.json("small-checkpoints.json")
        let files = try #require(expected["files"] as? [String])
        let tensors = try #require(expected["tensors"] as? [String: Any])
        for file in files {
            let state = try loadCheckpoint(at: ParityFixtures.url(file))
            #expect(Set(state.keys) == Set(tensors.keys), "\(file) keys")
            for (name, fixture) in tensors { expectMatches(state[name], fixture, "\(file) \(name)") }
        }
    }

    @Test func maliciousPickleIsRefusedNamingTheGlobal() {
        let url = ParityFixtures.url("malicious-eval.pth")
        expectCheckpointError(containing: ["malicious-eval.pth", "builtins.eval"]) { _ = try loadCheckpoint(at: url) }
    }

    @Test func unpicklerRefusesGlobalsAndObjectOpcodes() {
        let fail = { (reason: String) in CheckpointError(file: "test.pkl", reason: reason) }
        // PROTO 2, GLOBAL os.system, STOP
        let global: [UInt8] = [0x80, 0x02] + Array("cos\nsystem\n".utf8) + [0x2E]
        // PROTO 2, GLOBAL collections.OrderedDict, EMPTY_TUPLE, NEWOBJ, STOP
        let newobj: [UInt8] = [0x80, 0x02] + Array("ccollections\nOrderedDict\n".utf8) + [0x29, 0x81, 0x2E]
        // PROTO 4, SHORT_BINUNICODE 'subprocess', SHORT_BINUNICODE 'run', STACK_GLOBAL, STOP
        let stackGlobal: [UInt8] = [0x80, 0x04, 0x8C, 10] + Array("subprocess".utf8) + [0x8C, 3] + Array("run".utf8) + [0x93, 0x2E]
        for (bytes, part) in [(global, "os.system"), (newobj, "NEWOBJ"), (stackGlobal, "subprocess.run"),
                              (Array(global.prefix(5)), "truncated")] {
            expectCheckpointError(containing: ["test.pkl", part]) {
                _ = try bytes.withUnsafeBytes { raw in
                    var unpickler = RestrictedUnpickler(raw, fail: fail)
                    return try unpickler.load()
                }
            }
        }
    }

    @Test func truncatedZipIsAnError() throws {
        let source = try Data(contentsOf: ParityFixtures.url("small-nested-model.pth"))
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        for length in [0, 3, 100, source.count / 2, source.count - 30] {
            let url = folder.appendingPathComponent("cut-\(length).pth")
            try source.prefix(length).write(to: url)
            expectCheckpointError(containing: ["cut-\(length).pth"]) { _ = try loadCheckpoint(at: url) }
        }
    }

    @Test func otherFilesAreRefusedClearly() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let text = folder.appendingPathComponent("notes.pth")
        try Data("just some text, not weights\n".utf8).write(to: text)
        expectCheckpointError(containing: ["notes.pth", "neither"]) { _ = try loadCheckpoint(at: text) }
        expectCheckpointError(containing: ["absent.pth", "cannot open"]) {
            _ = try loadCheckpoint(at: folder.appendingPathComponent("absent.pth"))
        }
    }

    @Test func safetensorsRoundTrip() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let tensors: [String: Tensor] = [
            "b.weight": Tensor(shape: [2, 3], values: [1, -2, 3.5, 0, .greatestFiniteMagnitude, -1e-30]),
            "a.bias": Tensor(shape: [3], values: [0.25, 0.5, 0.75]),
            "scalar": Tensor(shape: [], values: [42]),
            "empty": Tensor(zeros: [0, 4]),
            "quote\"name": Tensor(shape: [1, 1, 1], values: [7]),
        ]
        let url = folder.appendingPathComponent("prompts.safetensors")
        try writeSafetensors(tensors, metadata: ["model": "litemedsam", "tokens": "4"], to: url)
        let back = try readSafetensors(at: url)
        #expect(Set(back.keys) == Set(tensors.keys))
        for (name, tensor) in tensors {
            #expect(back[name]?.shape == tensor.shape, "\(name) shape")
            #expect(back[name]?.values == tensor.values, "\(name) values")
        }
        #expect(try readSafetensorsMetadata(at: url) == ["model": "litemedsam", "tokens": "4"])
        #expect(try loadCheckpoint(at: url).count == tensors.count)

        // Spec: header padded to 8 bytes, tensors in sorted key order, no temporary left behind.
        let bytes = try Data(contentsOf: url)
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(headerLength % 8 == 0)
        let header = String(decoding: bytes[8..<8 + headerLength], as: UTF8.self)
        let order = ["a.bias", "b.weight", "empty", "quote", "scalar"].map { header.range(of: "\"\($0)")!.lowerBound }
        #expect(order == order.sorted())
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["prompts.safetensors"])
    }

    @Test func safetensorsWrittenByPythonReads() throws {
        let url = ParityFixtures.url("python-written.safetensors")
        let expected = try ParityFixtures.json("python-written.json")
        let tensors = try #require(expected["tensors"] as? [String: Any])
        let state = try readSafetensors(at: url)
        #expect(Set(state.keys) == Set(tensors.keys))
        for (name, fixture) in tensors { expectMatches(state[name], fixture, name) }
        #expect(try readSafetensorsMetadata(at: url) == expected["metadata"] as? [String: String])
    }

    @Test func truncatedSafetensorsIsAnError() throws {
        let source = try Data(contentsOf: ParityFixtures.url("python-written.safetensors"))
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("cut.safetensors")
        try source.prefix(source.count - 5).write(to: url)
        expectCheckpointError(containing: ["cut.safetensors", "truncated"]) { _ = try readSafetensors(at: url) }
    }

    @Test func validationListsMissingUnexpectedAndMisShapedKeys() throws {
        let state: [String: Tensor] = [
            "encoder.weight": Tensor(zeros: [4, 3]),
            "encoder.bias": Tensor(zeros: [4]),
            "extra.weight": Tensor(zeros: [1]),
        ]
        try validate(stateDict: state, against: ["encoder.weight": [4, 3], "encoder.bias": [4], "extra.weight": [1]])
        expectCheckpointError(containing: [
            "model.pth", "1 missing: decoder.weight", "1 unexpected: extra.weight",
            "1 mis-shaped: encoder.weight (checkpoint [4, 3], model [3, 4])",
        ]) {
            try validate(stateDict: state, against: ["encoder.weight": [3, 4], "encoder.bias": [4], "decoder.weight": [2]],
                         file: "model.pth")
        }
        let many = Dictionary(uniqueKeysWithValues: (0..<9).map { ("k\($0)", [1]) })
        expectCheckpointError(containing: ["9 missing: k0, k1, k2, k3, k4, … 4 more"]) {
            try validate(stateDict: [:], against: many)
        }
    }
}

@Suite struct CheckpointVariantTests {
    @Test func deflatedZipReadsThroughZIPFoundation() throws {
        let expected = try #require(try ParityFixtures.json("small-checkpoints.json")["tensors"] as? [String: Any])
        let state = try loadCheckpoint(at: ParityFixtures.url("small-deflated.pth"))
        #expect(Set(state.keys) == Set(expected.keys))
        for (name, fixture) in expected { expectMatches(state[name], fixture, "deflated \(name)") }
    }

    @Test func bigEndianCheckpointIsConverted() throws {
        let expected = try #require(try ParityFixtures.json("small-bigendian.json")["tensors"] as? [String: Any])
        let state = try loadCheckpoint(at: ParityFixtures.url("small-bigendian.pth"))
        #expect(Set(state.keys) == Set(expected.keys))
        for (name, fixture) in expected { expectMatches(state[name], fixture, "big-endian \(name)") }
    }
}
