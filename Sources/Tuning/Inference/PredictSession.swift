import Foundation
import Imaging
import Models

/// The prompts a batch gives its cases: one box for all, boxes per case or per slice
/// (`case/slice` keys, slice = the output slice number), and points.
public struct BatchPrompts: Sendable {
    public var box: BoxPrompt?
    public var boxTable: [String: BoxPrompt]
    /// Where the table came from, for the error a case without a box gets.
    public var boxTableSource: String?
    public var points: [PointPrompt]

    public init(box: BoxPrompt? = nil, boxTable: [String: BoxPrompt] = [:], boxTableSource: String? = nil, points: [PointPrompt] = []) {
        (self.box, self.boxTable, self.boxTableSource, self.points) = (box, boxTable, boxTableSource, points)
    }

    /// A box or a box table was given (even a table without rows for these cases).
    public var givesBoxes: Bool { box != nil || boxTableSource != nil || !boxTable.isEmpty }

    /// Rows `case/slice` of the table as one box per slice of `volume` (slice = the
    /// output slice number: the Instance Number, else 1, 2, 3…); nil when the case has none.
    public func boxesPerSlice(case name: String, volume: Volume) -> [BoxPrompt?]? {
        guard volume.slices.count > 1, boxTable.keys.contains(where: { $0.hasPrefix(name + "/") }) else { return nil }
        return outputSliceNumbers(volume.slices).map { number in
            boxTable["\(name)/\(number)"] ?? boxTable[name + "/" + String(format: "%04d", number)]
        }
    }
}

/// Where and how a batch writes its masks, and which cases it takes.
public struct BatchOutput: Sendable {
    public var folder: URL
    public var formats: Set<MaskFormat>
    public var overlays: Bool
    /// Leave cases whose outputs are all there (resuming a killed run).
    public var skipExisting: Bool
    /// This process's share of the cases (a job array), nil for all.
    public var shard: Shard?

    public init(folder: URL, formats: Set<MaskFormat> = [.png], overlays: Bool = false, skipExisting: Bool = false, shard: Shard? = nil) {
        (self.folder, self.formats, self.overlays, self.skipExisting, self.shard) = (folder, formats, overlays, skipExisting, shard)
    }
}

/// What a batch reports while it works: the CLI prints it, another program may show it.
public protocol PredictObserver: AnyObject {
    /// The cases this shard owns, of all found.
    func sharding(_ shard: Shard, taking names: [String], of total: Int)
    /// `index` counts from 1 over the cases taken.
    func caseSkipped(_ name: String, index: Int, of count: Int)
    func caseDone(_ name: String, slices: Int, seconds: Double, index: Int, of count: Int)
    /// One line naming the file and the reason; the batch goes on.
    func caseFailed(_ name: String, error: String)
    /// A task's atlas placed `slices` of the case's `of` slices beyond the span of the
    /// training scan it matched and left them empty (the masks were written).
    func slicesBeyondAtlas(_ name: String, task: String, slices: Int, of: Int)
    /// A volume's slice `slice` (1-based) of `of` is done (Predictor.predict's `progress`).
    func sliceDone(_ name: String, slice: Int, of: Int)
}

extension PredictObserver {
    public func slicesBeyondAtlas(_ name: String, task: String, slices: Int, of: Int) {}
    public func sliceDone(_ name: String, slice: Int, of: Int) {}
}

/// What one batch did: with shards, one per shard (`predict --json`).
public struct PredictionSummary: Encodable, Sendable {
    public struct Failure: Encodable, Sendable {
        public var `case`: String
        public var error: String
    }
    public var shard: String?
    public var done: [String] = []
    public var skipped: [String] = []
    public var failed: [Failure] = []
    public var slicesEncoded = 0
    public var slicesFromCache = 0
    public var seconds = 0.0

    public init(shard: Shard?) { self.shard = shard?.description }

    public func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// A batch of predictions over files and folders: finds the cases, takes this shard's,
/// skips finished ones, predicts each with its prompts and writes every format
/// atomically. A case that fails is reported and the others go on; the summary says
/// which. What `segtune predict` runs, for any program that needs the same.
public final class PredictSession {
    public let predictor: Predictor
    public let prompts: BatchPrompts
    public let output: BatchOutput

