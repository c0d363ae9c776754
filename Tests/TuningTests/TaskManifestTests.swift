import Foundation
import Imaging
import Testing
@testable import Tuning

private func sampleManifest() -> TaskManifest {
    TaskManifest(
        name: "liver",
        baseModel: .init(name: "litemedsam", sha256: String(repeating: "ab", count: 32)),
        preprocessing: .init(window: "liver", labels: [1]),
        prompts: .init(mode: .decoder, sparseTokens: 4, dense: .none, vptTokens: nil, withBox: false),
        training: .init(epochs: 30, batchSize: 1, learningRate: 3e-3, warmupEpochs: 1, seed: 0, augment: true,
                        validationFraction: 0.2, patience: nil, trainingCases: ["a", "b"], validationCases: ["c"])
    )
}

@Test func manifestRoundTripsThroughJSON() throws {
    var manifest = sampleManifest()
    manifest.history = [.init(epoch: 1, trainingLoss: 0.5, validationDice: 0.7, validationIoU: 0.55, seconds: 3),
                        .init(epoch: 2, trainingLoss: 0.4, validationDice: 0.6, validationIoU: 0.45, cascadeDice: 0.8, seconds: 3)]
    manifest.best = manifest.history[1]
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("manifest-\(UUID()).json")
    defer { try? FileManager.default.removeItem(at: url) }
    try manifest.encoded().write(to: url, options: .atomic)
    #expect(try TaskManifest.read(from: url) == manifest)
}

/// An epoch delivers the better of its stage-1 and cascade Dice (the cascade is used only
/// where validation says it helps); without validation there is nothing to compare.
@Test func anEpochIsJudgedByWhatItDelivers() {
    let cascadeBetter = TaskManifest.EpochRecord(epoch: 1, trainingLoss: 0.5, validationDice: 0.6, validationIoU: 0.4, cascadeDice: 0.8, seconds: 1)
    let stage1Better = TaskManifest.EpochRecord(epoch: 2, trainingLoss: 0.5, validationDice: 0.7, validationIoU: 0.5, cascadeDice: 0.3, seconds: 1)
    let noCascade = TaskManifest.EpochRecord(epoch: 3, trainingLoss: 0.5, validationDice: 0.65, validationIoU: 0.5, seconds: 1)
    let noValidation = TaskManifest.EpochRecord(epoch: 4, trainingLoss: 0.5, validationDice: nil, validationIoU: nil, seconds: 1)
    #expect(cascadeBetter.deliveredDice == 0.8)
    #expect(stage1Better.deliveredDice == 0.7)
    #expect(noCascade.deliveredDice == 0.65)
    #expect(noValidation.deliveredDice == nil)
}

/// The kept epoch, replayed over a run's records as `TrainingLoop` does: the first epoch,
/// then each that `replaces` it given the best delivered Dice so far.
private func keptEpoch(_ stage1AndCascade: [(Double, Double?)]) -> Int {
    var history: [TaskManifest.EpochRecord] = [], kept: TaskManifest.EpochRecord?
    for (i, (stage1, cascade)) in stage1AndCascade.enumerated() {
        let record = TaskManifest.EpochRecord(epoch: i + 1, trainingLoss: 1, validationDice: stage1, validationIoU: nil,
                                              cascadeDice: cascade, seconds: 1)
        history.append(record)
        let top = history.compactMap(\.deliveredDice).max()
        if kept.map({ TrainingLoop.replaces($0, with: record, top: top) }) ?? true { kept = record }
    }
    return kept!.epoch
}

/// Epochs whose delivered Dice are within the tolerance of the best are a tie, and stage 1
/// breaks it; a clearly better epoch still wins. The first case is the liver CT validated
/// on another patient: epoch 1 (barely trained) had the top cascade Dice but failed held out.
@Test func theKeptEpochIsTheBestStage1AmongNearTies() {
    let liver: [(Double, Double?)] = [(0.3118, 0.9763), (0.0037, 0.6916), (0.5852, 0.8985), (0.7518, 0.9728), (0.7631, 0.9710),
                                      (0.7479, 0.9722), (0.7650, 0.9707), (0.7655, 0.9706), (0.7679, 0.9706), (0.7688, 0.9705)]
    #expect(keptEpoch(liver) == 10)
    // A cascade clearly above the rest (by more than the tolerance) is kept.
    #expect(keptEpoch([(0.17, 0.84), (0.50, 0.70), (0.55, 0.72)]) == 1)
    // Without a cascade the rule is the best stage 1.
    #expect(keptEpoch([(0.40, nil), (0.60, nil), (0.55, nil), (0.605, nil)]) == 4)
    // A new top that leaves the kept epoch more than the tolerance behind replaces it.
    #expect(keptEpoch([(0.80, 0.90), (0.30, 0.905), (0.31, 0.95)]) == 3)
}

/// Among near ties, the epoch marking fewer of validation's slices without the structure
/// is kept before stage 1's Dice is looked at; a clearly better Dice still wins.
@Test func fewerEmptySlicesMarkedBreaksANearTie() {
    func record(_ epoch: Int, _ stage1: Double, _ cascade: Double, marked: Int) -> TaskManifest.EpochRecord {
        var r = TaskManifest.EpochRecord(epoch: epoch, trainingLoss: 1, validationDice: stage1, validationIoU: nil, cascadeDice: cascade, seconds: 1)
        (r.emptySlicesMarked, r.emptySlices) = (marked, 4)
        return r
    }
    let kept = record(1, 0.70, 0.80, marked: 4)
    #expect(TrainingLoop.replaces(kept, with: record(2, 0.60, 0.795, marked: 1), top: 0.80))
    #expect(TrainingLoop.replaces(kept, with: record(2, 0.75, 0.80, marked: 4), top: 0.80))      // same count: stage 1
    #expect(!TrainingLoop.replaces(record(1, 0.70, 0.80, marked: 1), with: record(2, 0.75, 0.80, marked: 3), top: 0.80))
    #expect(!TrainingLoop.replaces(kept, with: record(2, 0.60, 0.70, marked: 0), top: 0.80))
}

@Test func manifestFromTheFutureIsRefusedNamingTheFile() throws {
    var manifest = sampleManifest()
    manifest.format = TaskManifest.currentFormat + 1
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("future-\(UUID()).json")
    defer { try? FileManager.default.removeItem(at: url) }
    try manifest.encoded().write(to: url)
    #expect {
        try TaskManifest.read(from: url)
    } throws: { error in
        "\(error)".hasPrefix(url.path) && "\(error)".contains("newer")
    }
}

@Test func garbageIsNotATaskFile() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("garbage-\(UUID()).json")
    defer { try? FileManager.default.removeItem(at: url) }
    try Data("{\"name\": 3}".utf8).write(to: url)
    #expect(throws: InputError.self) { try TaskManifest.read(from: url) }
}

/// Settings → task.json → settings keeps the prompt layout (what prediction rebuilds).
@Test func settingsAndManifestMapBothWays() {
    var settings = FitSettings()
    settings.mode = .deep; settings.sparseTokens = 6; settings.dense = .global; settings.vptTokens = 5; settings.withBox = true
    settings.learningRate = 3e-3
    let prompts = TaskManifest.Prompts(settings)
    let back = FitSettings(prompts)
    #expect(back.mode == .deep && back.sparseTokens == 6 && back.dense == .global && back.vptTokens == 5 && back.withBox)
    #expect(TaskManifest.Prompts(back) == prompts)
    #expect(TaskManifest.Training(settings, trainingCases: ["a"], validationCases: []).learningRate == 0.003)
}
