import Foundation
import Tensors
import Testing
@testable import Tuning

private func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-tasks-\(UUID())")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Test func taskRoundTripsPromptsManifestAndTrainingState() throws {
    let root = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: root) }
    let store = TaskStore(root: root)
    let arena = ParameterArena(layout: [("tokens", [2, 3]), ("dense_global", [3])])
    for i in 0 ..< arena.count { arena.values.data[i] = Float(i) * 0.5 - 1 }
    let manifest = TaskManifest(
        name: "kidney", baseModel: .init(name: "litemedsam", sha256: "00"), preprocessing: .init(window: "abdomen", labels: nil),
        prompts: .init(mode: .decoder, sparseTokens: 2, dense: .global, vptTokens: nil, withBox: false),
        training: .init(epochs: 1, batchSize: 1, learningRate: 3e-3, warmupEpochs: 0, seed: 1, augment: false,
                        validationFraction: 0, patience: nil, trainingCases: ["a"], validationCases: []))
    try store.save(manifest, prompts: TaskStore.namedPrompts(arena, values: arena.values))
    var optimiser = AdamW(parameterCount: arena.count)
    arena.gradients.data.update(repeating: 1)
    optimiser.update(arena, lr: 0.1)
    try store.saveTrainingState("kidney", values: arena.values, optimiser: optimiser)

    let (readManifest, prompts) = try store.load("kidney")
    #expect(readManifest == manifest)
    #expect(prompts["tokens"]?.shape == [2, 3])
    #expect(prompts["tokens"]?.values == [-1, -0.5, 0, 0.5, 1, 1.5])
    #expect(prompts["dense_global"]?.values == [2, 2.5, 3])
    let state = try #require(try store.loadTrainingState("kidney"))
    #expect(state.values.values == arena.values.values)
    #expect(state.optimiser.step == 1)
    #expect(state.optimiser.firstMoment == optimiser.firstMoment)
    #expect(state.optimiser.secondMoment == optimiser.secondMoment)
}

@Test func missingTaskIsAClearError() throws {
    let root = try temporaryFolder()
    defer { try? FileManager.default.removeItem(at: root) }
    #expect {
        try TaskStore(root: root).load("liver")
    } throws: { error in
        "\(error)".contains("no task named 'liver'")
    }
}

@Test(arguments: [("liver", true), ("kidney-left_2.v1", true), ("", false), (".hidden", false), ("a/b", false), ("../x", false)])
func taskNamesAreSafeFolderNames(name: String, valid: Bool) {
    #expect(TaskStore.isValidName(name) == valid)
}
