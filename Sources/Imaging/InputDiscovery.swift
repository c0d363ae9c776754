import Foundation

/// One scan to segment: a file (PNG, JPEG, NIfTI, a DICOM file) or a DICOM series
/// folder, and the name its outputs take.
public struct ScanInput: Sendable, Equatable {
    public var name: String
    public var url: URL
    public init(name: String, url: URL) { self.name = name; self.url = url }
}

/// The one set of rules for what a command's path arguments hold:
/// - a file is one input, named by its stem (`ct.nii.gz` → `ct`);
/// - a dataset folder (images/ + masks/, imagesTr/ + labelsTr/) gives its cases' images;
/// - another folder gives each PNG, JPEG and NIfTI file in it, the folder itself as one
///   DICOM series when it holds other files (DICOM files often have no extension), and
///   the same again for each subfolder, down to `depth` levels (patient/study/series trees);
///   inside a subfolder, names are prefixed with the folders' names (`patient1_series2`),
///   so that two series of one name in different folders do not share their outputs.
/// Paths that do not exist or cannot be listed are errors; the others are still given.
public func discoverInputs(_ paths: [String], depth: Int = 4) -> (inputs: [ScanInput], errors: [InputError]) {
    var inputs: [ScanInput] = [], errors: [InputError] = []
    func visit(_ url: URL, level: Int, top: Bool, prefix: String) {
        let folder: Bool
        do { folder = try isExistingFolder(url) } catch {
            errors.append(error)
            return
        }
        guard folder else {
            inputs.append(ScanInput(name: prefix + scanStem(url), url: url))
            return
        }
        do {
            if top, let dataset = try discoverDatasetIfPresent(at: url) {
                inputs += dataset.cases.map { ScanInput(name: $0.name, url: $0.image) }
                return
            }
            let entries = try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: [.isDirectoryKey])
                .filter { !$0.lastPathComponent.hasPrefix(".") }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
            let subfolders = entries.filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
            let files = entries.filter { !subfolders.contains($0) }
            let images = files.filter { [.png, .jpeg, .nifti, .nrrd, .metaImage].contains(FileKind($0)) }
            let dicomCandidates = files.filter { !images.contains($0) && !notScans.contains($0.pathExtension.lowercased()) }
            let inner = top ? "" : prefix + url.lastPathComponent + "_"
            inputs += images.map { ScanInput(name: inner + scanStem($0), url: $0) }
            if !dicomCandidates.isEmpty || (top && files.isEmpty && subfolders.isEmpty) {
                inputs.append(ScanInput(name: prefix + url.lastPathComponent, url: url))   // its own files: a DICOM series
            }
            if level < depth { for sub in subfolders { visit(sub, level: level + 1, top: false, prefix: inner) } }
        } catch let error as InputError {
            errors.append(error)
        } catch {
            errors.append(InputError(file: url.path, reason: "cannot list the folder (\(error.localizedDescription))"))
        }
    }
    for path in paths { visit(URL(fileURLWithPath: path), level: 0, top: true, prefix: "") }
    return (inputs, errors)
}

/// Files beside scans that are not DICOM (DICOM files may have any extension, even a
/// UID's last number, so only these are left out of a folder's series).
private let notScans: Set<String> = ["txt", "csv", "tsv", "json", "md", "xml", "html", "pdf", "zip", "tar", "gz", "bz2", "xz",
                                     "py", "sh", "log", "ini", "yaml", "yml", "toml", "npy", "npz", "raw", "db", "bmp", "tif", "tiff"]

/// A file's name without its image extension (both of `.nii.gz`); other names are kept
/// whole, since DICOM files are often named by a UID (`CT.1.2.3` stays `CT.1.2.3`).
public func scanStem(_ url: URL) -> String {
    let name = url.lastPathComponent
    if name.lowercased().hasSuffix(".nii.gz") { return String(name.dropLast(7)) }
    let known: Set<String> = ["png", "jpg", "jpeg", "dcm", "dicom", "nii", "nrrd", "nhdr", "mha", "mhd"]
    return known.contains(url.pathExtension.lowercased()) ? url.deletingPathExtension().lastPathComponent : name
}
