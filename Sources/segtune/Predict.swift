import ArgumentParser
import Foundation
import Imaging
import Models
import Tensors
import Tuning

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write mask PNGs: with a trained task (no prompt needed), or zero-shot from a box and/or points.",
        discussion: """
            INPUT: image files (PNG, JPEG, DICOM, NIfTI), DICOM series folders, folders of such files, \
            or dataset folders (their images/). A 2-D image gives OUT/<stem>.png; a volume (DICOM \
            series, multi-frame DICOM, NIfTI) gives OUT/<case>/<slice>.png, slice = the Instance \
            Number (or the 1-based slice index) zero-padded to 4. Masks are 8-bit, 0 background and \
            255 foreground, at the input's size. With several --task, each writes to OUT/<task>/, \
            and all tasks share one encoder pass per image (per window).

            --format nifti writes OUT/<case>.nii.gz (uint8 0/1) on exactly the input's grid: a \
            NIfTI input's own header (dims, pixdim, qform/sform), or for a DICOM series a header \
            from its Image Position/Orientation. --format dicom-seg writes OUT/<case>.seg.dcm, a \
            binary DICOM Segmentation referencing the series' instances, with the task's name as \
            the segment label and the source's patient and study. Volumes are segmented in \
            canonical LPS order (axial slices, columns to the patient's left, rows to posterior) \
            and written back in the input's own order.

            Images are windowed as the task was trained (its task.json), unless --window is given. \
            A file that cannot be read is reported (segtune: FILE: reason) and skipped; the exit \
            status is then non-zero. Outputs are written atomically.
              segtune predict --task liver scans/images -o out/
              segtune predict --box 40,60,180,200 scan.png -o out/
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Intensity window: abdomen, liver, lung, bone, brain, W/L (e.g. 400/40), or auto (default: the task's, else auto).")
    var window: String?

    @Option(name: .customLong("task"), help: "A trained task (repeatable).")
    var tasks: [String] = []

    @Option(help: "Folder that holds the tasks.")
    var tasksDir: String = "tasks"

    @Option(help: "Box prompt x0,y0,x1,y1 in image pixels (zero-shot, or for tasks trained --with-box).")
    var box: String?

    @Option(help: "A CSV of boxes per input (columns: image,x0,y0,x1,y1; image = file stem or case name).")
    var boxes: String?

    @Option(name: .customLong("point"), help: "Point prompt x,y[,label] (label 1 foreground, 0 background); zero-shot; repeatable.")
    var points: [String] = []

    @Option(help: "Foreground where the predicted probability exceeds this.")
    var threshold: Double = 0.5

    @Flag(help: "Keep only the largest connected component (3-D for volumes).")
    var largestComponent = false

    @Flag(help: "Also write <stem>.overlay.png: the image with the mask's outline.")
    var overlay = false

    @Option(help: "Outputs, comma-separated: png, nifti (volumes), dicom-seg (DICOM series).")
    var format: String = "png"

    @Option(name: [.short, .customLong("output")], help: "Output folder.")
    var output: String

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
        if let t = modelOptions.threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try ModelPreset.named(modelOptions.model)
    }

    func run() throws {
        if let t = modelOptions.threads { Threads.count = t }
        let (segmenter, checkpoint) = try loadSegmenterAndPath(modelOptions)
        let store = TaskStore(root: URL(fileURLWithPath: tasksDir))
        let digest = tasks.isEmpty ? "" : try SHA256.hexDigest(ofFile: checkpoint)
        let predictors = try tasks.map { name in
            do { return try TaskPredictor(name, store: store, segmenter: segmenter, modelDigest: digest) }
            catch let error as InputError { throw runtimeFailure(error.description) }
        }
        let boxTable = try boxes.map(readBoxTable) ?? [:]
        let commonBox = try box.map(parseBox)
        let pointPrompts = try points.map(parsePoint)
        let logitThreshold = Float(log(threshold / (1 - threshold)))
        let outRoot = URL(fileURLWithPath: output)

        var failures = 0
        let found = collectInputs(inputs)
        for error in found.errors { printError(error); failures += 1 }
        for input in found.inputs {
            do {
                let volume = try readVolume(at: input.url)
                let images = volume.slices
                let boxPrompt = boxTable[input.name] ?? commonBox
                if predictors.isEmpty && boxPrompt == nil && pointPrompts.isEmpty {
                    throw InputError(file: input.url.path, reason: "no box for '\(input.name)' in \(boxes ?? "--boxes"), and no --box")
                }
                for predictor in predictors where predictor.needsBox && boxPrompt == nil {
                    throw InputError(file: input.url.path, reason: "task '\(predictor.manifest.name)' was trained with a box: give --box or a row in --boxes")
                }
                // One encoder pass per window; tasks trained with the same window share it.
                var masksByTask: [[Mask]] = Array(repeating: [], count: max(predictors.count, 1))
                var displayed: [String: [Image]] = [:]
                let windows = predictors.isEmpty ? [window ?? "auto"] : predictors.map { window ?? $0.manifest.preprocessing.window }
                for windowName in Set(windows).sorted() {
                    let shown = windowed(images, try parseWindow(windowName))
                    displayed[windowName] = shown
                    // The plain encoder pass, unless every task of this window is deep (each runs its own).
                    let needsPlain = predictors.isEmpty
                        || predictors.indices.contains { windows[$0] == windowName && predictors[$0].usesSharedEmbedding }
                    for image in shown {
                        let geometry = prepare(image, with: segmenter)
                        let embedding = needsPlain ? segmenter.imageEmbedding(geometry) : nil
                        if predictors.isEmpty {
                            let (sparse, dense) = segmenter.promptEmbeddings(box: boxPrompt, points: pointPrompts, for: geometry)
                            let low = segmenter.decode(imageEmbedding: embedding!, sparse: sparse, dense: dense).masks
                            let full = segmenter.logitsAtOriginalSize(low.reshaped([low.shape[2], low.shape[3]]), for: geometry)
                            masksByTask[0].append(Mask(width: image.width, height: image.height,
                                                       voxels: full.data.map { $0 > logitThreshold ? 1 : 0 }))
                        }
                        for (t, predictor) in predictors.enumerated() where windows[t] == windowName {
                            masksByTask[t].append(predictor.mask(embedding: embedding, geometry: geometry, box: boxPrompt, threshold: logitThreshold))
                        }
                    }
                }
                for (t, masks) in masksByTask.enumerated() {
                    let folder = predictors.count > 1 ? outRoot.appendingPathComponent(tasks[t]) : outRoot
                    try write(masks, of: volume, shown: displayed[windows[t]]!, input: input, label: predictors.isEmpty ? "segtune" : tasks[t], to: folder)
                }
            } catch let error as InputError {
                failures += 1
                printError(error)
            } catch {
                failures += 1
                printError(describe(error, input.url.path))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// Writes one case's masks in every format asked for: PNG (and overlays) per 2-D image
    /// or slice, a NIfTI volume, a DICOM SEG.
    private func write(_ masks: [Mask], of volume: Volume, shown: [Image], input: PredictionInput, label: String, to folder: URL) throws {
        let formats = try parseFormats(format)
        var masks = masks
        if largestComponent { masks = splitSlices(largestConnectedComponent(of: stackSlices(masks))) }
        let images = volume.slices
        let isVolume = images.count > 1
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if formats.contains(.png) {
            let target = isVolume ? folder.appendingPathComponent(input.name) : folder
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            let numbers = sliceNumbers(images)
            for (index, mask) in masks.enumerated() {
                let stem = isVolume ? String(format: "%04d", numbers[index]) : input.name
                try writeGrayPNG(mask.voxels.map { $0 == 0 ? 0 : 255 }, width: mask.width, height: mask.height,
                                 to: target.appendingPathComponent(stem + ".png"))
                if overlay {
                    try writePNG(outlineOverlay(image: shown[index], mask: mask), width: mask.width, height: mask.height,
                                 channels: 3, to: target.appendingPathComponent(stem + ".overlay.png"))
                }
            }
        }
        if formats.contains(.nifti) {
            guard volume.geometry != nil || volume.niftiHeader != nil else {
                throw InputError(file: input.url.path, reason: "--format nifti needs a NIfTI volume or a DICOM series (this input has no voxel grid)")
            }
            try writeNIfTIMask(stackSlices(masks), like: volume, to: folder.appendingPathComponent(input.name + ".nii.gz"))
        }
        if formats.contains(.dicomSeg) {
            guard let geometry = volume.geometry, let stored = volume.storedSlices else {
                throw InputError(file: input.url.path, reason: "--format dicom-seg needs a DICOM series (a folder of slices)")
            }
            let storedMasks = geometry.toStored(stackSlices(masks).voxels)
            let perSlice = geometry.storedSize[0] * geometry.storedSize[1]
            try writeDICOMSegmentation(masks: (0..<stored.count).map { Array(storedMasks[($0 * perSlice)..<(($0 + 1) * perSlice)]) },
                                       sources: stored.map { URL(fileURLWithPath: $0.file) },
                                       rows: geometry.storedSize[1], columns: geometry.storedSize[0], segmentLabel: label,
                                       to: folder.appendingPathComponent(input.name + ".seg.dcm"))
        }
    }
}

/// Output formats of `predict --format`.
enum OutputFormat: String, CaseIterable {
    case png, nifti, dicomSeg = "dicom-seg"
}

func parseFormats(_ text: String) throws -> Set<OutputFormat> {
    let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    var formats = Set<OutputFormat>()
    for name in names {
        guard let format = OutputFormat(rawValue: name) else {
            throw ValidationError("unknown --format '\(name)': use png, nifti, dicom-seg (comma-separated)")
        }
        formats.insert(format)
    }
    if formats.isEmpty { throw ValidationError("--format needs at least one of png, nifti, dicom-seg") }
    return formats
}

/// "file: reason" for any error, naming the file when the error does not.
func describe(_ error: Error, _ path: String) -> String {
    if let e = error as? InputError { return e.description }
    let text = String(describing: error)
    return text.hasPrefix(path) ? text : "\(path): \(text)"
}

/// The segmenter for --model / --checkpoint.
func loadSegmenter(_ options: ModelOptions) throws -> Segmenter {
    try loadSegmenterAndPath(options).0
}

/// Output slice numbers: the DICOM Instance Numbers when every slice has its own
/// (a series), else 1, 2, 3… (frames of one multi-frame file, NIfTI slices).
func sliceNumbers(_ images: [Image]) -> [Int] {
    let instances = images.compactMap { $0.dicom?.instanceNumber }
    return instances.count == images.count && Set(instances).count == images.count ? instances : Array(1 ... images.count)
}
