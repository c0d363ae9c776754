import Foundation
import Testing
@testable import Imaging

@Suite struct ShardingTests {
    @Test func parsesKOfN() throws {
        #expect(try Shard(parsing: "2/8") == Shard(index: 2, count: 8))
        for bad in ["0/4", "5/4", "1/0", "2", "a/b", "1/2/3", "-1/4", ""] {
            #expect(throws: ShardError.self) { try Shard(parsing: bad) }
        }
    }

    /// The hash is fixed across machines and processes: these values come from an
    /// independent implementation (Python, in the commit that added the sharding).
    @Test func hashIsStable() {
        #expect(stableHash("series") == 0x150f_e945_fac5_52c9)
        #expect(stableHash("ct_e") == 0xb2da_6c98_c168_95f6)
        #expect(stableHash("liver_02") == 0x9688_2c71_e8ab_289f)
    }

    /// Every case is taken by exactly one shard, whatever the order, and the split is even.
    @Test func everyCaseGoesToOneShard() throws {
        let names = (0..<3000).map { "case_\($0)" }
        for n in [1, 2, 3, 7] {
            let shards = try (1...n).map { try Shard(index: $0, count: n) }
            var sizes = [Int](repeating: 0, count: n)
            for name in names.shuffled() {
                let owners = shards.filter { $0.owns(name) }
                #expect(owners.count == 1)
                sizes[owners[0].index - 1] += 1
            }
            let expected = Double(names.count) / Double(n)
            #expect(sizes.allSatisfy { abs(Double($0) - expected) < 0.1 * expected }, "shard sizes \(sizes)")
        }
    }

    @Test func slurmArraysFromZeroOrOneAndWithSteps() throws {
        #expect(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"]) == Shard(index: 1, count: 4))
        #expect(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"]) == Shard(index: 4, count: 4))
        #expect(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "20", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_STEP": "5",
                                           "SLURM_ARRAY_TASK_COUNT": "3"]) == Shard(index: 3, count: 3))
        // --shard-count wins over the scheduler's count; a missing count is one clear error.
        #expect(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"], count: 2) == Shard(index: 2, count: 2))
        #expect(throws: ShardError.self) { try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "1"]) }
        #expect(throws: ShardError.self) { try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "4"]) }
        #expect(throws: ShardError.self) { try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "4"]) }
    }

    @Test func kubernetesIndexedJobs() throws {
        #expect(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "0"], count: 5) == Shard(index: 1, count: 5))
        #expect(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "4", "SEGTUNE_SHARD_COUNT": "5"]) == Shard(index: 5, count: 5))
        let missing = #expect(throws: ShardError.self) { try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "4"]) }
        #expect(missing?.description.contains("--shard-count") == true)
        #expect(throws: ShardError.self) { try Shard.fromEnvironment([:]) }
    }
}

@Suite struct AtomicFilesTests {
    @Test func temporariesAreHiddenAndUnique() {
        let target = URL(fileURLWithPath: "/data/out/case.nii.gz")
        let a = AtomicFiles.temporary(beside: target), b = AtomicFiles.temporary(beside: target)
        #expect(a != b)
        #expect(a.deletingLastPathComponent() == target.deletingLastPathComponent())
        #expect(a.lastPathComponent.hasPrefix(".case.nii.gz.segtune-\(AtomicFiles.host)-\(getpid())-"))
    }

    @Test func moveIntoPlaceReplacesAFolderWhole() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("case")
        for (version, files) in [("old", ["0001.png", "0002.png", "stale.png"]), ("new", ["0001.png", "0002.png"])] {
            let temporary = AtomicFiles.temporary(beside: target)
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
            for file in files { try Data(version.utf8).write(to: temporary.appendingPathComponent(file)) }
            try AtomicFiles.moveIntoPlace(temporary, at: target)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: target.path).sorted() == ["0001.png", "0002.png"])
        #expect(try String(contentsOf: target.appendingPathComponent("0001.png"), encoding: .utf8) == "new")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["case"])
    }

    /// Only this host's temporaries whose writer has exited are removed.
    @Test func staleTemporariesOfDeadWritersGo() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let names = [
            "dead": ".a.png.segtune-\(AtomicFiles.host)-\(finished.processIdentifier)-42.tmp",
            "deadFolder": ".case.segtune-\(AtomicFiles.host)-\(finished.processIdentifier)-43.tmp",
            "alive": ".b.png.segtune-\(AtomicFiles.host)-1-44.tmp",
            "mine": ".c.png.segtune-\(AtomicFiles.host)-\(getpid())-45.tmp",
            "otherHost": ".d.png.segtune-elsewhere-\(finished.processIdentifier)-46.tmp",
            "output": "e.png",
        ]
        for (kind, name) in names {
            let url = folder.appendingPathComponent(name)
            if kind == "deadFolder" {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
                try Data().write(to: url.appendingPathComponent("0001.png"))
            } else {
                try Data().write(to: url)
            }
        }
        AtomicFiles.removeStaleTemporaries(in: folder)
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        #expect(left == Set([names["alive"]!, names["mine"]!, names["otherHost"]!, names["output"]!]))
    }
}

@Suite struct PredictedMaskExistsTests {
    @Test func aCaseIsDoneWhenEveryFormatIsThere() throws {
        let folder = try makeTemporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        func touch(_ path: String) throws {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data().write(to: url)
        }
        // A volume: its slice folder (written whole), then the NIfTI.
        try touch("ct/0001.png")
        try touch("ct/0002.png")
        #expect(predictedMaskExists(name: "ct", formats: [.png], overlays: false, in: folder))
        #expect(!predictedMaskExists(name: "ct", formats: [.png], overlays: true, in: folder))
        #expect(!predictedMaskExists(name: "ct", formats: [.png, .nifti], overlays: false, in: folder))
        try touch("ct.nii.gz")
        #expect(predictedMaskExists(name: "ct", formats: [.png, .nifti], overlays: false, in: folder))
        #expect(!predictedMaskExists(name: "ct", formats: [.png, .dicomSeg], overlays: false, in: folder))
        // A 2-D image: the mask, and its overlay when asked.
        try touch("xray.png")
        #expect(predictedMaskExists(name: "xray", formats: [.png], overlays: false, in: folder))
        #expect(!predictedMaskExists(name: "xray", formats: [.png], overlays: true, in: folder))
        try touch("xray.overlay.png")
        #expect(predictedMaskExists(name: "xray", formats: [.png], overlays: true, in: folder))
        #expect(!predictedMaskExists(name: "other", formats: [.png], overlays: false, in: folder))
    }
}
