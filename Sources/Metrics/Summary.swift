/// Mean, median, standard deviation and minimum of one metric over cases.
///
/// NaN values (a metric undefined for a case, e.g. HD95 with both masks empty)
/// are left out and counted, as MONAI's `do_metric_reduction` leaves them out of
/// its means (numpy's `nanmean`, `nanmedian`, `nanstd`, `nanmin`). The metrics
/// here never give ±∞, but a +∞ would be kept: the mean is then +∞ and the
/// standard deviation NaN (as numpy's), the median and minimum stay order
/// statistics. The standard deviation is the population one (ddof = 0). With no
/// values left, every statistic is NaN.
public struct MetricSummary: Sendable, Equatable {
    public var mean: Double
    public var median: Double
    public var std: Double
    public var min: Double
    /// Values used (every case but the NaN ones).
    public var count: Int
    public var nanCount: Int
    public var infiniteCount: Int

    public init(_ values: [Double]) {
        let used = values.filter { !$0.isNaN }.sorted()
        count = used.count
        nanCount = values.count - used.count
        infiniteCount = used.count(where: { $0.isInfinite })
        guard !used.isEmpty else {
            (mean, median, std, min) = (.nan, .nan, .nan, .nan)
            return
        }
        min = used[0]
        let n = used.count
        median = n % 2 == 1 ? used[n / 2] : (used[n / 2 - 1] + used[n / 2]) / 2
        if infiniteCount > 0 {
            mean = used.reduce(0, +)  // ±∞, or NaN if both signs occur
            std = .nan
            return
        }
        mean = used.reduce(0, +) / Double(n)
        let m = mean
        std = (used.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n)).squareRoot()
    }
}

/// Per-metric summaries over a set of cases.
public struct ScoreSummary: Sendable, Equatable {
    public var cases: Int
    public var dice: MetricSummary
    public var iou: MetricSummary
    public var hd95: MetricSummary
    public var nsd: MetricSummary
    public var absoluteVolumeDifference: MetricSummary
    /// Every case's detection counts added up.
    public var detection: DetectionCounts

    public init(_ cases: [CaseMetrics]) {
        self.cases = cases.count
        dice = MetricSummary(cases.map(\.dice))
        iou = MetricSummary(cases.map(\.iou))
        hd95 = MetricSummary(cases.map(\.hd95))
        nsd = MetricSummary(cases.map(\.nsd))
        absoluteVolumeDifference = MetricSummary(cases.map(\.absoluteVolumeDifference))
        detection = cases.map(\.detection).reduce(DetectionCounts(), +)
    }
}
