import ArgumentParser

/// Options shared by every command that runs the model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Base model: litemedsam, sam-vit-b, medsam-vit-b, sam-vit-l, sam-vit-h.")
    var model: String = "litemedsam"

    @Option(help: "Checkpoint file (.pth, .pt or .safetensors); default: models/<the model's file>.")
    var checkpoint: String?

    @Option(help: "Worker threads (also SEGTUNE_THREADS); default: all cores.")
    var threads: Int?
}

/// How DICOM and NIfTI intensities become [0, 1].
struct WindowOptions: ParsableArguments {
    @Option(help: "Intensity window: abdomen, liver, lung, bone, brain, W/L (e.g. 400/40), or auto.")
    var window: String = "auto"
}
