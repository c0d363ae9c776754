import Foundation
import Testing
import Tensors
import Models

/// The parity fixtures load, hold what manifest.json and README.md say, and have
/// the shapes of the architectures they stand for.
@Suite struct CheckpointParityFixtureTests {
    /// The shape a stored slice must have: `[0,:,0:16,0:16]` of `shape`, or of the
    /// (side, side, C) grid view of a (1, L, C) token tensor for `.grid[...]` keys.
    private func sliceShape(key: String, name: String, shape: [Int]) throws -> [Int] {
        var label = String(key.dropFirst(name.count))
        var base = shape
        if label.hasPrefix(".grid") {
            let side = Int(Double(shape[1]).squareRoot())
            try #require(shape.count == 3 && side * side == shape[1], "\(key): not a square token grid")
            base = [side, side, shape[2]]
            label.removeFirst(".grid".count)
        }
        let parts = label.dropFirst().dropLast().split(separator: ",", omittingEmptySubsequences: false)
        try #require(label.first == "[" && label.last == "]" && parts.count == base.count, "\(key): unreadable slice")
        return try zip(parts, base).compactMap { part, size -> Int? in
            if part == ":" { return size }
            if let range = part.split(separator: ":").map({ Int($0) }) as [Int?]?, range.count == 2,
               let lo = range[0], let hi = range[1] {
                try #require(0 <= lo && lo < hi && hi <= size, "\(key): slice \(part) outside \(size)")
                return hi - lo
            }
            try #require(Int(part) != nil, "\(key): slice part \(part)")
            return nil   // an integer index drops the axis
        }
    }

    @Test func everyManifestEntryIsStoredAsDocumented() throws {
        let manifest = try ParityFixtures.manifest()
        #expect(manifest.count == 8)
        for (file, entries) in manifest {
            let tensors = try ParityFixtures.tensors(file)
            #expect(Set(tensors.keys) == Set(entries.values.flatMap(\.stored)), "\(file) keys")
            for (name, entry) in entries {
                for key in entry.stored {
                    let tensor = try #require(tensors[key], "\(file): \(key) missing")
                    let maxAbs = tensor.values.reduce(Float(0)) { max($0, abs($1)) }
                    if entry.stored == [name] {
                        #expect(tensor.shape == entry.shape, "\(file): \(name) shape")
                        let sum = tensor.values.reduce(0.0) { $0 + Double($1) }
                        #expect(abs(sum - entry.sum) <= 1e-5 * max(1, entry.maxAbs * Double(tensor.count).squareRoot()),
                                "\(file): \(name) sum \(sum) vs \(entry.sum)")
                        #expect(maxAbs == Float(entry.maxAbs), "\(file): \(name) max abs")
                    } else {
                        #expect(tensor.shape == (try sliceShape(key: key, name: name, shape: entry.shape)), "\(file): \(key) shape")
                        #expect(maxAbs <= Float(entry.maxAbs), "\(file): \(key) exceeds the full tensor's max abs")
                    }
                }
            }
        }
    }

    @Test func liteMedSAMReferenceShapesMatchTheArchitecture() throws {
        let manifest = try ParityFixtures.manifest()
        let encoder = try #require(manifest["litemedsam-encoder.safetensors"])
        let expected: [String: [Int]] = [
            "input[0,0]": [256, 256], "patch_embed": [1, 64, 256, 256], "layers.0": [1, 16384, 128],
            "layers.1": [1, 4096, 160], "layers.2": [1, 4096, 320], "layers.3": [1, 4096, 320],
            "image_embedding": [1, 256, 64, 64],
        ]
        for (name, shape) in expected { #expect(encoder[name]?.shape == shape, "encoder \(name)") }
        let decoder = try #require(manifest["litemedsam-decoder.safetensors"])
        let decoderShapes: [String: [Int]] = [
            "box": [1, 4], "sparse_embeddings": [1, 2, 256], "dense_embeddings": [1, 256, 64, 64],
            "image_pe": [1, 256, 64, 64], "transformer.hs": [1, 7, 256], "transformer.src": [1, 4096, 256],
            "output_upscaling": [1, 32, 256, 256], "hyper_in": [1, 4, 32], "low_res_logits": [1, 1, 256, 256],
            "iou_predictions": [1, 1], "points.sparse_embeddings": [1, 3, 256],
            "mask_prompt.dense_embeddings": [1, 256, 64, 64],
        ]
        for (name, shape) in decoderShapes { #expect(decoder[name]?.shape == shape, "decoder \(name)") }

        // The non-square case: the mask is the reference's own logits thresholded at 0, at 200×300.
        let rect = try ParityFixtures.tensors("litemedsam-rect.safetensors")
        let logits = try #require(rect["mask_logits"]), mask = try #require(rect["mask"])
        #expect(logits.shape == [200, 300] && mask.shape == [200, 300])
        #expect(zip(logits.values, mask.values).allSatisfy { ($0 > 0 ? 1 : 0) == $1 })
        let foreground = mask.values.reduce(0, +) / Float(mask.count)
        #expect(foreground > 0.01 && foreground < 0.5, "the box should select a blob, not nothing or everything")
    }

    @Test func reducedViTWeightsLoadAndInterpolatedTablesDiffer() throws {
        let weights = try ParityFixtures.tensors("vit-reduced-weights.safetensors")
        let interp = try ParityFixtures.tensors("vit-reduced-interp-weights.safetensors")
        #expect(weights.count == 37 && weights["pos_embed"]?.shape == [1, 8, 8, 64])
        #expect(weights["blocks.0.attn.rel_pos_h"]?.shape == [5, 32] && weights["blocks.1.attn.rel_pos_h"]?.shape == [15, 32])
        // The interpolation case differs from the model's shapes in exactly the four tables.
        let modelShapes = weights.mapValues(\.shape)
        do {
            try validate(stateDict: interp, against: modelShapes, file: "vit-reduced-interp-weights.safetensors")
            Issue.record("the interpolation case should not match the model's table lengths")
        } catch let error as CheckpointError {
            #expect(error.reason.contains("4 mis-shaped: blocks.0.attn.rel_pos_h (checkpoint [9, 32], model [5, 32])"))
            #expect(!error.reason.contains("missing") && !error.reason.contains("unexpected"))
        }
        let outputs = try ParityFixtures.tensors("vit-reduced.safetensors")
        #expect(outputs["input"]?.shape == [1, 3, 128, 128] && outputs["output"]?.shape == [1, 32, 8, 8])
    }
}
