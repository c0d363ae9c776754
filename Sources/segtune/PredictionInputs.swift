import Foundation
import Imaging

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
