import Imaging

/// Dice of each slice of a case (canonical z order): 2·TP / (|P| + |R|), nan where both
/// are empty (no slice score to give). Shows where along a volume a prediction fails.
/// Both masks share one size (the caller checked).
public func perSliceDice(prediction: Mask, reference: Mask) -> [Double] {
    let plane = prediction.width * prediction.height
    return (0..<prediction.depth).map { z in
        var both = 0, predicted = 0, referenced = 0
        for i in (z * plane)..<((z + 1) * plane) {
            let p = prediction.voxels[i] != 0, r = reference.voxels[i] != 0
            if p { predicted += 1 }
            if r { referenced += 1 }
            if p && r { both += 1 }
        }
        return predicted + referenced == 0 ? .nan : 2 * Double(both) / Double(predicted + referenced)
    }
}