    /// Several tasks write to one subfolder each, named by the task.
    public var folders: [URL] {
        predictor.tasks.count > 1 ? predictor.tasks.map { output.folder.appendingPathComponent($0.manifest.name) } : [output.folder]
    }

    public init(predictor: Predictor, prompts: BatchPrompts = BatchPrompts(), output: BatchOutput) throws(InputError) {
        if predictor.tasks.isEmpty && !prompts.givesBoxes && prompts.points.isEmpty {
            throw InputError(file: output.folder.path, reason: "zero-shot prediction needs a box or points")
        }
        if !predictor.tasks.isEmpty && !prompts.points.isEmpty {
            throw InputError(file: output.folder.path, reason: "points are for zero-shot prediction; tasks need none")
        }
        if prompts.givesBoxes, let conflict = Predictor.boxConflict(predictor.tasks, cascade: predictor.options.cascade) {
            throw InputError(file: output.folder.path, reason: conflict)
        }
        (self.predictor, self.prompts, self.output) = (predictor, prompts, output)
    }

    public func run(_ paths: [String], observer: PredictObserver? = nil) -> PredictionSummary {
        let started = Date()
        // Temporaries of this host's writers that were killed (a shard's earlier try).
        for folder in folders + (predictor.embeddingCache.map { [$0.directory] } ?? []) {
            AtomicFiles.removeStaleTemporaries(in: folder)
        }
        var summary = PredictionSummary(shard: output.shard)
        let found = discoverInputs(paths)
        for error in found.errors {
            observer?.caseFailed(error.file, error: error.description)
            summary.failed.append(.init(case: error.file, error: error.description))
        }
        let taken = output.shard.map { s in found.inputs.filter { s.owns($0.name) } } ?? found.inputs
        if let shard = output.shard { observer?.sharding(shard, taking: taken.map(\.name), of: found.inputs.count) }
        for (k, input) in taken.enumerated() {
            if output.skipExisting && isFinished(input.name) {
                summary.skipped.append(input.name)
                observer?.caseSkipped(input.name, index: k + 1, of: taken.count)
                continue
            }
            let caseStarted = Date()
            do {
                let slices = try predict(input, observer: observer)
                summary.done.append(input.name)
                observer?.caseDone(input.name, slices: slices, seconds: Date().timeIntervalSince(caseStarted), index: k + 1, of: taken.count)
            } catch {
                let line = Self.describe(error, input.url.path)
                observer?.caseFailed(input.name, error: line)
                summary.failed.append(.init(case: input.name, error: line))
            }
        }
        summary.slicesEncoded = predictor.slicesEncoded
        summary.slicesFromCache = predictor.slicesFromCache
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    private func isFinished(_ name: String) -> Bool {
        folders.allSatisfy { predictedMaskExists(name: name, formats: output.formats, overlays: output.overlays, in: $0) }
    }

    /// Predicts and writes one case; returns its slice count.
    private func predict(_ input: ScanInput, observer: PredictObserver?) throws -> Int {
        let volume = try readVolume(at: input.url)
        let box = prompts.boxTable[input.name] ?? prompts.box
        let sliceBoxes = prompts.boxesPerSlice(case: input.name, volume: volume)
        if predictor.tasks.isEmpty && box == nil && prompts.points.isEmpty && sliceBoxes == nil {
            throw InputError(file: input.url.path, reason: "no box for '\(input.name)' in \(prompts.boxTableSource ?? "the box table"), and no common box")
        }
        let outputs = try predictor.predict(volume, box: box, points: prompts.points, sliceBoxes: sliceBoxes,
                                            progress: observer.map { observer in { observer.sliceDone(input.name, slice: $0, of: $1) } })
        for (predicted, folder) in zip(outputs, folders) {
            try writePredictedMask(predicted.mask, of: volume, name: input.name, formats: output.formats,
                                   overlays: output.overlays ? predicted.shown : nil, label: predicted.name, to: folder)
            if predicted.slicesBeyondAtlas > 0 {
                observer?.slicesBeyondAtlas(input.name, task: predicted.name, slices: predicted.slicesBeyondAtlas, of: volume.slices.count)
            }
        }
        return volume.slices.count
    }

    /// "file: reason" for any error, naming the file when the error does not.
    public static func describe(_ error: Error, _ path: String) -> String {
        if let e = error as? InputError { return e.description }
        let text = String(describing: error)
        return text.hasPrefix(path) ? text : "\(path): \(text)"
    }
}
