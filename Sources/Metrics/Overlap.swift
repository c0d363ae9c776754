import Imaging

/// Voxel counts behind the overlap metrics. Nonzero voxels are foreground.
public struct Overlap: Sendable, Equatable {
    public var truePositives = 0
    public var falsePositives = 0
    public var falseNegatives = 0

    public init(truePositives: Int, falsePositives: Int, falseNegatives: Int) {
        self.truePositives = truePositives
        self.falsePositives = falsePositives
        self.falseNegatives = falseNegatives
    }

    /// Counts two equally sized masks.
    public init(prediction: Mask, reference: Mask) {
        precondition(prediction.voxels.count == reference.voxels.count, "masks differ in size")
        var tp = 0, fp = 0, fn = 0
        prediction.voxels.withUnsafeBufferPointer { p in
            reference.voxels.withUnsafeBufferPointer { r in
                for i in 0..<p.count {
                    let inP = p[i] != 0, inR = r[i] != 0
                    tp += inP && inR ? 1 : 0
                    fp += inP && !inR ? 1 : 0
                    fn += !inP && inR ? 1 : 0
                }
            }
        }
        (truePositives, falsePositives, falseNegatives) = (tp, fp, fn)
    }

    public var predictedCount: Int { truePositives + falsePositives }
    public var referenceCount: Int { truePositives + falseNegatives }

    /// 2·TP / (2·TP + FP + FN); 1 when both masks are empty (MONAI's DiceMetric
    /// with `ignore_empty=False`), so 0 when only one is.
    public var dice: Double {
        let denominator = 2 * truePositives + falsePositives + falseNegatives
        return denominator == 0 ? 1 : Double(2 * truePositives) / Double(denominator)
    }

    /// TP / (TP + FP + FN), the Jaccard index; 1 when both masks are empty
    /// (MONAI's MeanIoU with `ignore_empty=False`), so 0 when only one is.
    public var iou: Double {
        let union = truePositives + falsePositives + falseNegatives
        return union == 0 ? 1 : Double(truePositives) / Double(union)
    }
}
