import Foundation
import Testing

private let root = SegtuneBinary.repositoryRoot
private let totalSegmentator = root.appendingPathComponent("third_party/totalsegmentator")
private let haveData = FileManager.default.fileExists(atPath: totalSegmentator.appendingPathComponent("example_ct_dicom").path)
    && FileManager.default.fileExists(atPath: root.appendingPathComponent("models/lite_medsam.pth").path)

/// Sharded `predict` as a Slurm array or Kubernetes Indexed Job runs it: several processes,
/// one output folder, one embedding cache.
@Suite(.serialized, .enabled(if: haveData)) struct ShardCLITests {
    /// A small archive of real scans: a DICOM series (3 slices of TotalSegmentator's JPEG 2000
    /// CT), two NIfTI volumes cut from its NIfTI CT (2 slices each), and with `images`, two
    /// 2-D PNGs. The names spread over three shards (the split is a fixed hash of the name):
    /// series → 1, ct_e and mni152-z034 → 2, ct_a and mni152-z030 → 3.
    static func makeArchive(in dir: URL, images: Bool) throws -> URL {
        let archive = dir.appendingPathComponent("archive")
        let series = archive.appendingPathComponent("series")
        try FileManager.default.createDirectory(at: series, withIntermediateDirectories: true)
        let dicom = totalSegmentator.appendingPathComponent("example_ct_dicom")
        let slices = try FileManager.default.contentsOfDirectory(atPath: dicom.path).sorted()
        for name in slices[8..<11] {
            try FileManager.default.copyItem(at: dicom.appendingPathComponent(name), to: series.appendingPathComponent(name))
        }
        let make = try RealCTCLITests.python(["-c", """
            import sys, numpy as np, nibabel as nib
            img = nib.load(sys.argv[1])
            for name, low in (("ct_a", 12), ("ct_e", 16)):
                aff = img.affine.copy(); aff[:3, 3] += aff[:3, 2] * low
                nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj)[:, :, low:low + 2].astype(np.int16), aff), f"{sys.argv[2]}/{name}.nii.gz")
            """, totalSegmentator.appendingPathComponent("example_ct_sm.nii.gz").path, archive.path])
        #expect(make.status == 0, "\(make.output)")
        if images {
            for name in ["mni152-z030.png", "mni152-z034.png"] {
                try FileManager.default.copyItem(at: root.appendingPathComponent("fixtures/demo/white-matter/images/\(name)"),
                                                 to: archive.appendingPathComponent(name))
            }
        }
        return archive
    }

    /// Every file under `folder` (relative path → bytes), hidden ones included.
    static func files(in folder: URL) throws -> [String: Data] {
        var found: [String: Data] = [:]
        let walker = try #require(FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]))
        for case let url as URL in walker where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            found[String(url.path.dropFirst(folder.path.count + 1))] = try Data(contentsOf: url)
        }
        return found
    }

    static func summary(_ run: SegtuneBinary.Run) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)\n\(run.stderr)")
    }

    @Test func threeConcurrentShardsEqualOneRun() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-shards")
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = try Self.makeArchive(in: dir, images: true)
        let common = ["predict", "--box", "20,30,100,95", "--overlay", "--threads", "1", "--json", archive.path]

        let single = try SegtuneBinary.run(common + ["-o", dir.appendingPathComponent("single").path,
                                                     "--cache-dir", dir.appendingPathComponent("single-cache").path])
        #expect(single.status == 0, "\(single.stderr)")
        // 9 slices, plus a crop for each slice whose box is small enough to zoom (--zoom on).
        let singleEncoded = try #require(try Self.summary(single)["slicesEncoded"] as? Int)
        #expect(singleEncoded >= 9)

        // Three shards at once, into one folder and one cache: one given as K/N, one as a Slurm
        // array task (an array numbered from 0), one as a Kubernetes Indexed Job's pod.
        let out = dir.appendingPathComponent("out"), cache = dir.appendingPathComponent("cache")
        let shardArguments = [["--shard", "1/3"], ["--shard-from-env"], ["--shard-from-env", "--shard-count", "3"]]
        let environments = [[:], ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "3"],
                            ["JOB_COMPLETION_INDEX": "2"]]
        final class Runs: @unchecked Sendable {
            let lock = NSLock()
            var byShard: [SegtuneBinary.Run?] = [nil, nil, nil]
        }
        let started = Runs()
        DispatchQueue.concurrentPerform(iterations: 3) { k in
            let run = try? SegtuneBinary.run(common + ["-o", out.path, "--cache-dir", cache.path] + shardArguments[k], environment: environments[k])
            started.lock.withLock { started.byShard[k] = run }
        }
        let runs = started.byShard
        var done: [String] = [], encoded = 0
        for (k, run) in runs.enumerated() {
            let run = try #require(run)
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try Self.summary(run)
            #expect(summary["shard"] as? String == "\(k + 1)/3")
            done += summary["done"] as? [String] ?? []
            encoded += summary["slicesEncoded"] as? Int ?? -1
            #expect(run.stderr.hasPrefix("shard \(k + 1)/3: "), "\(run.stderr)")
        }
        #expect(runs[1]!.stderr.hasPrefix("shard 2/3: 2 of 5 cases (ct_e, mni152-z034)"))
        // Each case done once, each slice (and crop) encoded once, and the union is the single run's bytes.
        #expect(done.sorted() == ["ct_a", "ct_e", "mni152-z030", "mni152-z034", "series"])
        #expect(encoded == singleEncoded)
        let merged = try Self.files(in: out), reference = try Self.files(in: dir.appendingPathComponent("single"))
        #expect(merged.keys.sorted() == reference.keys.sorted())
        #expect(merged == reference)
        #expect(merged.keys.count == 2 * 9)
        // No temporaries left anywhere, and one cache file per encoder pass.
        let cached = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(cached.count == singleEncoded && cached.allSatisfy { !$0.hasPrefix(".") && $0.hasSuffix(".safetensors") }, "\(cached)")

        // score on the merged folder gives the single run's numbers.
        let masks = root.appendingPathComponent("fixtures/demo/white-matter/masks").path
        let scoredMerged = try SegtuneBinary.run(["score", "--json", out.path, masks])
        let scoredSingle = try SegtuneBinary.run(["score", "--json", dir.appendingPathComponent("single").path, masks])
        #expect(scoredMerged.status == 0 && scoredSingle.status == 0, "\(scoredMerged.stderr)")
        // The same numbers: the reports less the prediction folder's paths.
        #expect(scoredMerged.stdout.replacingOccurrences(of: out.path, with: "PREDICTIONS")
                == scoredSingle.stdout.replacingOccurrences(of: dir.appendingPathComponent("single").path, with: "PREDICTIONS"))
        #expect(scoredMerged.stdout.contains("\"cases\":2,\"failed\":0"))

        // A shard run again with --skip-existing finds its cases done and encodes nothing.
        let again = try SegtuneBinary.run(common + ["-o", out.path, "--cache-dir", cache.path, "--shard", "3/3", "--skip-existing"])
        #expect(again.status == 0, "\(again.stderr)")
        let summary = try Self.summary(again)
        #expect(summary["skipped"] as? [String] == ["ct_a", "mni152-z030"])
        #expect((summary["done"] as? [String])?.isEmpty == true && summary["slicesEncoded"] as? Int == 0)
    }

    @Test func aKilledShardIsFinishedBySkipExisting() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-kill")
        defer { try? FileManager.default.removeItem(at: dir) }
        let archive = try Self.makeArchive(in: dir, images: false)
        let common = ["predict", "--box", "10,20,70,80", "--format", "png,nifti", "--threads", "1", "--json", archive.path]
        let single = try SegtuneBinary.run(common + ["-o", dir.appendingPathComponent("single").path])
        #expect(single.status == 0, "\(single.stderr)")

        // One shard (all cases), killed with SIGKILL once its first case is written.
        let out = dir.appendingPathComponent("out"), cache = dir.appendingPathComponent("cache")
        let process = Process()
        process.executableURL = SegtuneBinary.url
        process.arguments = common + ["-o", out.path, "--cache-dir", cache.path, "--shard", "1/1"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(300)
        while process.isRunning && Date() < deadline {
            let written = (try? FileManager.default.contentsOfDirectory(atPath: out.path)) ?? []
            if written.contains(where: { $0.hasSuffix(".nii.gz") && !$0.hasPrefix(".") }) { break }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the shard finished before it could be killed")
        let before = try Self.files(in: out).keys.filter { !$0.contains("/.") && !$0.hasPrefix(".") }
        #expect(before.count < 7 + 3, "the killed shard wrote everything: \(before.sorted())")

        let resumed = try SegtuneBinary.run(common + ["-o", out.path, "--cache-dir", cache.path, "--shard", "1/1", "--skip-existing"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let summary = try Self.summary(resumed)
        let skipped = summary["skipped"] as? [String] ?? [], redone = summary["done"] as? [String] ?? []
        #expect(!skipped.isEmpty && !redone.isEmpty && (skipped + redone).sorted() == ["ct_a", "ct_e", "series"], "\(summary)")
        // Identical outputs, and nothing of the killed process left.
        let finished = try Self.files(in: out), reference = try Self.files(in: dir.appendingPathComponent("single"))
        #expect(finished.keys.sorted() == reference.keys.sorted())
        #expect(finished == reference)
        let cached = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(cached.allSatisfy { !$0.hasPrefix(".") }, "\(cached)")
    }

    /// `embed` splits a dataset's cases the same way: two shards fill one cache with every
    /// image once.
    @Test func embedShardsFillOneCache() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-embed-shards")
        defer { try? FileManager.default.removeItem(at: dir) }
        let scans = dir.appendingPathComponent("scans")
        let demo = root.appendingPathComponent("fixtures/demo/white-matter")
        for sub in ["images", "masks"] {
            try FileManager.default.createDirectory(at: scans.appendingPathComponent(sub), withIntermediateDirectories: true)
            for name in ["mni152-z030.png", "mni152-z032.png", "mni152-z034.png", "mni152-z036.png"] {
                try FileManager.default.copyItem(at: demo.appendingPathComponent("\(sub)/\(name)"), to: scans.appendingPathComponent("\(sub)/\(name)"))
            }
        }
        let cache = dir.appendingPathComponent("cache").path
        var taken: [String] = []
        for k in 1...2 {
            let run = try SegtuneBinary.run(["embed", "--no-augment", "--threads", "1", "--shard", "\(k)/2", "--cache-dir", cache, scans.path])
            #expect(run.status == 0, "\(run.stderr)")
            let line = try #require(run.stderr.split(separator: "\n").first { $0.contains("shard \(k)/2: ") })
            taken += line.split(separator: "(").last.map { $0.dropLast().components(separatedBy: ", ") } ?? []
        }
        // mni152-z030, -z032 and -z034 hash to shard 1 of 2, -z036 to shard 2 (the fixed hash).
        #expect(taken.sorted() == ["mni152-z030", "mni152-z032", "mni152-z034", "mni152-z036"], "\(taken)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".safetensors") }.count == 4)
    }
}
