import ArgumentParser
import Foundation
import Imaging
import Models
import Tensors
import Tuning

struct Embed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fill the embedding cache ahead of `fit` (decoder mode), e.g. overnight or on another machine.",
        discussion: """
            Encodes every image of the dataset folders (and, unless --no-augment, its augmented \
            variants, as `fit --augment` trains on them) with the same window and model as \
            `fit` would, and stores the embeddings in --cache-dir. A later `fit` with the same \
            settings runs no encoder. Images already cached are skipped.

            With --shard K/N (or --shard-from-env) each process takes the cases whose name hashes \
            to its shard; shards can fill one --cache-dir side by side, also on NFS (docs/cluster.md).
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var windowOptions: WindowOptions

    @Argument(help: "Dataset folders (as for fit).")
    var scans: [String]

    @Option(help: ArgumentHelp("The variants `fit --augment` will train on (same names).", valueName: "list"))
    var augment: String = AugmentationGroup.defaults.map(\.rawValue).joined(separator: ",")

    @Flag(help: "Only the images as they are (as `fit --no-augment`).")
    var noAugment = false

    @Option(help: "Label value(s) that are foreground in label-map masks (as for fit).")
    var label: String?

    @Option(help: ArgumentHelp("What of each slice is encoded (as `fit --crop`).", valueName: "body|none"))
    var crop: FieldOfView = .body

    @Option(help: "Folder for cached image embeddings.")
    var cacheDir: String = ".segtune-cache"

    @OptionGroup var shardOptions: ShardOptions

    @Flag(help: "No progress on stderr.")
    var quiet = false

    func validate() throws {
        _ = try parseWindow(windowOptions.window)
        _ = try parseLabels(label)
        _ = try parseAugmentations(augment)
    }

    func run() throws {
        let shard = try shardOptions.resolved()
        let progress = Progress(quiet: quiet)
        let window = try parseWindow(windowOptions.window)
        let labels = try parseLabels(label)
        let model = try modelOptions.load()
        let segmenter = model.segmenter
        let cache = try EmbeddingCache(directory: URL(fileURLWithPath: cacheDir), model: model)
        let augmentations = AugmentationGroup.variants(noAugment ? [] : try parseAugmentations(augment))
        AtomicFiles.removeStaleTemporaries(in: cache.directory)
        var failures = 0
        for folder in scans {
            do {
                var dataset = try discoverDataset(at: URL(fileURLWithPath: folder))
                if let warning = dataset.unpairedWarning { progress.warn(warning) }
                if let shard {
                    let all = dataset.cases.count
                    dataset.cases = dataset.cases.filter { shard.owns($0.name) }
                    progress.note("\(folder): " + ShardOptions.describe(shard, taking: dataset.cases.map(\.name), of: all))
                }
                let loaded = loadLabeledSlices(dataset, window: window, labels: labels, fieldOfView: crop)
                for failure in loaded.failures { progress.error(failure.description) }
                failures += loaded.failures.count
                var encoded = 0
                progress.start("embedding \(folder)", total: loaded.slices.count * augmentations.count)
                _ = try makeExamples(loaded.slices, augmentations: augmentations, segmenter: segmenter, cache: cache) { done, _, ran in
                    if ran { encoded += 1 }
                    progress.update(done)
                }
                progress.finish("\(folder): \(encoded) images encoded, \(loaded.slices.count * augmentations.count - encoded) already cached")
            } catch {
                failures += 1
                progress.error("\(error)")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
