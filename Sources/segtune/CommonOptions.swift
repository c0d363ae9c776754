import ArgumentParser
import Imaging
import Models
import Tensors

/// Options shared by every command that runs the model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Base model: litemedsam, sam-vit-b, medsam-vit-b, sam-vit-l, sam-vit-h.")
    var model: String = "litemedsam"

    @Option(help: "Checkpoint file (.pth, .pt or .safetensors); default: the model's file from $SEGTUNE_MODELS, ./models, the install prefix or the build's repository (`segtune models` shows which).")
    var checkpoint: String?

    @Option(help: "Worker threads (also SEGTUNE_THREADS); default: all cores.")
    var threads: Int?

    /// ArgumentParser runs this with the command's own checks.
    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        _ = try ModelPreset.named(model)
    }

    func applyThreads() {
        if let threads { Threads.count = threads }
    }

    /// Sets the thread count and loads the base model.
    func load() throws -> BaseModel {
        applyThreads()
        return try loadBaseModel(self)
    }
}

/// How DICOM and NIfTI intensities become [0, 1].
struct WindowOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Intensity window: abdomen, liver, lung, bone, brain, W/L (e.g. 400/40), or auto.",
                               discussion: "auto: CT (DICOM Modality CT, or NIfTI values that look like HU) gets abdomen (400/40, as MedSAM); other DICOM its own window, else the 0.5–99.5 percentiles; 8-bit PNG/JPEG their 0–255 range."))
    var window: String = "auto"
}

/// `--shard K/N` or `--shard-from-env`: which part of the cases this process takes.
struct ShardOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Take shard K of N of the cases (K from 1 to N), split by a stable hash of each case's name; give every shard the same inputs.",
                               valueName: "K/N"))
    var shard: String?

    @Flag(help: "Take the shard from the scheduler: SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT (a Slurm job array), or JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) of --shard-count.")
    var shardFromEnv = false

    @Option(help: ArgumentHelp("The number of shards, for --shard-from-env where the scheduler does not say it (Kubernetes: the Job's completions; also SEGTUNE_SHARD_COUNT).",
                               valueName: "N"))
    var shardCount: Int?

    func validate() throws {
        if shard != nil && shardFromEnv { throw ValidationError("give --shard K/N or --shard-from-env, not both") }
        if shardCount != nil && !shardFromEnv { throw ValidationError("--shard-count goes with --shard-from-env") }
        if let shard { _ = try parsedShard(shard) }
    }

    /// The shard to take, nil for all cases.
    func resolved() throws -> Shard? {
        if let shard { return try parsedShard(shard) }
        guard shardFromEnv else { return nil }
        do { return try Shard.fromEnvironment(count: shardCount) } catch { throw runtimeFailure(error.description) }
    }

    private func parsedShard(_ text: String) throws -> Shard {
        do { return try Shard(parsing: text) } catch { throw ValidationError(error.description) }
    }
}
