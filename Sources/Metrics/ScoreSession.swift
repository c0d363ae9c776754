import Foundation
import Imaging
import Tensors

/// What to score: two inputs (files or folders, `pairInputs`) and how to read them.
public struct ScoreRequest: Sendable {
    public var prediction: URL
    public var reference: URL
    /// Foreground labels of each side (nil: any nonzero value).
    public var predictionLabels: LabelSelection?
    public var referenceLabels: LabelSelection?
    /// The series a DICOM SEG or an RTSTRUCT outlines (`readMasks`), and the RTSTRUCT's ROI.
    public var series: URL?
    public var roi: String?
    /// Voxel spacing in mm replacing the files' (2 or 3 values).
    public var spacing: [Double]?
    /// The NSD tolerance, in mm where the spacing is known, else pixels.
    public var tolerance: Double
    /// Also find each case's worst slice and a volume's Dice per slice (the HTML page's).
    public var drawsErrors: Bool

    public init(prediction: URL, reference: URL, predictionLabels: LabelSelection? = nil, referenceLabels: LabelSelection? = nil,
                series: URL? = nil, roi: String? = nil, spacing: [Double]? = nil, tolerance: Double = 2, drawsErrors: Bool = false) {
        (self.prediction, self.reference, self.predictionLabels, self.referenceLabels) = (prediction, reference, predictionLabels, referenceLabels)
        (self.series, self.roi, self.spacing, self.tolerance, self.drawsErrors) = (series, roi, spacing, tolerance, drawsErrors)
    }
}

/// `segtune score` without the CLI: the inputs paired when the session is made (so a
/// caller can say what is unpaired first), then every case scored, cases in parallel on
/// `Threads`, in the pairing's order.
public struct ScoreSession {
    public let request: ScoreRequest
    public let pairing: Pairing

    /// Pairs the inputs; one error naming the input when they cannot be paired at all.
    public init(_ request: ScoreRequest) throws(InputError) {
        self.request = request
        do {
            pairing = try pairInputs(prediction: request.prediction, reference: request.reference)
        } catch let error as InputError {
            throw error
        } catch {
            throw InputError(file: "\(request.prediction.path), \(request.reference.path)", reason: error.localizedDescription)
        }
    }

    /// Whether any case reads an RTSTRUCT (the only kind with ROIs to choose).
    public var scoresAnRTStruct: Bool {
        pairing.cases.contains { isRTStructFile($0.prediction) || isRTStructFile($0.reference) }
    }

    /// Scores every case; `warn` hears what a case's reading noticed (it may be called from
    /// several threads). Failed cases are in the report's failures, pairing's first.
    public func run(warn: @escaping @Sendable (String) -> Void = { _ in }) -> ScoreResult {
        let outcomes = Slots<Result<CaseOutcome, InputError>>(count: pairing.cases.count)
        Threads.parallelFor(pairing.cases.count) { i in outcomes.set(i, score(pairing.cases[i], warn: warn)) }
        var result = ScoreResult()
        var scored: [ScoredCase] = [], failures = pairing.failures.map(\.description)
        for outcome in outcomes.values {
            switch outcome! {
            case .success(let c):
                scored.append(c.scored)
                result.errorSlices[c.scored.name] = c.errors
                result.sliceDice[c.scored.name] = c.sliceDice
            case .failure(let e): failures.append(e.description)
            }
        }
        result.report = ScoreReport(cases: scored, tolerance: request.tolerance, failures: failures, unpaired: pairing.unpaired.map(\.path))
        return result
    }

    private struct CaseOutcome {
        var scored: ScoredCase
        var errors: (slice: ErrorSlice, pngBase64: String)?
        var sliceDice: [Double]?
    }

    private func score(_ pair: CasePair, warn: (String) -> Void) -> Result<CaseOutcome, InputError> {
        do {
            let (scored, p, r) = try scorePair(pair, predictionLabels: request.predictionLabels, referenceLabels: request.referenceLabels,
                                               series: request.series, roi: request.roi, spacing: request.spacing,
                                               tolerance: request.tolerance, warn: warn)
            let draws = request.drawsErrors
            let errors = try draws ? worstErrorSlice(prediction: p, reference: r).map { ($0, try pngBase64($0)) } : nil
            return .success(CaseOutcome(scored: scored, errors: errors, sliceDice: draws && p.depth > 1 ? perSliceDice(prediction: p, reference: r) : nil))
        } catch let e as InputError {
            return .failure(e)
        } catch {
            return .failure(InputError(file: pair.prediction.path, reason: "\(error)"))
        }
    }
}

/// A scored batch: the report (table, CSV, JSON, HTML), and what its HTML page draws.
public struct ScoreResult: Sendable {
    public var report = ScoreReport(cases: [], tolerance: 0, failures: [], unpaired: [])
    /// Case name → its worst slice and the PNG of it (with `drawsErrors`).
    public var errorSlices: [String: (slice: ErrorSlice, pngBase64: String)] = [:]
    /// Case name → Dice per slice, for volumes (with `drawsErrors`).
    public var sliceDice: [String: [Double]] = [:]

    /// The HTML page of the report, titled, with a task's training curve if given.
    public func html(title: String, training: (task: String, points: [TrainingPoint])? = nil) -> String {
        report.html(HTMLReportExtras(title: title, errorSlices: errorSlices, sliceDice: sliceDice, training: training))
    }
}

/// Results written by concurrent workers, one slot each.
final class Slots<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [Value?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Value) { lock.withLock { values[i] = value } }
}

/// The slice as a PNG for the page (through libpng and a temporary file).
private func pngBase64(_ slice: ErrorSlice) throws -> String {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("segtune-errors-\(UUID().uuidString).png")
    defer { try? FileManager.default.removeItem(at: file) }
    try writePNG(slice.rgb, width: slice.width, height: slice.height, channels: 3, to: file)
    return try Data(contentsOf: file).base64EncodedString()
}
