import Foundation
import Testing
@testable import Tuning

private struct AdamWFixture: Decodable {
    struct Run: Decodable {
        let weightDecay: Float
        let start: [Float]
        let gradients: [[Float]]
        let rates: [Float]
        let expected: [Double]
    }
    let runs: [Run]
}

@Test func adamWMatchesTorch() throws {
    let fixture = try loadJSONFixture("fixtures/tuning/adamw.json", as: AdamWFixture.self)
    for run in fixture.runs {
        let arena = ParameterArena(layout: [("a", [2]), ("b", [4])])
        arena.values.data.update(fromContentsOf: run.start)
        var optimiser = AdamW(parameterCount: arena.count, weightDecay: run.weightDecay)
        for (gradient, rate) in zip(run.gradients, run.rates) {
            arena.gradients.data.update(fromContentsOf: gradient)
            optimiser.update(arena, lr: rate)
        }
        for (mine, theirs) in zip(arena.values.values, run.expected) {
            #expect(abs(Double(mine) - theirs) < 1e-6, "weight decay \(run.weightDecay)")
        }
    }
}

@Test func arenaViewsShareStorage() {
    let arena = ParameterArena(layout: [("tokens", [2, 3]), ("dense", [4])])
    #expect(arena.count == 10)
    arena.value("dense").data[1] = 5
    arena.gradient("tokens").data[5] = 7
    #expect(arena.values.data[7] == 5)
    #expect(arena.gradients.data[5] == 7)
    arena.zeroGradients()
    #expect(arena.gradients.values.allSatisfy { $0 == 0 })
}

@Test func cosineScheduleWarmsUpThenDecaysToZero() {
    let schedule = CosineSchedule(baseRate: 1, warmupSteps: 4, totalSteps: 14)
    #expect(schedule.rate(at: 0) == 0.25)
    #expect(schedule.rate(at: 3) == 1)
    #expect(abs(schedule.rate(at: 9) - 0.5) < 1e-6)  // halfway through the decay
    #expect(schedule.rate(at: 14) < 1e-6)
}
