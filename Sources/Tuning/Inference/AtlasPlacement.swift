import Foundation

/// Where a volume lies along a training scan (Atlas.swift): one offset for the whole
/// volume, not a best match per slice. Matched slice by slice, another patient's slices
/// all pick the few training slices that look most "typical" (on TotalSegmentator's two
/// abdominal CTs the best matches of all 20 slices of the other patient were 5 of the
/// 30, slices 15–20), so a structure that fills part of the scan (the adrenal gland, the
/// pancreas) got a box on every slice. The whole volume's correlation profile places it far better: the offset
/// that best lines up all its slices with the scan's (docs/tuning.md, "Atlas").
extension SliceAtlas {
    /// Target slice at z (mm) lies at z + `offset` in training scan `scan`.
    struct Placement: Equatable {
        var scan: Int
        var offset: Float
    }

    /// Side of the blurred thumbnails the placement compares: coarse enough that an
    /// unregistered pair still correlates by its anatomy.
    static let placementSide = 16
    /// The most offsets tried per scan.
    static let maximumOffsets = 4096

    /// The offset to each training scan of known positions that maximises the mean
    /// correlation of the volume's slices with the scan's slices they land on, over
    /// offsets that land at least half the fewer of the two on the scan. The
    /// correlations are double-centred first (each target slice's and each atlas slice's
    /// mean removed), so an atlas slice that resembles every slice, or a target slice
    /// that resembles every atlas slice, carries no weight; a mean, not a sum, so that an
    /// offset gains nothing by landing more slices on the scan. Empty when no scan has
    /// positions.
    func placements(of targets: [[Float]], z: [Float]) -> [Placement] {
        let standardTargets = targets.map { standardised(Self.blurred($0)) }
        return scans.compactMap { scan, members in
            let atlas = members.map { Self.blurred(thumbnails[$0]) }
            var score = standardTargets.map { t in atlas.map { correlation(t, $0) } }
            let rowMeans = score.map { $0.reduce(0, +) / Float($0.count) }
            let columnMeans = atlas.indices.map { j in score.reduce(0) { $0 + $1[j] } / Float(score.count) }
            let mean = rowMeans.reduce(0, +) / Float(rowMeans.count)
            for k in score.indices { for j in atlas.indices { score[k][j] += mean - rowMeans[k] - columnMeans[j] } }

            let zs = members.map { positions[$0]!.z }
            let spacing = Self.spacing(of: zs), targetSpacing = Self.spacing(of: z)
            guard let lowest = z.min(), let highest = z.max() else { return nil }
            // Offsets from the volume's top on the scan's bottom to its bottom on the scan's
            // top, in half the finer spacing; at most `maximumOffsets` of them, so that a task
            // file with absurd positions cannot make the search endless.
            let (first, last) = (zs[0] - highest, zs[zs.count - 1] - lowest)
            guard (last - first).isFinite else { return nil }
            let step = max(min(spacing, targetSpacing > 0 ? targetSpacing : spacing) / 2, (last - first) / Float(Self.maximumOffsets), 0.01)
            let overlap = max(1, min(z.count, zs.count) / 2)
            var best: (offset: Float, score: Float)?
            for i in 0...Int(((last - first) / step + 0.5).rounded(.down)) {
                let offset = first + Float(i) * step
                var (total, landed): (Float, Int) = (0, 0)
                for (k, position) in z.enumerated() {
                    let landing = position + offset
                    // Inside the scan, a gap (the slab fit held out) reads its nearest slice.
                    guard landing >= zs[0] - spacing / 2, landing <= zs[zs.count - 1] + spacing / 2 else { continue }
                    total += score[k][Self.nearest(landing, in: zs)]
                    landed += 1
                }
                if landed >= overlap, best == nil || total / Float(landed) > best!.score { best = (offset, total / Float(landed)) }
            }
            return best.map { Placement(scan: scan, offset: $0.offset) }
        }
    }

    /// The atlas slices of each training scan of known positions, in order along its axis.
    var scans: [(scan: Int, members: [Int])] {
        Dictionary(grouping: positions.indices.filter { positions[$0] != nil }, by: { positions[$0]!.scan })
            .map { ($0.key, $0.value.sorted { positions[$0]!.z < positions[$1]!.z }) }
            .sorted { $0.scan < $1.scan }
    }

    /// The index in (non-empty) `sorted` of the value nearest `value`.
    static func nearest(_ value: Float, in sorted: [Float]) -> Int {
        var (low, high) = (0, sorted.count - 1)
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low > 0 && abs(sorted[low - 1] - value) <= abs(sorted[low] - value) ? low - 1 : low
    }

    /// The median step between sorted positions; 0 for fewer than two.
    static func spacing(of zs: [Float]) -> Float {
        let steps = zip(zs.dropFirst(), zs).map { abs($0 - $1) }.sorted()
        return steps.isEmpty ? 0 : steps[steps.count / 2]
    }

    /// A thumbnail averaged over blocks to `placementSide`².
    static func blurred(_ thumbnail: [Float]) -> [Float] {
        let (n, block) = (placementSide, side / placementSide)
        var out = [Float](repeating: 0, count: n * n)
        for y in 0..<side { for x in 0..<side { out[(y / block) * n + x / block] += thumbnail[y * side + x] } }
        return out.map { $0 / Float(block * block) }
    }
}
