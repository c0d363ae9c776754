import ArgumentParser
import Foundation
import Imaging
import Models
import Tensors

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict a mask for each image from a box and/or points (zero-shot).",
        discussion: """
            Writes OUT/<image stem>.png: an 8-bit mask (0 background, 255 foreground) at the \
            input image's size; for a volume (NIfTI, multi-frame DICOM, a DICOM series \
            folder) one OUT/<case>/<slice>.png per slice, the same prompt on every slice. \
            Box and point coordinates are in input-image pixels. DICOM and NIfTI values \
            go through --window first.

            A file that cannot be read is reported (segtune: FILE: reason) and skipped; \
            the exit status is then non-zero.

              segtune predict --box 40,60,180,200 scan.png -o out/
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var windowOptions: WindowOptions

    @Option(help: "Box prompt x0,y0,x1,y1 in image pixels.")
    var box: String?

    @Option(name: .customLong("point"), help: "Point prompt x,y[,label] (label 1 foreground, 0 background); repeatable.")
    var points: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Output folder.")
    var output: String

    @Argument(help: "Images: PNG, JPEG, DICOM, NIfTI (.nii, .nii.gz), or a DICOM series folder.")
    var images: [String]

    func validate() throws {
        if box == nil && points.isEmpty { throw ValidationError("give a prompt: --box x0,y0,x1,y1 and/or --point x,y[,label]") }
        if let box { _ = try parseBox(box) }
        for p in points { _ = try parsePoint(p) }
        if images.isEmpty { throw ValidationError("give at least one image") }
        if let t = modelOptions.threads, t < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try ModelPreset.named(modelOptions.model)
        do { _ = try Window(parsing: windowOptions.window) } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        let window = try Window(parsing: windowOptions.window)
        if let t = modelOptions.threads { Threads.count = t }
        let segmenter = try loadSegmenter(modelOptions)
        let boxPrompt = try box.map(parseBox)
        let pointPrompts = try points.map(parsePoint)
        let outDir = URL(fileURLWithPath: output)
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)

        var failures = 0
        for path in images {
            let url = URL(fileURLWithPath: path)
            do {
                let slices = windowed(try readImages(at: url), window)
                let stem = caseName(url)
                var destination = outDir
                if slices.count > 1 {
                    destination = outDir.appendingPathComponent(stem)
                    try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
                }
                for (index, image) in slices.enumerated() {
                    if let b = boxPrompt, b.x0 >= Float(image.width) || b.y0 >= Float(image.height) || b.x1 < 0 || b.y1 < 0 {
                        throw InputError(file: path, reason: "the box lies outside the \(image.width)×\(image.height) image")
                    }
                    let channels = image.channels >= 3 ? 3 : 1
                    let pixels = image.channels == channels ? image.pixels
                        : (0..<(image.width * image.height)).flatMap { p in (0..<channels).map { image.pixels[p * image.channels + $0] } }
                    let mask = segmenter.predict(pixels: pixels, width: image.width, height: image.height, channels: channels,
                                                 box: boxPrompt, points: pointPrompts)
                    let name = slices.count > 1 ? String(format: "%04d.png", index) : stem + ".png"
                    try writeGrayPNG(mask.map { $0 == 0 ? 0 : 255 }, width: image.width, height: image.height,
                                     to: destination.appendingPathComponent(name))
                }
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("segtune: \(describe(error, path))\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// The file or folder name without its image extensions (`ct.nii.gz` → `ct`).
func caseName(_ url: URL) -> String {
    var name = url.lastPathComponent
    for ext in [".nii.gz", ".nii", ".png", ".jpg", ".jpeg", ".dcm"] where name.lowercased().hasSuffix(ext) {
        name = String(name.dropLast(ext.count))
        break
    }
    return name
}

/// "file: reason" for any error, naming the file when the error does not.
func describe(_ error: Error, _ path: String) -> String {
    if let e = error as? InputError { return e.description }
    let text = String(describing: error)
    return text.hasPrefix(path) ? text : "\(path): \(text)"
}

/// The segmenter for --model / --checkpoint (default models/<the preset's file>).
func loadSegmenter(_ options: ModelOptions) throws -> Segmenter {
    let preset = try ModelPreset.named(options.model)
    let path = options.checkpoint ?? "models/\(preset.checkpointFile)"
    guard FileManager.default.fileExists(atPath: path) else {
        throw ValidationError("\(path): checkpoint not found (run scripts/setup, or pass --checkpoint)")
    }
    let weights = try loadCheckpoint(at: URL(fileURLWithPath: path))
    do {
        return try Segmenter(preset: preset, weights: weights)
    } catch let e as CheckpointMismatch {
        throw ValidationError("\(path): \(e)")
    }
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
