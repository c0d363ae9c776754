import Imaging

/// How many separate objects a prediction found, for targets that come in pieces
/// (lesions, metastases, ribs), where one Dice over the case hides a missed small lesion
/// behind a well-drawn large one.
///
/// Objects are the connected components of each slice (8-connected in the plane; a 2-D
/// image is one slice), so a lesion counts once on every slice it shows, as a reader
/// scrolling the scan meets it. A reference component is found when any predicted voxel
/// lies in it, else missed; a predicted component that touches no reference voxel is a
/// false detection.
public struct DetectionCounts: Sendable, Equatable {
    public var referenceComponents = 0
    public var found = 0
    public var predictedComponents = 0
    public var falseComponents = 0
    /// Slices looked at (1 for a 2-D image).
    public var slices = 0

    public init() {}

    public var missed: Int { referenceComponents - found }
    /// found / reference components; NaN when the reference has none.
    public var sensitivity: Double { referenceComponents > 0 ? Double(found) / Double(referenceComponents) : .nan }
    public var falsePerSlice: Double { slices > 0 ? Double(falseComponents) / Double(slices) : .nan }

    /// Counts of several cases added up.
    public static func + (a: DetectionCounts, b: DetectionCounts) -> DetectionCounts {
        var sum = a
        sum.referenceComponents += b.referenceComponents
        sum.found += b.found
        sum.predictedComponents += b.predictedComponents
        sum.falseComponents += b.falseComponents
        sum.slices += b.slices
        return sum
    }
}

/// The detection counts of a prediction against a reference of the same size.
public func detectionCounts(prediction: Mask, reference: Mask) -> DetectionCounts {
    precondition(prediction.voxels.count == reference.voxels.count, "detection: masks differ in size")
    var counts = DetectionCounts()
    let plane = prediction.width * prediction.height
    for z in 0 ..< prediction.depth {
        let predicted = Array(prediction.voxels[z * plane ..< (z + 1) * plane])
        let referenced = Array(reference.voxels[z * plane ..< (z + 1) * plane])
        let referenceParts = planeComponents(referenced, width: prediction.width)
        let predictedParts = planeComponents(predicted, width: prediction.width)
        counts.slices += 1
        counts.referenceComponents += referenceParts.count
        counts.found += referenceParts.count { part in part.contains { predicted[$0] != 0 } }
        counts.predictedComponents += predictedParts.count
        counts.falseComponents += predictedParts.count { part in !part.contains { referenced[$0] != 0 } }
    }
    return counts
}

/// The 8-connected components of one slice, each as its pixel indices.
func planeComponents(_ pixels: [UInt8], width w: Int) -> [[Int]] {
    let h = pixels.count / w
    var seen = [Bool](repeating: false, count: pixels.count)
    var parts: [[Int]] = []
    for start in pixels.indices where pixels[start] != 0 && !seen[start] {
        var part: [Int] = [], stack = [start]
        seen[start] = true
        while let i = stack.popLast() {
            part.append(i)
            let (x, y) = (i % w, i / w)
            for dy in -1 ... 1 {
                for dx in -1 ... 1 {
                    let (nx, ny) = (x + dx, y + dy)
                    guard nx >= 0, nx < w, ny >= 0, ny < h else { continue }
                    let j = ny * w + nx
                    if pixels[j] != 0 && !seen[j] { seen[j] = true; stack.append(j) }
                }
            }
        }
        parts.append(part)
    }
    return parts
}
