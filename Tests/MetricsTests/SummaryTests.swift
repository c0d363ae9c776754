import Metrics
import Testing

@Test func summaryOfFourValues() {
    let s = MetricSummary([0.5, 0.75, 1, 0.25])
    #expect(s.mean == 0.625 && s.median == 0.625 && s.min == 0.25)
    #expect(abs(s.std - (0.3125 / 4).squareRoot()) < 1e-12)  // population std
    #expect(s.count == 4 && s.nanCount == 0)
}

@Test func summaryLeavesNaNOutAndCountsIt() {
    let s = MetricSummary([3, .nan, 1, 2])
    #expect(s.mean == 2 && s.median == 2 && s.min == 1)
    #expect(s.count == 3 && s.nanCount == 1)
}

@Test func summaryKeepsInfinityAsNumpyDoes() {
    let s = MetricSummary([1, .infinity, 2])
    #expect(s.mean == .infinity && s.std.isNaN && s.median == 2 && s.min == 1)
    #expect(s.infiniteCount == 1)
}

@Test func summaryOfNothingIsNaN() {
    let s = MetricSummary([.nan])
    #expect(s.mean.isNaN && s.median.isNaN && s.std.isNaN && s.min.isNaN && s.count == 0)
}

@Test func slicesStackInNaturalNameOrder() {
    let names = ["s10.png", "s2.png", "s1.png", "s02b.png", "a.png"]
    #expect(names.sorted(by: naturalOrder) == ["a.png", "s1.png", "s2.png", "s02b.png", "s10.png"])
}
