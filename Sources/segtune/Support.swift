import ArgumentParser
import Foundation
import Imaging
import Models
import Tensors
import Tuning

/// `--label 1`, `--label 1,2` or `--label liver`: the label values, or segment names of a
/// Slicer .seg.nrrd, taken as foreground (nil: any nonzero).
func parseLabels(_ text: String?, option: String = "--label") throws -> LabelSelection? {
    guard let text else { return nil }
    guard let selection = LabelSelection(parsing: text) else {
        throw ValidationError("\(option) must be label values ≥ 0 or segment names, comma-separated, e.g. 1, 1,2 or liver")
    }
    return selection
}

/// `--window`: a preset, W/L, or auto, as a validation error when malformed.
func parseWindow(_ text: String) throws -> Window {
    do { return try Window(parsing: text) } catch { throw ValidationError(error.message) }
}

/// `--augment flips,turns,zoom`, as a validation error when malformed.
func parseAugmentations(_ text: String) throws -> [AugmentationGroup] {
    do { return try AugmentationGroup.parseList(text) } catch { throw ValidationError("--augment: \(error.message)") }
}

/// Writes a line to stderr.
func writeToStderr(_ line: String) {
    writeToStderr(raw: line + "\n")
}

/// Writes to stderr, ignoring a failure: the non-throwing `FileHandle.write` traps when
/// stderr is a full disk or a file past its size limit, and an error message must never
/// end the process.
func writeToStderr(raw text: String) {
    try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
}

/// An error line on stderr: `segtune: <message>` (for a file: `segtune: <file>: <reason>`).
func printError(_ message: String) {
    writeToStderr("segtune: \(message)")
}

func printError(_ error: InputError) {
    printError(error.description)
}

func printWarning(_ text: String) {
    printError("warning: \(text)")
}

/// Progress of long work on stderr: a bar with an ETA on a terminal, a line every
/// 10% otherwise (logs stay readable); nothing with `--quiet`. Errors always print.
final class Progress: FitObserver {
    private let quiet: Bool
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var label = ""
    private var total = 0
    private var started = Date()
    private var lastDecile = -1

    init(quiet: Bool) { self.quiet = quiet }

    func event(_ event: FitEvent) {
        let (text, isWarning) = event.line
        switch event {
        case .embedded, .cacheFilled: finish(text)   // the end of the progress bar, with its time
        default:
            if isWarning { printWarning(text) } else if !quiet { writeToStderr(text) }
        }
    }

    func failed(_ error: InputError) { printError(error.description) }

    func start(_ label: String, total: Int) {
        (self.label, self.total, started, lastDecile) = (label, total, Date(), -1)
    }

    func update(_ done: Int) {
        guard !quiet, total > 0 else { return }
        let elapsed = Date().timeIntervalSince(started)
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        if isTerminal {
            let width = 30, filled = width * done / total
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            writeToStderr(raw: "\r\(label) [\(bar)] \(done)/\(total) ETA \(duration(eta))  ")
        } else if done * 10 / total > lastDecile {
            lastDecile = done * 10 / total
            writeToStderr("\(label): \(done)/\(total), ETA \(duration(eta))")
        }
    }

    private func finish(_ line: String) {
        if quiet { return }
        if isTerminal { writeToStderr(raw: "\r\u{1B}[K") }
        writeToStderr("\(line) in \(duration(Date().timeIntervalSince(started)))")
    }

    /// Within-epoch progress: only on a terminal, the line is replaced by the epoch's summary.
    func step(_ step: Int, of steps: Int) {
        guard !quiet, isTerminal else { return }
        writeToStderr(raw: "\r  step \(step)/\(steps)  ")
    }

    func epoch(_ record: TaskManifest.EpochRecord, of epochs: Int, isBest: Bool) {
        epochLine(record, label: "epoch", dice: "val Dice", of: epochs, isBest: isBest)
    }

    func stage2Epoch(_ record: TaskManifest.EpochRecord, of epochs: Int, isBest: Bool) {
        epochLine(record, label: "stage 2 epoch", dice: "cascade val Dice", of: epochs, isBest: isBest)
    }

    private func epochLine(_ record: TaskManifest.EpochRecord, label: String, dice name: String, of epochs: Int, isBest: Bool) {
        if quiet { return }
        if isTerminal { writeToStderr(raw: "\r\u{1B}[K") }
        var line = "\(label) " + String(format: "%d/%d  loss %.4f", record.epoch, epochs, record.trainingLoss)
        if let dice = record.validationDice, let iou = record.validationIoU {
            line += "  \(name) " + String(format: "%.4f  IoU %.4f", dice, iou)
        }
        if let cascade = record.cascadeDice { line += String(format: "  cascade %.4f", cascade) }
        if let marked = record.emptySlicesMarked, let empty = record.emptySlices { line += "  marked \(marked)/\(empty) empty slices" }
        line += String(format: "  %.1f s", record.seconds) + (isBest ? "  (best)" : "")
        writeToStderr(line)
    }

}

/// "42s", "3m05s", "1h02m".
func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" : s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
}

/// Set by Ctrl-C (SIGINT): long work checks it between steps and stops cleanly.
/// A signal handler can only touch global state, hence the one static flag.
final class InterruptFlag: @unchecked Sendable {
    nonisolated(unsafe) private static var raised: sig_atomic_t = 0

    init() {
        InterruptFlag.raised = 0
        signal(SIGINT) { _ in
            InterruptFlag.raised = 1
            // A second Ctrl-C ends the process at once.
            signal(SIGINT, SIG_DFL)
        }
    }

    var isSet: Bool { InterruptFlag.raised != 0 }
}

/// A failure met while working (a missing model, a task that does not fit): one
/// line `segtune: <message>` and exit status 1, without the usage block that
/// ArgumentParser prints for a mistyped command line.
func runtimeFailure(_ message: String) -> ExitCode {
    printError(message)
    return ExitCode(1)
}

/// The base model for --model / --checkpoint; a checkpoint that cannot be found, read, or
/// does not fit the model is one error line naming the file.
func loadBaseModel(_ options: ModelOptions) throws -> BaseModel {
    do { return try BaseModel(named: options.model, checkpoint: options.checkpoint) } catch { throw runtimeFailure("\(error)") }
}

/// --checkpoint, else the first of ModelLocator's places that holds the model's file.
func checkpointURL(_ options: ModelOptions, preset: ModelPreset) throws -> URL {
    do {
        return try ModelLocator().locate(preset.checkpointFile, explicit: options.checkpoint).url
    } catch let error as ModelError {
        throw runtimeFailure(error.description)
    }
}
