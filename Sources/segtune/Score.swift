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
        let request = ScoreRequest(prediction: URL(fileURLWithPath: prediction), reference: URL(fileURLWithPath: reference),
                                   predictionLabels: try parseLabels(predLabel ?? label, option: "--pred-label"),
                                   referenceLabels: try parseLabels(refLabel ?? label, option: "--ref-label"),
                                   series: series.map { URL(fileURLWithPath: $0) }, roi: roi, spacing: try parsedSpacing(),
                                   tolerance: tolerance, drawsErrors: html != nil)
        let session: ScoreSession
        do { session = try ScoreSession(request) } catch { throw runtimeFailure(error.description) }
        for url in session.pairing.unpaired { printError("\(url.path): no counterpart on the other side; not scored") }
        if let roi, !session.scoresAnRTStruct {
            throw runtimeFailure("--roi \(roi) chooses an RTSTRUCT's ROI, but no file scored here is an RTSTRUCT")
        }
        let training = try task.map(trainingCurve)
        let result = session.run(warn: { printError($0) })
        let report = result.report
        var failures = report.failures
        for f in failures { printError(f) }
        for (file, text) in [(csv, { report.csv() }), (html, { result.html(title: "segtune score: \(prediction) against \(reference)", training: training) })] {
            guard let file else { continue }
            do { try Data(text().utf8).write(to: URL(fileURLWithPath: file), options: .atomic) } catch {
                printError("\(file): cannot write: \(error.localizedDescription)")
                failures.append(file)
            }
        }
        print(json ? report.json() : report.table(), terminator: "")

        if !failures.isEmpty || (strict && !session.pairing.unpaired.isEmpty) { throw ExitCode(1) }
        if let minDice, !(report.summary.dice.mean >= minDice) {
            printError(report.cases.isEmpty ? "no case was scored, so --min-dice \(minDice) is not met"
                       : "mean Dice \(report.summary.dice.mean) is below --min-dice \(minDice)")
            throw ExitCode(2)
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
