import Foundation
import Tuning

/// The line `fit` and `embed` print for each event, and whether it is a warning (printed
/// even with --quiet).
extension FitEvent {
    var line: (text: String, isWarning: Bool) {
        switch self {
        case .datasetWarning(let text): return (text, true)
        case .windows(let windows): return ("window: " + windows.joined(separator: "; "), false)
        case .crop(let cases):
            let shown = cases.prefix(3).map { c in "\(c.caseName) \(c.width)×\(c.height)" + (c.origin.map { " at x \($0.x), y \($0.y)" } ?? "") }
            return ("crop: each slice cropped to the body (" + shown.joined(separator: ", ") + (cases.count > 3 ? ", …" : "")
                    + "); --crop none keeps the whole slice", false)
        case .validatingOnSlab(let slab, let cases): return ("\(counted(cases, "case")), none to hold out: validating on \(slab.description)", false)
        case .noValidation(let fractionIsZero):
            return ((fractionIsZero ? "nothing to validate on (--val-fraction 0)" : "nothing to validate on: too few cases and slices to hold any out")
                    + "; the best epoch is the lowest training loss. Give more cases, or a separate validation set", true)
        case .noSliceWithoutStructure:
            return ("""
                every training slice holds the structure: the task never sees a slice without it, and \
                on a scan that extends past the structure it will mark something on the slices where the \
                structure is absent (docs/tuning.md, "Slices without the structure"). Train on volumes that \
                extend past it, or predict only the slices that hold it
                """, true)
        case .deepMode(let tokens): return ("deep mode: \(tokens) visual prompt tokens in each encoder attention block; the encoder runs at every step", false)
        case .augmentation(let groups, let images, let jitter):
            return ("augmentation: " + (groups.isEmpty ? "none" : groups.map(\.rawValue).joined(separator: ", "))
                    + " (\(counted(images, "image")) per training slice)"
                    + (jitter.map { String(format: "; each step moves its slice by up to %.2f of the frame (%d cells)", $0.fraction, $0.cells) } ?? ""), false)
        case .embedded(let total, let encoded): return ("embedded \(total) images (\(encoded) encoded, \(total - encoded) from the cache)", false)
        case .training(let slices, let cases, let variants, let validationSlices, let validationCases, let slab):
            return ("training on \(slices) slices of \(counted(cases, "case")) × \(counted(variants, "variant")), validating on \(validationSlices) slices"
                    + (slab.map { " (a slab of \($0.caseName))" } ?? " of \(counted(validationCases, "case"))"), false)
        case .beforeTuning(let untuned, let initial):
            return (String(format: "before tuning: validation Dice %.4f (IoU %.4f) for the untuned model with a whole-image box, %.4f with the initial prompts",
                           untuned.dice, untuned.iou, initial), false)
        case .stage2(let errors, let tokens, let epochs):
            let m = errors.medians
            return (String(format: "stage 2: stage 1's boxes on %d training slices are off by (x0 %+.3f, y0 %+.3f, x1 %+.3f, y1 %+.3f) of the image side (medians), %d missed; training %d tokens beside boxes drawn from those errors, %d epochs",
                           errors.offsets.count, m[0], m[1], m[2], m[3], errors.missed, tokens, epochs), false)
        case .stage2Stopped(let epoch, let epochs, let best):
            return ("stage 2: stopped after epoch \(epoch) of \(epochs), \(counted(epoch - best, "epoch")) without a better cascade Dice than epoch \(best)'s", false)
        case .cascadeChosen(let cascade, let slab):
            let boxStage = cascade.tunedStage2 == true ? "tuned stage 2" : "frozen model"
            let locator = cascade.locator == .atlas ? "atlas" : "stage-1 tokens"
            var text = String(format: "cascade (%@ → box + margin → %@): validation Dice %.4f with margin %.3f, %d round%@, against %.4f for stage 1 alone%@: %@",
                              locator, boxStage, cascade.cascadeDice, cascade.margin, cascade.rounds, cascade.rounds == 1 ? "" : "s", cascade.stage1Dice,
                              cascade.atlasDice.map { String(format: " and %.4f for the atlas's boxes with the margin alone", $0) } ?? "",
                              cascade.enabled ? "predictions use it"
                                : "not used" + (cascade.atlasDice != nil ? "; in a volume, stage 1's masks are kept only on the slices where the atlas finds the structure" : ""))
            if let slab {
                // Stage 1 is at its best on its own training volume, so the slab undervalues a margin.
                text += "\nthe cascade was chosen on a slab of \(slab.caseName), where the tokens are at their best; "
                    + "to choose it where they meet another patient, give --val with that patient's scan (docs/tuning.md)"
            }
            return (text, false)
        case .atlasKept(let slices, let scans, let includesSlab):
            return ("atlas: \(counted(slices, "slice")) kept in the task" + (scans > 0 ? " (\(counted(scans, "scan")) with slice positions)" : "")
                    + (includesSlab ? ", the validation slab's included" : "") + ", 16 KiB each (fit --no-atlas keeps none; docs/tuning.md, \"Atlas\")", false)
        case .saved(let task, let folder, let stop, let phases):
            return ("\(stop.rawValue): task '\(task)' saved in \(folder.path) ("
                    + phases.map { String(format: "%@ %.0f s", $0.name, $0.seconds) }.joined(separator: ", ") + ")", false)
        case .shard(let folder, let shard, let names, let total): return ("\(folder): " + shard.summary(taking: names, of: total), false)
        case .cacheFilled(let folder, let encoded, let cached): return ("\(folder): \(encoded) images encoded, \(cached) already cached", false)
        }
    }
}

/// "1 case", "3 cases".
private func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
