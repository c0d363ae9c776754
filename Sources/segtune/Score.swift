import ArgumentParser
import Foundation
import Imaging
import Metrics
import Tuning

/// `segtune score`: a thin layer that parses, pairs the inputs, and calls Metrics.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score predicted masks against reference masks: Dice, IoU, HD95, NSD.",
        discussion: """
            PREDICTION and REFERENCE are two mask files, or two folders whose entries pair by name:
              <case>.png                 a 2-D case (nonzero pixels are foreground)
              <case>.nii, <case>.nii.gz  a 3-D volume, scored as a whole
              <case>.nrrd, <case>.seg.nrrd  a 3-D NRRD volume or a Slicer segmentation (a label map)
              <case>.mha, <case>.mhd     a 3-D MetaImage volume (ITK)
              <case>/<slice>.png         slices stacked in name order into one 3-D case
              <case>.seg.dcm             a DICOM SEG, placed on its series (--series)
              <case>.rtstruct.dcm        an RTSTRUCT ROI, filled on its series (--series)

            Distances (HD95, the NSD tolerance) are in mm when the spacing is known (NIfTI pixdim, or --spacing), else in pixels; the report says which.

            Empty masks follow MONAI: both empty gives Dice 1, IoU 1, HD95 nan, NSD nan; one empty gives Dice 0, IoU 0, HD95 nan, NSD 0. Summaries leave nan values out. See docs/metrics.md.

            Detection (for targets in pieces: lesions, metastases): each slice's connected components (8-connected), matched by overlap. A reference component with any predicted voxel in it is found, else missed; a predicted component touching no reference voxel is false. The table's found and false columns, the summary's last line, the CSV and the JSON give the counts.

            Exit status: 0 all scored; 1 a file could not be read or paired (unpaired files only with --strict); 2 the mean Dice is below --min-dice.
            """)

    @Argument(help: "Predicted mask file or folder.")
    var prediction: String

    @Argument(help: "Reference mask file or folder.")
    var reference: String

    @Option(help: ArgumentHelp("Label value(s) that are foreground on both sides, e.g. 1 or 1,2, or segment names of a Slicer .seg.nrrd, e.g. liver (default: any nonzero value).", valueName: "labels"))
    var label: String?

    @Option(help: ArgumentHelp("Label value(s) for the predictions only; overrides --label.", valueName: "labels"))
    var predLabel: String?

    @Option(help: ArgumentHelp("Label value(s) for the references only; overrides --label.", valueName: "labels"))
    var refLabel: String?

    @Option(help: ArgumentHelp("The DICOM series a DICOM SEG (<case>.seg.dcm) or an RTSTRUCT outlines: a series folder, or a folder of them named by case.", valueName: "folder"))
    var series: String?

    @Option(help: ArgumentHelp("The ROI of an RTSTRUCT to score, by ROI Name (default: the first; said on stderr when there are several).", valueName: "name"))
    var roi: String?

    @Option(help: ArgumentHelp("NSD tolerance, in mm when the spacing is known, else in pixels.", valueName: "distance"))
    var tolerance: Double = 2

    @Option(help: ArgumentHelp("Voxel spacing in mm, x,y or x,y,z; overrides the files' (default: from the reference, then the prediction).", valueName: "x,y[,z]"))
    var spacing: String?

    @Option(help: ArgumentHelp("Also write the per-case table as CSV to this file.", valueName: "file"))
    var csv: String?

    @Flag(help: "Print one JSON object (cases and summary) instead of the table.")
    var json = false

    @Option(help: ArgumentHelp("Also write a self-contained HTML page: the summary, the Dice distribution, the cases worst Dice first (a sortable table) with the slice where each goes most wrong and a volume's Dice per slice, and with --task the task's training curve.", valueName: "file"))
    var html: String?

    @Option(help: ArgumentHelp("A trained task whose validation Dice per epoch goes into the --html page.", valueName: "name"))
    var task: String?

    @Option(help: "Folder that holds the tasks (with --task).")
    var tasksDir: String = "tasks"

    @Option(help: ArgumentHelp("Exit with status 2 when the mean Dice is below this.", valueName: "x"))
    var minDice: Double?

    @Flag(help: "Count unpaired files as failures (exit status 1).")
    var strict = false

    func validate() throws {
        guard tolerance.isFinite, tolerance >= 0 else { throw ValidationError("--tolerance must be a number ≥ 0") }
        _ = try parsedSpacing()
        for (name, value) in [("--label", label), ("--pred-label", predLabel), ("--ref-label", refLabel)] {
            _ = try parseLabels(value, option: name)
        }
        if let minDice, !(0...1).contains(minDice) { throw ValidationError("--min-dice must be between 0 and 1") }
        if task != nil && html == nil { throw ValidationError("--task puts a training curve into the --html page: give --html FILE") }
    }

    func run() throws {
        let pairing: Pairing
        do {
            pairing = try pairInputs(prediction: URL(fileURLWithPath: prediction), reference: URL(fileURLWithPath: reference))
        } catch let error as InputError {
            printError(error.description)
            throw ExitCode(1)
        } catch {
            printError("\(prediction), \(reference): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        for url in pairing.unpaired { printError("\(url.path): no counterpart on the other side; not scored") }
        if let roi, !pairing.cases.contains(where: { isRTStructFile($0.prediction) || isRTStructFile($0.reference) }) {
            printError("--roi \(roi) chooses an RTSTRUCT's ROI, but no file scored here is an RTSTRUCT")
            throw ExitCode(1)
        }
        let predLabels = try parseLabels(predLabel ?? label, option: "--pred-label"), refLabels = try parseLabels(refLabel ?? label, option: "--ref-label")
        let override = try parsedSpacing()

        let training = try task.map(trainingCurve)
        let outcomes = Outcomes(count: pairing.cases.count)
        // Cases are independent: score them on all cores, keep the input order.
        DispatchQueue.concurrentPerform(iterations: pairing.cases.count) { i in
            outcomes.set(i, scoreOne(pairing.cases[i], predLabels, refLabels, override, drawErrors: html != nil))
        }
        var scored: [ScoredCase] = [], failures = pairing.failures.map(\.description)
        var errorSlices: [String: (slice: ErrorSlice, pngBase64: String)] = [:], sliceDice: [String: [Double]] = [:]
        for outcome in outcomes.values {
            switch outcome! {
            case .success(let c):
                scored.append(c.scored)
                errorSlices[c.scored.name] = c.errors
                sliceDice[c.scored.name] = c.sliceDice
            case .failure(let e): failures.append(e.description)
            }
        }
        for f in failures { printError(f) }

        let report = ScoreReport(cases: scored, tolerance: tolerance, failures: failures,
                                 unpaired: pairing.unpaired.map(\.path))
        if let csv {
            do {
                try Data(report.csv().utf8).write(to: URL(fileURLWithPath: csv), options: .atomic)
            } catch {
                printError("\(csv): cannot write: \(error.localizedDescription)")
                failures.append(csv)
            }
        }
        if let html {
            let title = "segtune score: \(prediction) against \(reference)"
            do {
                try Data(report.html(HTMLReportExtras(title: title, errorSlices: errorSlices, sliceDice: sliceDice, training: training)).utf8)
                    .write(to: URL(fileURLWithPath: html), options: .atomic)
            } catch {
                printError("\(html): cannot write: \(error.localizedDescription)")
                failures.append(html)
            }
        }
        print(json ? report.json() : report.table(), terminator: "")

        if !failures.isEmpty || (strict && !pairing.unpaired.isEmpty) { throw ExitCode(1) }
        if let minDice, !(report.summary.dice.mean >= minDice) {
            printError(scored.isEmpty ? "no case was scored, so --min-dice \(minDice) is not met"
                       : "mean Dice \(report.summary.dice.mean) is below --min-dice \(minDice)")
            throw ExitCode(2)
        }
    }

    private func scoreOne(_ pair: CasePair, _ predLabels: LabelSelection?, _ refLabels: LabelSelection?, _ override: [Double]?,
                          drawErrors: Bool) -> Result<CaseOutcome, InputError> {
        do {
            let (scored, p, r) = try scorePair(pair, predictionLabels: predLabels, referenceLabels: refLabels,
                                               series: series.map { URL(fileURLWithPath: $0) }, roi: roi, spacing: override,
                                               tolerance: tolerance, warn: { printError($0) })
            let errors = try drawErrors ? worstErrorSlice(prediction: p, reference: r).map { ($0, try pngBase64($0)) } : nil
            let sliceDice = drawErrors && p.depth > 1 ? perSliceDice(prediction: p, reference: r) : nil
            return .success(CaseOutcome(scored: scored, errors: errors, sliceDice: sliceDice))
        } catch let e as InputError {
            return .failure(e)
        } catch {
            return .failure(InputError(file: pair.prediction.path, reason: "\(error)"))
        }
    }

    /// The task's validation Dice per epoch, from its task.json.
    private func trainingCurve(_ name: String) throws -> (task: String, points: [TrainingPoint]) {
        do {
            let manifest = try TaskStore(root: URL(fileURLWithPath: tasksDir)).loadManifest(name)
            return (name, manifest.history.map { TrainingPoint(epoch: $0.epoch, validationDice: $0.validationDice, cascadeDice: $0.cascadeDice) })
        } catch let error as InputError {
            throw runtimeFailure(error.description)
        } catch {
            throw runtimeFailure("\(tasksDir)/\(name): \(error)")
        }
    }

    private func parsedSpacing() throws -> [Double]? {
        guard let spacing else { return nil }
        let values = spacing.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard (2...3).contains(values.count), values.allSatisfy({ $0 != nil && $0! > 0 && $0!.isFinite }) else {
            throw ValidationError("--spacing must be two or three positive numbers, e.g. 0.8,0.8 or 0.8,0.8,2.5")
        }
        return values.map { $0! }
    }
}

/// A scored case and, for --html, the slice where it goes most wrong and a volume's Dice per slice.
private struct CaseOutcome {
    var scored: ScoredCase
    var errors: (slice: ErrorSlice, pngBase64: String)?
    var sliceDice: [Double]?
}

/// Results written by concurrent workers, one slot each.
private final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Result<CaseOutcome, InputError>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<CaseOutcome, InputError>) { lock.withLock { values[i] = r } }
}

/// The slice as a PNG for the page (through libpng and a temporary file).
private func pngBase64(_ slice: ErrorSlice) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-errors-\(UUID().uuidString).png")
    defer { try? FileManager.default.removeItem(at: file) }
    try writePNG(slice.rgb, width: slice.width, height: slice.height, channels: 3, to: file)
    return try Data(contentsOf: file).base64EncodedString()
}
