import Imaging

/// The unit of the distance metrics: millimetres when the voxel spacing is
/// known, else voxel steps.
public enum DistanceUnit: String, Sendable, Codable {
    case millimetre = "mm"
    case pixel = "px"
}

/// Why two masks cannot be scored against each other.
public struct MetricsError: Error, CustomStringConvertible, Sendable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Everything reported for one case (a 2-D slice, or a whole 3-D volume scored
/// as one: surfaces and distances are 3-D, not a mean over slices).
public struct CaseMetrics: Sendable, Equatable {
    /// 2 or 3: a mask of depth 1 is scored in 2-D.
    public var dimensions: Int
    public var overlap: Overlap
    public var dice: Double
    public var iou: Double
    /// 95th-percentile Hausdorff distance (see `SurfaceDistances.hausdorff`).
    public var hd95: Double
    /// Normalised surface distance at `tolerance` (see `SurfaceDistances.surfaceDice`).
    public var nsd: Double
    /// The tolerance used for `nsd`, in `distanceUnit`.
    public var tolerance: Double
    public var distanceUnit: DistanceUnit
    /// The x, y(, z) voxel size used for distances and volumes; nil when unknown (pixels).
    public var spacing: [Double]?
    /// Foreground volumes and |predicted − reference|: mm³ (mm² in 2-D) when the
    /// spacing is known, else voxel (pixel) counts.
    public var predictedVolume: Double
    public var referenceVolume: Double
    public var absoluteVolumeDifference: Double
    /// Components per slice found, missed and false (DetectionCounts).
    public var detection: DetectionCounts

    public var volumeUnit: String {
        switch (distanceUnit, dimensions) {
        case (.millimetre, 2): "mm²"
        case (.millimetre, _): "mm³"
        case (.pixel, 2): "px"
        case (.pixel, _): "voxels"
        }
    }
}

/// Scores a prediction against a reference of the same size.
///
/// - spacing: the x, y(, z) voxel size in mm, or nil for pixel units. Extra values
///   are ignored (a 2-D slice may carry a slice thickness); too few is an error.
/// - tolerance: the NSD tolerance, in the same unit as the distances.
///
/// Empty masks (MONAI's conventions): both empty gives Dice 1, IoU 1, HD95 NaN,
/// NSD NaN; exactly one empty gives Dice 0, IoU 0, HD95 NaN, NSD 0.
public func scoreCase(prediction: Mask, reference: Mask, spacing: [Double]?, tolerance: Double) throws(MetricsError) -> CaseMetrics {
    let p = (prediction.width, prediction.height, prediction.depth)
    let r = (reference.width, reference.height, reference.depth)
    guard p == r else {
        throw MetricsError("size \(sizeText(prediction)) does not match the reference's \(sizeText(reference))")
    }
    guard tolerance.isFinite, tolerance >= 0 else { throw MetricsError("tolerance must be a finite number ≥ 0, not \(tolerance)") }
    let dimensions = prediction.depth > 1 ? 3 : 2
    var used: [Double]?
    if let spacing {
        guard spacing.count >= dimensions else {
            throw MetricsError("a \(dimensions)-D case needs \(dimensions) spacing values, got \(spacing.count)")
        }
        used = Array(spacing.prefix(dimensions))
        guard used!.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw MetricsError("spacing must be positive, not \(used!)")
        }
    }
    let overlap = Overlap(prediction: prediction, reference: reference)
    let surface = SurfaceDistances(prediction: prediction, reference: reference,
                                   spacing: used ?? [Double](repeating: 1, count: 3))
    let voxelVolume = used?.reduce(1, *) ?? 1
    let predicted = Double(overlap.predictedCount) * voxelVolume
    let referenced = Double(overlap.referenceCount) * voxelVolume
    return CaseMetrics(
        dimensions: dimensions, overlap: overlap, dice: overlap.dice, iou: overlap.iou,
        hd95: surface.hausdorff(percentile: 95), nsd: surface.surfaceDice(tolerance: tolerance),
        tolerance: tolerance, distanceUnit: used == nil ? .pixel : .millimetre, spacing: used,
        predictedVolume: predicted, referenceVolume: referenced,
        absoluteVolumeDifference: abs(predicted - referenced),
        detection: detectionCounts(prediction: prediction, reference: reference))
}

func sizeText(_ m: Mask) -> String {
    m.depth > 1 ? "\(m.width)×\(m.height)×\(m.depth)" : "\(m.width)×\(m.height)"
}
