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
            failures += inspect(URL(fileURLWithPath: path))
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// Prints one path's report; returns how many files failed.
    private func inspect(_ url: URL) -> Int {
        let folder = isFolder(url)
        do {
            if folder, let dataset = try discoverDatasetIfPresent(at: url) {
                return report(dataset)
            }
            if folder { return try inspectFolder(url) }
            emit(InspectReport(volume: try readVolume(at: url), path: url.path, window: window))
            return 0
        } catch let error as InputError {
            printError(error)
            return 1
        } catch {
            printError(InputError(file: url.path, reason: "\(error)"))
            return 1
        }
    }

    /// A plain folder: PNG, JPEG and NIfTI files one by one; the other files as DICOM
    /// series (split by Series Instance UID).
    private func inspectFolder(_ url: URL) throws -> Int {
        let files = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
            .filter { !$0.hasPrefix(".") }.map { url.appendingPathComponent($0) }
            .filter { !FileManager.default.fileExists(atPath: $0.path + "/.") }
        let images = files.filter { [.png, .jpeg, .nifti, .nrrd, .metaImage].contains(FileKind($0)) }
        let others = files.filter { ![.png, .jpeg, .nifti, .nrrd, .metaImage].contains(FileKind($0)) }
        var failures = 0
        for image in images { failures += inspect(image) }
        if !others.isEmpty || images.isEmpty {
            let scan = try scanDICOMFiles(others, folder: url)
            for volume in scan.series { emit(InspectReport(volume: volume, path: url.path, window: window)) }
            scan.skipped.forEach(printError)
            failures += scan.skipped.count
        }
        return failures
    }

    private func report(_ dataset: Dataset) -> Int {
        if !json {
            print("\(dataset.root.path): dataset (\(dataset.layout.rawValue)), \(dataset.cases.count) image/mask pair\(dataset.cases.count == 1 ? "" : "s")")
        }
        if let warning = dataset.unpairedWarning { printWarning(warning) }
        var failures = 0
        for item in dataset.cases {
            do {
                // loadCase also checks that each mask matches its image's size.
                let loaded = try loadCase(item)
                let volume = Volume(slices: loaded.images, spacing: loaded.spacing, source: item.image.path,
                                    seriesInstanceUID: loaded.images.first?.dicom?.seriesInstanceUID)
                var entry = InspectReport(volume: volume, path: item.image.path, window: window)
                entry.caseName = item.name
                entry.mask = item.mask.path
                entry.maskForeground = loaded.masks.reduce(0) { $0 + $1.foregroundCount }
                if !json { print("  \(item.name): \(relative(item.image, to: dataset.root)) + \(relative(item.mask, to: dataset.root))") }
                emit(entry, indent: "    ")
            } catch let error as InputError {
                printError(error)
                failures += 1
            } catch {
                printError(InputError(file: item.image.path, reason: "\(error)"))
                failures += 1
            }
        }
        return failures
    }

    private func emit(_ entry: InspectReport, indent: String = "") {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: (try? encoder.encode(entry)) ?? Data(), as: UTF8.self))
        } else {
            print(entry.text.split(separator: "\n").map { indent + $0 }.joined(separator: "\n"))
        }
    }
}

private func relative(_ url: URL, to root: URL) -> String {
    let prefix = root.standardizedFileURL.path + "/"
    let path = url.standardizedFileURL.path
    return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
}
