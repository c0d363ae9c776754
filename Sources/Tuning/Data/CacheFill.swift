import Foundation
import Imaging
import Models

/// `segtune embed` without the CLI: encodes every slice of the dataset folders (and the
/// augmented variants `fit` will train on) into `cache`, as fit's embedding phase would
/// (the same `loadLabeledSlices` and `makeExamples`), so that a later fit runs no
/// encoder. With `shard`, only the cases it owns. Returns how many inputs failed; each
/// is reported through `observer.failed` and the others go on.
public func fillEmbeddingCache(_ folders: [URL], window: Window, labels: LabelSelection?, fieldOfView: FieldOfView,
                               augmentations: [Augmentation], shard: Shard?, model: BaseModel, cache: EmbeddingCache,
                               observer: FitObserver) -> Int {
    AtomicFiles.removeStaleTemporaries(in: cache.directory)
    var failures = 0
    for folder in folders {
        do {
            var dataset = try discoverDataset(at: folder)
            if let warning = dataset.unpairedWarning { observer.event(.datasetWarning(warning)) }
            if let shard {
                let all = dataset.cases.count
                dataset.cases = dataset.cases.filter { shard.owns($0.name) }
                observer.event(.shard(folder: folder.relativePath, shard, taking: dataset.cases.map(\.name), of: all))
            }
            let loaded = loadLabeledSlices(dataset, window: window, labels: labels, fieldOfView: fieldOfView)
            loaded.failures.forEach(observer.failed)
            failures += loaded.failures.count
            let variants = loaded.slices.count * augmentations.count
            var encoded = 0
            observer.start("embedding \(folder.relativePath)", total: variants)
            _ = try makeExamples(loaded.slices, augmentations: augmentations, segmenter: model.segmenter, cache: cache) { done, _, ran in
                if ran { encoded += 1 }
                observer.update(done)
            }
            observer.event(.cacheFilled(folder: folder.relativePath, encoded: encoded, cached: variants - encoded))
        } catch let error as InputError {
            failures += 1
            observer.failed(error)
        } catch {
            failures += 1
            observer.failed(InputError(file: folder.relativePath, reason: "\(error)"))
        }
    }
    return failures
}
