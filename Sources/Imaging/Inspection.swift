import Foundation

/// What `segtune inspect` finds at a path, in the order it finds it.
public enum InspectionItem: Sendable {
    /// A dataset folder and its layout, before its pairs.
    case dataset(root: URL, layout: String, pairs: Int)
    /// One image/mask pair of a dataset (paths relative to its root), before its report.
    case pair(name: String, image: String, mask: String)
    /// A file or series; `inDataset`: it belongs to the pair reported just before.
    case report(InspectReport, inDataset: Bool)
    case warning(String)
    /// A file that could not be read; the walk goes on with the others.
    case failure(InputError)
}

/// Reads what is at `url` as `segtune inspect` does: a dataset folder pair by pair (each
/// mask checked against its image), a plain folder's PNG, JPEG, NIfTI, NRRD and MetaImage
/// files one by one and its other files as DICOM series, or one file. Returns how many
/// files failed.
@discardableResult
public func inspect(_ url: URL, window: Window, _ emit: (InspectionItem) -> Void) -> Int {
    let folder = isFolder(url)
    do {
        if folder, let dataset = try discoverDatasetIfPresent(at: url) { return inspect(dataset, window: window, emit) }
        if folder { return try inspectFolder(url, window: window, emit) }
        emit(.report(InspectReport(volume: try readVolume(at: url), path: url.path, window: window), inDataset: false))
        return 0
    } catch let error as InputError {
        emit(.failure(error))
    } catch {
        emit(.failure(InputError(file: url.path, reason: "\(error)")))
    }
    return 1
}

private func inspectFolder(_ url: URL, window: Window, _ emit: (InspectionItem) -> Void) throws -> Int {
    let files = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
        .filter { !$0.hasPrefix(".") }.map { url.appendingPathComponent($0) }
        .filter { !isFolder($0) }
    let imageKinds: [FileKind] = [.png, .jpeg, .nifti, .nrrd, .metaImage]
    let images = files.filter { imageKinds.contains(FileKind($0)) }, others = files.filter { !imageKinds.contains(FileKind($0)) }
    var failures = images.reduce(0) { $0 + inspect($1, window: window, emit) }
    if !others.isEmpty || images.isEmpty {
        let scan = try scanDICOMFiles(others, folder: url)
        for volume in scan.series { emit(.report(InspectReport(volume: volume, path: url.path, window: window), inDataset: false)) }
        scan.skipped.forEach { emit(.failure($0)) }
        failures += scan.skipped.count
    }
    return failures
}

private func inspect(_ dataset: Dataset, window: Window, _ emit: (InspectionItem) -> Void) -> Int {
    emit(.dataset(root: dataset.root, layout: dataset.layout.rawValue, pairs: dataset.cases.count))
    if let warning = dataset.unpairedWarning { emit(.warning(warning)) }
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
            emit(.pair(name: item.name, image: relative(item.image, to: dataset.root), mask: relative(item.mask, to: dataset.root)))
            emit(.report(entry, inDataset: true))
        } catch let error as InputError {
            emit(.failure(error))
            failures += 1
        } catch {
            emit(.failure(InputError(file: item.image.path, reason: "\(error)")))
            failures += 1
        }
    }
    return failures
}

private func relative(_ url: URL, to root: URL) -> String {
    let prefix = root.standardizedFileURL.path + "/"
    let path = url.standardizedFileURL.path
    return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
}
