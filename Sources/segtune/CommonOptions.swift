import ArgumentParser

/// Options shared by every command that runs the model.
struct ModelOptions: ParsableArguments {
    @Option(help: "Base model: litemedsam, sam-vit-b, medsam-vit-b, sam-vit-l, sam-vit-h.")
    var model: String = "litemedsam"

    @Option(help: "Checkpoint file (.pth, .pt or .safetensors); default: the model's file from $SEGTUNE_MODELS, ./models, the install prefix or the build's repository (`segtune models` shows which).")
    var checkpoint: String?

    @Option(help: "Worker threads (also SEGTUNE_THREADS); default: all cores.")
    var threads: Int?
}

/// How DICOM and NIfTI intensities become [0, 1].
struct WindowOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Intensity window: abdomen, liver, lung, bone, brain, W/L (e.g. 400/40), or auto.",
                               discussion: "auto: CT (DICOM Modality CT, or NIfTI values that look like HU) gets abdomen (400/40, as MedSAM); other DICOM its own window, else the 0.5–99.5 percentiles; 8-bit PNG/JPEG their 0–255 range."))
    var window: String = "auto"
}
