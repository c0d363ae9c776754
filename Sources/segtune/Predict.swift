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

    @Option(name: [.short, .customLong("output")], help: "Output folder.")
    var output: String

    @Argument(help: "Images, DICOM series folders, folders, or dataset folders.")
    var inputs: [String]

    func validate() throws {
        if tasks.isEmpty && box == nil && points.isEmpty {
            throw ValidationError("give --task NAME, or a prompt: --box x0,y0,x1,y1 and/or --point x,y[,label]")
        }
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
            catch let error as InputError { throw ValidationError(error.description) }
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
                let images = try readImages(at: input.url)
                let boxPrompt = boxTable[input.name] ?? commonBox
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
                    for image in shown {
                        let geometry = prepare(image, with: segmenter)
                        let embedding = segmenter.imageEmbedding(geometry)
                        if predictors.isEmpty {
                            let (sparse, dense) = segmenter.promptEmbeddings(box: boxPrompt, points: pointPrompts, for: geometry)
                            let low = segmenter.decode(imageEmbedding: embedding, sparse: sparse, dense: dense).masks
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
                    try write(masks, of: images, shown: displayed[windows[t]]!, input: input, to: folder)
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

    /// Writes one case's masks (and overlays): a PNG for a 2-D image, a folder of slices for a volume.
    private func write(_ masks: [Mask], of images: [Image], shown: [Image], input: PredictionInput, to folder: URL) throws {
        var masks = masks
        if largestComponent { masks = splitSlices(largestConnectedComponent(of: stackSlices(masks))) }
        let isVolume = images.count > 1
        let target = isVolume ? folder.appendingPathComponent(input.name) : folder
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        for (index, mask) in masks.enumerated() {
            let stem = isVolume ? String(format: "%04d", images[index].dicom?.instanceNumber ?? index + 1) : input.name
            try writeGrayPNG(mask.voxels.map { $0 == 0 ? 0 : 255 }, width: mask.width, height: mask.height,
                             to: target.appendingPathComponent(stem + ".png"))
            if overlay {
                try writePNG(outlineOverlay(image: shown[index], mask: mask), width: mask.width, height: mask.height,
                             channels: 3, to: target.appendingPathComponent(stem + ".overlay.png"))
            }
        }
    }
}

/// One thing to predict: a file or a DICOM series folder, and the name its outputs take.
struct PredictionInput {
    var name: String
    var url: URL
}

/// Expands the command's arguments: files as they are; dataset folders to their cases'
/// images; other folders to the image files and subfolders inside, or, holding none,
/// to the folder itself as one DICOM series.
func collectInputs(_ paths: [String]) -> (inputs: [PredictionInput], errors: [InputError]) {
    var inputs: [PredictionInput] = [], errors: [InputError] = []
    let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "dcm", "nii", "gz"]
    for path in paths {
        let url = URL(fileURLWithPath: path)
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
            errors.append(InputError(file: path, reason: "no such file or folder"))
            continue
        }
        guard isFolder.boolValue else {
            inputs.append(PredictionInput(name: stem(of: url), url: url))
            continue
        }
        do {
            if let dataset = try discoverDatasetIfPresent(at: url) {
                inputs += dataset.cases.map { PredictionInput(name: $0.name, url: $0.image) }
                continue
            }
            let entries = try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: [.isDirectoryKey])
                .filter { !$0.lastPathComponent.hasPrefix(".") }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
            let images = entries.filter { imageExtensions.contains($0.pathExtension.lowercased()) && $0.pathExtension.lowercased() != "dcm" }
            let folders = entries.filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
            if images.isEmpty && folders.isEmpty {
                inputs.append(PredictionInput(name: url.lastPathComponent, url: url))  // one DICOM series
            } else {
                inputs += (images + folders).map { PredictionInput(name: stem(of: $0), url: $0) }
            }
        } catch {
            errors.append(InputError(file: path, reason: "\(error.localizedDescription)"))
        }
    }
    return (inputs, errors)
}

/// A file's name without its extension (both of `.nii.gz`).
func stem(of url: URL) -> String {
    let name = url.lastPathComponent
    if name.lowercased().hasSuffix(".nii.gz") { return String(name.dropLast(7)) }
    return url.pathExtension.isEmpty ? name : url.deletingPathExtension().lastPathComponent
}

/// Per-slice 2-D masks as one 3-D mask, and back.
func stackSlices(_ masks: [Mask]) -> Mask {
    Mask(width: masks[0].width, height: masks[0].height, depth: masks.count, voxels: masks.flatMap(\.voxels))
}

func splitSlices(_ volume: Mask) -> [Mask] {
    let n = volume.width * volume.height
    return (0 ..< volume.depth).map { z in
        Mask(width: volume.width, height: volume.height, voxels: Array(volume.voxels[z * n ..< (z + 1) * n]))
    }
}

/// `--boxes FILE`: rows `image,x0,y0,x1,y1` (a header row is allowed).
func readBoxTable(_ path: String) throws -> [String: BoxPrompt] {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw ValidationError("\(path): cannot read (\(error.localizedDescription))")
    }
    var table: [String: BoxPrompt] = [:]
    for (number, line) in text.split(whereSeparator: \.isNewline).enumerated() {
        let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if number == 0, fields.first?.lowercased() == "image" { continue }
        guard fields.count == 5, !fields[0].isEmpty, let box = try? parseBox(fields[1...].joined(separator: ",")) else {
            throw ValidationError("\(path):\(number + 1): expected image,x0,y0,x1,y1")
        }
        table[fields[0]] = box
    }
    return table
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

func parseNumbers(_ text: String, _ what: String, counts: Set<Int>) throws -> [Float] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Float($0.trimmingCharacters(in: .whitespaces)) }
    guard counts.contains(parts.count), parts.allSatisfy({ $0 != nil && $0!.isFinite }) else {
        throw ValidationError("bad \(what) '\(text)'")
    }
    return parts.map { $0! }
}

func parseBox(_ text: String) throws -> BoxPrompt {
    let v = try parseNumbers(text, "--box (expected x0,y0,x1,y1)", counts: [4])
    guard v[0] < v[2], v[1] < v[3] else { throw ValidationError("bad --box '\(text)': needs x0 < x1 and y0 < y1") }
    return BoxPrompt(x0: v[0], y0: v[1], x1: v[2], y1: v[3])
}

func parsePoint(_ text: String) throws -> PointPrompt {
    let v = try parseNumbers(text, "--point (expected x,y[,label])", counts: [2, 3])
    let label = v.count == 3 ? Int(v[2]) : 1
    guard label == 0 || label == 1, v.count == 2 || Float(label) == v[2] else {
        throw ValidationError("bad --point '\(text)': the label is 1 (foreground) or 0 (background)")
    }
    return PointPrompt(x: v[0], y: v[1], label: label)
}
