import ArgumentParser

@main
struct Segtune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "segtune",
        abstract: "Prompt-tune a frozen Segment-Anything-style model for one medical structure, on a CPU.",
        discussion: """
            Typical use:
              segtune fit --task liver scans/            learn the prompts for one task
              segtune predict --task liver in/ -o out/   write mask PNGs
              segtune score out/ scans/masks/            Dice, IoU, HD95, NSD
            """,
        version: "0.1.0",
        subcommands: [Fit.self, Predict.self, Score.self, Embed.self, Inspect.self, ListModels.self, Bench.self]
    )
}
