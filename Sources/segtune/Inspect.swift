import ArgumentParser
import Foundation
import Imaging

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what segtune reads from image files, DICOM series folders and datasets.",
        discussion: """
            For each PATH: size, frames or slices, modality, transfer syntax, spacing,
            value range (modality values: after Rescale Slope/Intercept, before any window)
            and the window `auto` would use. A dataset folder (images/ + masks/, or nnU-Net
            imagesTr/ + labelsTr/) lists the image/mask pairs it found. A file that cannot be
            read prints one error line; the others are still shown, and the exit status is 1.
            """)

    @Argument(help: "Image files (.dcm, .png, .jpg, .nii, .nii.gz), DICOM series folders, or dataset folders.")
    var paths: [String]

    @Flag(help: "Print one JSON object per file instead of text.")
    var json = false

    @OptionGroup var windowOptions: WindowOptions

    func validate() throws {
        _ = try parseWindow(windowOptions.window)
    }

    /// Parsed in validate(), so this cannot fail here.
    private var window: Window { (try? Window(parsing: windowOptions.window)) ?? .auto }

    func run() throws {
        var failures = 0
        for path in paths {
            failures += Imaging.inspect(URL(fileURLWithPath: path), window: window) { item in
                switch item {
                case .dataset(let root, let layout, let pairs):
                    if !json { print("\(root.path): dataset (\(layout)), \(pairs) image/mask pair\(pairs == 1 ? "" : "s")") }
                case .pair(let name, let image, let mask):
                    if !json { print("  \(name): \(image) + \(mask)") }
                case .report(let entry, let inDataset): emit(entry, indent: inDataset ? "    " : "")
                case .warning(let line): printWarning(line)
                case .failure(let error): printError(error)
                }
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    private func emit(_ entry: InspectReport, indent: String) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: (try? encoder.encode(entry)) ?? Data(), as: UTF8.self))
        } else {
            print(entry.text.split(separator: "\n").map { indent + $0 }.joined(separator: "\n"))
        }
    }
}
