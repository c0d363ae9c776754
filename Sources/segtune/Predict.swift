import ArgumentParser
import Foundation
import Imaging
import Models
import Tensors
import Tuning

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write masks (PNG, NIfTI, NRRD, DICOM SEG, RTSTRUCT): with a trained task (no prompt needed), or zero-shot from a box and/or points.",
        discussion: """
            INPUT: image files (PNG, JPEG, DICOM, NIfTI, NRRD, MetaImage), DICOM series folders, folders of such files, \
            or dataset folders (their images/). A 2-D image gives OUT/<stem>.png; a volume (DICOM \
            series, multi-frame DICOM, NIfTI, NRRD, MetaImage) gives OUT/<case>/<slice>.png, slice = the Instance \
            Number (or the 1-based slice index) zero-padded to 4. Masks are 8-bit, 0 background and \
            255 foreground, at the input's size. With several --task, each writes to OUT/<task>/, \
            and all tasks share one encoder pass per image (per window and crop).

            --format nifti writes OUT/<case>.nii.gz (uint8 0/1) on exactly the input's grid: a \
            NIfTI input's own header (dims, pixdim, qform/sform), or for a DICOM series a header \
            from its Image Position/Orientation. --format dicom-seg writes OUT/<case>.seg.dcm, a \
            binary DICOM Segmentation referencing the series' instances, with the task's name as \
            the segment label and the source's patient and study. --format rtstruct writes \
            OUT/<case>.rtstruct.dcm, an RT Structure Set for radiotherapy planning: one ROI named by the \
            task, each slice's mask traced into closed planar contours along pixel edges in patient \
            coordinates (holes and islands as contours of their own, read even-odd), referencing \
            the series' instances. --format nrrd writes OUT/<case>.nrrd \
            (uint8 0/1 on the input's grid, LPS space) and --format seg.nrrd OUT/<case>.seg.nrrd, a \
            3D Slicer segmentation with one segment named by the task. Volumes are segmented in \
            canonical LPS order (axial slices, columns to the patient's left, rows to posterior) \
            and written back in the input's own order.

            Images are windowed as the task was trained (its task.json), unless --window is given, \
            and cropped to the body as it was (fit --crop); masks and --box/--boxes coordinates \
            stay in the stored image's pixels. \
            A file that cannot be read is reported (segtune: FILE: reason) and skipped; the exit \
            status is then non-zero. Outputs are written atomically (a volume's slice folder as a \
            whole), so a killed run leaves no half-written case.

            Archives on a cluster (docs/cluster.md): --shard K/N or --shard-from-env splits the \
            cases by a hash of their names; shards can share one output folder and one --cache-dir, \
            also on NFS; --skip-existing resumes a killed shard; --json ends with a summary.
              segtune predict --task liver scans/images -o out/
              segtune predict --box 40,60,180,200 scan.png -o out/
              segtune predict --task liver --shard-from-env --skip-existing --json archive/ -o masks/
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Intensity window: abdomen, liver, lung, bone, brain, W/L (e.g. 400/40), or auto (default: the task's, else auto).")
    var window: String?

    @Option(name: .customLong("task"), help: "A trained task (repeatable).")
    var tasks: [String] = []

    @Option(help: "Folder that holds the tasks.")
    var tasksDir: String = "tasks"

    @Option(help: "Box prompt x0,y0,x1,y1 in image pixels, for every slice. Zero-shot; with --task, the task's box stage draws it (a task trained --with-box takes it as its prompt).")
    var box: String?

    @Option(help: "A CSV of boxes (columns: image,x0,y0,x1,y1; image = file stem or case name, or case/slice for one slice of a volume: slice = the output slice number). Zero-shot; with --task, each box goes to the task's box stage (or is the prompt of a task trained --with-box). With case/slice rows, slices without a row get an empty mask.")
    var boxes: String?

    @Option(help: ArgumentHelp("Crop-and-zoom for --box/--boxes: on (the default), crop or off.",
                               discussion: "Where a box's crop (twice its size, at least 48 pixels) is at most half the slice's side, the box is also drawn on that crop, resized to the model's input, and the two masks are united: one more encoder pass per such slice. crop: the crop's mask alone (one pass); off: the whole slice only. Measured with hand boxes on another patient's CT (docs/tuning.md): on lifts the adrenal gland 0.45 -> 0.69, the inferior vena cava 0.63 -> 0.81, and loses no structure measured more than 0.003; crop alone hurts the aorta (0.93 -> 0.87)."))
    var zoom: ZoomMode?

    @Option(name: .customLong("point"), help: "Point prompt x,y[,label] (label 1 foreground, 0 background); zero-shot; repeatable.")
    var points: [String] = []

    @Option(help: "Foreground where the predicted probability exceeds this.")
    var threshold: Double = 0.5

    @Flag(help: "Keep only the largest connected component (3-D for volumes).")
    var largestComponent = false

    @Flag(help: "Also write <stem>.overlay.png: the image with the mask's outline.")
    var overlay = false

    @Option(help: ArgumentHelp("Cascade: auto (as the task chose on validation), off (the learned tokens' masks), on.",
                               discussion: "The cascade: the task's tokens give a coarse mask; in a volume its largest 3-D component is kept; each slice's bounding box plus the task's margin becomes a box prompt for the box stage (the task's stage-2 tokens beside the box when fit chose them, else the frozen model), which draws the edge. --box and --boxes replace the derived boxes, whatever the task chose; with --cascade off they are an error."))
    var cascade: Predictor.CascadeMode = .auto

    @Option(help: ArgumentHelp("Replace the task's cascade margin: percent of the image's longest side added on every side of a derived box (0–50). Applies where the cascade runs: --cascade on, or a task that chose it.",
                               valueName: "percent"))
    var cascadeMargin: Double?

    @Option(help: "Replace the task's cascade rounds: 1, or 2 (a second box from the first pass's mask).")
    var cascadeRounds: Int?

    @Option(help: ArgumentHelp("Where the cascade's first boxes come from: tokens (stage 1's masks), atlas (the task's training slices registered to each slice) or tokens-in-atlas (stage 1's mask inside the atlas's box); default: the task's choice.",
                               discussion: "atlas and tokens-in-atlas need a task fitted with an atlas (fit keeps one unless --no-atlas; decoder mode without --with-box). In a volume, slices beyond the span of the training scan the atlas matched are left empty, and predict says how many. See docs/tuning.md, \"Atlas\"."))
    var locator: CascadeChoice.Locator?

    @Flag(help: ArgumentHelp("Encode every slice, also those the atlas gives no box.",
                             discussion: "Where the task's cascade takes its first boxes from the atlas (the default for tasks fitted with one), slices the atlas leaves without a box get an empty mask whatever the encoder says, so by default they are not encoded (--json's slicesEncoded). This forces the full pass: the same masks, at the full cost."))
    var allSlices = false

    @Option(help: "Outputs, comma-separated: png, nifti, nrrd, seg.nrrd (volumes), dicom-seg, rtstruct (DICOM series).")
    var format: String = "png"

    @Option(name: [.short, .customLong("output")], help: "Output folder.")
    var output: String

    @OptionGroup var shardOptions: ShardOptions

    @Flag(help: "Leave cases whose outputs are all there (every --format, and overlays with --overlay); redo the others.")
    var skipExisting = false

    @Option(help: "Keep the frozen encoder's embeddings in this folder and reuse them (safe to share between concurrent runs); default: none kept.")
    var cacheDir: String?

    @Flag(help: "Print a JSON summary on stdout at the end: cases done, skipped and failed (with reasons), slices encoded, seconds.")
    var json = false

    @Flag(help: "No progress lines on stderr (errors still print).")
    var quiet = false

    @Argument(help: "Images, DICOM series folders, folders, or dataset folders.")
    var inputs: [String]

    func validate() throws {
        if tasks.isEmpty && box == nil && boxes == nil && points.isEmpty {
            throw ValidationError("give --task NAME, or a prompt: --box x0,y0,x1,y1, --boxes FILE and/or --point x,y[,label]")
        }
        _ = try parseFormats(format)
        if !tasks.isEmpty && !points.isEmpty { throw ValidationError("--point is for zero-shot prediction; tasks need none") }
        if let box { _ = try parseBox(box) }
        for p in points { _ = try parsePoint(p) }
        for t in tasks where !TaskStore.isValidName(t) { throw ValidationError("bad task name '\(t)'") }
        if Set(tasks).count != tasks.count { throw ValidationError("a --task is given twice") }
        if inputs.isEmpty { throw ValidationError("give at least one input") }
        guard threshold > 0, threshold < 1 else { throw ValidationError("--threshold must be a probability in (0, 1)") }
        if let window { _ = try parseWindow(window) }
        if zoom != nil && box == nil && boxes == nil { throw ValidationError("--zoom sets how given boxes are drawn: give --box or --boxes") }
        if let m = cascadeMargin, !(0...50).contains(m) { throw ValidationError("--cascade-margin is a percent of the image side, 0 to 50") }
        if let r = cascadeRounds, !(1...2).contains(r) { throw ValidationError("--cascade-rounds must be 1 or 2") }
        if locator != nil && (tasks.isEmpty || cascade == .off) {
            throw ValidationError("--locator sets where a task's cascade boxes come from: give --task, and not --cascade off")
        }
        if allSlices && tasks.isEmpty { throw ValidationError("--all-slices concerns a task's atlas: give --task") }
        if (cascadeMargin != nil || cascadeRounds != nil) && (tasks.isEmpty || cascade == .off) {
            throw ValidationError("--cascade-margin and --cascade-rounds set a task's cascade: give --task, and not --cascade off")
        }
    }

    func run() throws {
        let shard = try shardOptions.resolved()
        let model = try modelOptions.load()
        let store = TaskStore(root: URL(fileURLWithPath: tasksDir))
        let taskPredictors = try tasks.map { name in
            do { return try TaskPredictor(name, store: store, model: model) }
            catch let error as InputError { throw runtimeFailure(error.description) }
        }
        var options = Predictor.Options()
        options.window = try window.map(parseWindow)
        options.threshold = threshold
        options.largestComponent = largestComponent
        options.cascade = cascade
        options.cascadeMargin = cascadeMargin.map { $0 / 100 }
        options.cascadeRounds = cascadeRounds
        options.locator = locator
        options.encodeEverySlice = allSlices
        for task in taskPredictors where task.neverSawAbsence {
            let atlas = cascade != .off && (Predictor.locator(of: task, options: options) != .tokens
                                            || Predictor.atlasGates(task, options: options, isVolume: true))
            printWarning("task '\(task.manifest.name)' was trained on slices that all hold the structure: "
                         + (atlas ? "its atlas leaves slices beyond the training scan's span empty, but within that span, " : "")
                         + "on slices without it, its masks are false positives (docs/tuning.md, \"Slices without the structure\")")
        }
        if let zoom { options.zoom = zoom }
        let cache = try cacheDir.map { try EmbeddingCache(directory: URL(fileURLWithPath: $0), model: model) }
        let predictor = Predictor(segmenter: model.segmenter, tasks: taskPredictors, options: options, embeddingCache: cache)
        let prompts = BatchPrompts(box: try box.map(parseBox), boxTable: try boxes.map(readBoxTable) ?? [:],
                                   boxTableSource: boxes, points: try points.map(parsePoint))
        let batch = BatchOutput(folder: URL(fileURLWithPath: output), formats: try parseFormats(format), overlays: overlay,
                                skipExisting: skipExisting, shard: shard)
        // A box that cannot apply is said once, before the batch.
        let session: PredictSession
        do { session = try PredictSession(predictor: predictor, prompts: prompts, output: batch) }
        catch { throw runtimeFailure(error.reason) }
        let summary = session.run(inputs, observer: BatchProgress(quiet: quiet))
        if json { print(try summary.jsonText()) }
        if !summary.failed.isEmpty { throw ExitCode(1) }
    }
}

/// A batch's progress on stderr: the shard's share, then a line per case when there are
/// several (or a shard), and within a long volume its slices with an ETA (on a terminal
/// one line that updates, in a log a line every 10%); errors always print.
final class BatchProgress: PredictObserver {
    /// Volumes with fewer slices take seconds: no progress within them.
    static let slicesWorthProgress = 32
    private let quiet: Bool
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private var reportsCases = false
    private var volume: (name: String, firstSlice: Int, started: Date, decile: Int, shown: Bool)?

    init(quiet: Bool) { self.quiet = quiet }

    func sliceDone(_ name: String, slice: Int, of count: Int) {
        guard !quiet, count >= Self.slicesWorthProgress else { return }
        if volume?.name != name { volume = (name, slice, Date(), -1, false) }
        guard var v = volume, slice > v.firstSlice else { return }
        let elapsed = Date().timeIntervalSince(v.started)
        let line = "\(name): slice \(slice) of \(count), ETA \(duration(elapsed / Double(slice - v.firstSlice) * Double(count - slice)))"
        if isTerminal {
            writeToStderr(raw: "\r\(line)  ")
            v.shown = true
        } else if slice * 10 / count > v.decile {
            v.decile = slice * 10 / count
            writeToStderr(line)
        }
        volume = v
    }

    /// Clears a terminal's slice line before the case's own line.
    private func endVolume() {
        if volume?.shown == true { writeToStderr(raw: "\r\u{1B}[K") }
        volume = nil
    }

    func sharding(_ shard: Shard, taking names: [String], of total: Int) {
        reportsCases = !quiet
        if !quiet { writeToStderr(shard.summary(taking: names, of: total)) }
    }

    func caseSkipped(_ name: String, index: Int, of count: Int) {
        if shows(count) { writeToStderr("[\(index)/\(count)] \(name): already done") }
    }

    func caseDone(_ name: String, slices: Int, seconds: Double, index: Int, of count: Int) {
        endVolume()
        guard shows(count) else { return }
        let sliceCount = slices == 1 ? "1 slice" : "\(slices) slices"
        writeToStderr("[\(index)/\(count)] \(name): \(sliceCount) in " + String(format: "%.1f s", seconds))
    }

    func caseFailed(_ name: String, error: String) {
        endVolume()
        printError(error)
    }

    func slicesBeyondAtlas(_ name: String, task: String, slices: Int, of count: Int) {
        endVolume()
        if !quiet {
            printWarning("\(name): task '\(task)': \(slices) of \(count) slices lie beyond the span of the training scan its atlas matched, "
                         + "and are left empty (docs/tuning.md, \"Atlas\")")
        }
    }

    private func shows(_ count: Int) -> Bool { !quiet && (count > 1 || reportsCases) }
}

/// `--format png,nifti,dicom-seg,rtstruct`, as a validation error when malformed.
func parseFormats(_ text: String) throws -> Set<MaskFormat> {
    do { return try MaskFormat.parseList(text) } catch { throw ValidationError("--format: \(error.message)") }
}

extension Predictor.CascadeMode: ExpressibleByArgument {}
extension ZoomMode: ExpressibleByArgument {}
extension CascadeChoice.Locator: ExpressibleByArgument {}
