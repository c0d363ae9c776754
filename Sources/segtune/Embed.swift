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
        let model = try modelOptions.load()
        let failures = fillEmbeddingCache(scans.map { URL(fileURLWithPath: $0) }, window: try parseWindow(windowOptions.window),
                                          labels: try parseLabels(label), fieldOfView: crop,
                                          augmentations: AugmentationGroup.variants(noAugment ? [] : try parseAugmentations(augment)),
                                          shard: shard, model: model, cache: try EmbeddingCache(directory: URL(fileURLWithPath: cacheDir), model: model),
                                          observer: Progress(quiet: quiet))
        if failures > 0 { throw ExitCode(1) }
    }
}
