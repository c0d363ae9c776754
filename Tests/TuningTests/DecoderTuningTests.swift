import Foundation
import Imaging
import Models
import Tensors
import Testing
@testable import Tuning

private let checkpoint = repositoryRoot.appendingPathComponent("models/lite_medsam.pth")
private let hasCheckpoint = FileManager.default.fileExists(atPath: checkpoint.path)

/// Decoder-mode steps on the real LiteMedSAM decoder (one encoder pass, then decoder only).
@Suite(.enabled(if: hasCheckpoint)) struct DecoderTuningTests {
    static let segmenter = try! Segmenter(weights: loadCheckpoint(at: checkpoint))
    static let example: TuningExample = {
        var example = DeepTuningTests.example(segmenter)
        example.embedding = segmenter.imageEmbedding(example.geometry)
        return example
    }()

    static func trained(seed: UInt64, dense: DensePrompt = .none) -> PromptTuner {
        var settings = FitSettings()
        settings.seed = seed
        settings.dense = dense
        let tuner = PromptTuner(segmenter: segmenter, settings: settings)
        for _ in 0 ..< 3 { tuner.step([example], rate: 3e-3) }
        return tuner
    }

    /// `--seed` makes runs repeatable: the same seed gives the same prompts, bit for bit.
    @Test func sameSeedGivesTheSamePrompts() {
        #expect(Self.trained(seed: 7).arena.values.values == Self.trained(seed: 7).arena.values.values)
        #expect(Self.trained(seed: 7).arena.values.values != Self.trained(seed: 8).arena.values.values)
    }

    /// `--position-jitter` moves every step's example (6 cells of the 64-cell grid at 0.1),
    /// so the prompts differ from an unmoved run's; the moves come from each epoch's seeded
    /// generator, so two runs agree bit for bit. Box-prompted tuning (stage 2) never moves.
    @Test func positionJitterMovesExamplesRepeatably() throws {
        func epoch(jitter: Double, withBox: Bool = false) throws -> PromptTuner {
            var settings = FitSettings()
            (settings.epochs, settings.positionJitter, settings.withBox) = (1, jitter, withBox)
            var loop = TrainingLoop(tuner: PromptTuner(segmenter: Self.segmenter, settings: settings),
                                    training: [Self.example, Self.example], validation: [])
            _ = try loop.run()
            return loop.tuner
        }
        let moved = try epoch(jitter: 0.1)
        #expect(moved.positionJitterCells == 6)
        #expect(moved.arena.values.values == (try epoch(jitter: 0.1)).arena.values.values)
        #expect(moved.arena.values.values != (try epoch(jitter: 0)).arena.values.values)
        #expect((try epoch(jitter: 0)).positionJitterCells == nil)
        #expect((try epoch(jitter: 0.1, withBox: true)).positionJitterCells == nil)
    }

    /// Stage 2 stops after `Stage2Training.patience` epochs without a better validation Dice
    /// and keeps its best epoch's tokens; an epoch that improves resets the count.
    @Test func stage2StopsWhenItsCascadeDiceStopsImproving() throws {
        var stage1 = FitSettings()
        stage1.epochs = 20
        let settings = Stage2Training.settings(stage1: stage1)
        func run(_ dices: [Double]) throws -> (TrainingLoop.StopReason, epochs: Int, best: Int?, keptIsBest: Bool) {
            var loop = TrainingLoop(tuner: PromptTuner(segmenter: Self.segmenter, settings: settings), training: [Self.example], validation: [])
            var prompts: [[Float]] = []  // each epoch's, as validation saw them
            loop.validationScore = { tuner in
                prompts.append(tuner.arena.values.values)
                return (dices[min(prompts.count, dices.count) - 1], 0)
            }
            let stop = try loop.run()
            let best = loop.best?.epoch
            return (stop, loop.history.count, best, best.map { loop.bestValues.values == prompts[$0 - 1] } ?? false)
        }
        let flat = try run([0.80, 0.70, 0.75, 0.90, 0.90, 0.90])
        #expect(flat.0 == .earlyStop && flat.epochs == 1 + Stage2Training.patience && flat.best == 1 && flat.keptIsBest)
        // Epoch 3 improves, so the count starts again from it.
        let late = try run([0.50, 0.40, 0.60, 0.55, 0.58, 0.90])
        #expect(late.0 == .earlyStop && late.epochs == 3 + Stage2Training.patience && late.best == 3 && late.keptIsBest)
    }

    /// A learnable global dense prompt starts at no_mask_embed and is trained with the tokens.
    @Test func globalDensePromptIsTrained() {
        let tuner = Self.trained(seed: 1, dense: .global)
        let start = Self.segmenter.model.promptEncoder.noMaskEmbed.values
        #expect(tuner.arena.value("dense_global").values != start)
        #expect(tuner.arena.gradient("dense_global").values.contains { $0 != 0 })
    }
}
