import Foundation
import Imaging
import Testing

private let root = SegtuneBinary.repositoryRoot
private let totalSegmentator = root.appendingPathComponent("third_party/totalsegmentator")
private let haveData = FileManager.default.fileExists(atPath: totalSegmentator.appendingPathComponent("example_seg.nii.gz").path)
    && FileManager.default.fileExists(atPath: root.appendingPathComponent("models/lite_medsam.pth").path)

/// The real-CT workflow end to end on TotalSegmentator 2.18.0's test CT (scripts/setup):
/// its labels are TotalSegmentator's output (label 5 = liver), not hand labels.
@Suite(.serialized, .enabled(if: haveData)) struct RealCTCLITests {
    /// Runs a Python checker; its last stdout line is JSON.
    static func python(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// fit on one CT volume (a slab validates), predict NIfTI + PNG, score both ways alike.
    @Test func fitPredictNIfTIAndScoreOnOneCTVolume() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-ct")
        defer { try? FileManager.default.removeItem(at: dir) }
        let scans = dir.appendingPathComponent("scans")
        for sub in ["images", "masks"] {
            try FileManager.default.createDirectory(at: scans.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        let image = totalSegmentator.appendingPathComponent("example_ct_sm.nii.gz")
        let labels = totalSegmentator.appendingPathComponent("example_seg.nii.gz")
        try FileManager.default.createSymbolicLink(at: scans.appendingPathComponent("images/ct.nii.gz"), withDestinationURL: image)
        try FileManager.default.createSymbolicLink(at: scans.appendingPathComponent("masks/ct.nii.gz"), withDestinationURL: labels)
        let tasks = dir.appendingPathComponent("tasks").path
        let fit = try SegtuneBinary.run(["fit", "--task", "liver", "--label", "5", "--epochs", "2", "--no-augment", "--json",
                                         "--tasks-dir", tasks, "--cache-dir", dir.appendingPathComponent("cache").path, scans.path])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(fit.stderr.contains("window: W 400 / L 40 (CT default (abdomen)): 1 case"))
        #expect(fit.stderr.contains("1 case, none to hold out: validating on slices"))
        #expect(fit.stderr.contains("the cascade was chosen on a slab of ct"), "\(fit.stderr)")
        // The stored atlas holds all 30 slices, the validation slab and its guard slices too.
        #expect(fit.stderr.contains("atlas: 30 slices kept in the task (1 scan with slice positions), the validation slab's included"), "\(fit.stderr)")
        let atlasShape = try Self.python(["-c", """
            import json, struct, sys
            data = open(sys.argv[1], "rb").read()
            print(json.loads(data[8:8 + struct.unpack("<Q", data[:8])[0]])["atlas.thumbnails"]["shape"])
            """, URL(fileURLWithPath: tasks).appendingPathComponent("liver/prompts.safetensors").path])
        #expect(atlasShape.output.contains("[30, 64, 64]"), "\(atlasShape.output)")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: tasks).appendingPathComponent("liver/task.json"))) as? [String: Any])
        let training = try #require(manifest["training"] as? [String: Any])
        let slab = try #require(training["validationSlab"] as? [String: Any])
        #expect(slab["caseName"] as? String == "ct" && slab["guardSlices"] as? Int == 2)
        // Every slice of this volume holds liver: fit records it and says what follows.
        #expect(training["slicesWithoutStructure"] as? Int == 0)
        #expect(fit.stderr.contains("warning: every training slice holds the structure"), "\(fit.stderr)")
        #expect(((manifest["best"] as? [String: Any])?["validationDice"] as? Double) != nil)
        // The default crop: recorded, and the body (not the 122×101 slice with its air) is what the model saw.
        #expect((manifest["preprocessing"] as? [String: Any])?["fieldOfView"] as? String == "body")
        let crop = try #require(fit.stderr.split(separator: "\n").first { $0.hasPrefix("crop: each slice cropped to the body (ct ") })
        let size = crop.split(separator: "(ct ")[1].split(separator: " ")[0].split(separator: "×").compactMap { Int($0) }
        #expect(size.count == 2 && size[0] <= 122 && size[1] <= 101 && size[0] * size[1] < 122 * 101, "\(crop)")

        let out = dir.appendingPathComponent("out")
        let predict = try SegtuneBinary.run(["predict", "--task", "liver", "--tasks-dir", tasks, "--format", "nifti,png,seg.nrrd",
                                             scans.appendingPathComponent("images/ct.nii.gz").path, "-o", out.path])
        #expect(predict.status == 0, "\(predict.stderr)")
        #expect(predict.stderr.contains("warning: task 'liver' was trained on slices that all hold the structure"), "\(predict.stderr)")
        // The NIfTI mask sits on the input's grid and affine (nibabel), with the PNGs' voxels.
        let check = try Self.python(["-c", """
            import json, sys, nibabel as nib, numpy as np
            m, i = nib.load(sys.argv[1]), nib.load(sys.argv[2])
            d = np.asanyarray(m.dataobj)
            print(json.dumps({"shape": list(m.shape) == list(i.shape), "affine": bool(np.allclose(m.affine, i.affine)),
                              "dtype": str(d.dtype), "values": sorted(int(v) for v in np.unique(d)), "codes": [int(m.header["sform_code"]), int(m.header["qform_code"])] == [int(i.header["sform_code"]), int(i.header["qform_code"])]}))
            """, out.appendingPathComponent("ct.nii.gz").path, image.path])
        #expect(check.status == 0, "\(check.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(check.output.split(separator: "\n").last!.utf8)) as? [String: Any])
        #expect(report["shape"] as? Bool == true && report["affine"] as? Bool == true && report["codes"] as? Bool == true)
        #expect(report["dtype"] as? String == "uint8")
        // slicerio reads the Slicer segmentation: the task's name, label value 1, the input's
        // voxel → LPS matrix, and the NIfTI mask's voxels.
        let slicer = try Self.python([root.appendingPathComponent("scripts/check-slicer-seg").path, out.appendingPathComponent("ct.seg.nrrd").path,
                                      "--like", image.path, "--segment", "liver", "--expected", out.appendingPathComponent("ct.nii.gz").path])
        #expect(slicer.status == 0, "\(slicer.output)")

        // score: the NIfTI mask and the slice PNGs against the reference give the same numbers.
        let references = dir.appendingPathComponent("refs")
        try FileManager.default.createDirectory(at: references, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: references.appendingPathComponent("ct.nii.gz"), withDestinationURL: labels)
        let pngs = dir.appendingPathComponent("pngs"), niftis = dir.appendingPathComponent("niftis")
        try FileManager.default.createDirectory(at: pngs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: niftis, withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: out.appendingPathComponent("ct"), to: pngs.appendingPathComponent("ct"))
        try FileManager.default.moveItem(at: out.appendingPathComponent("ct.nii.gz"), to: niftis.appendingPathComponent("ct.nii.gz"))
        func score(_ folder: URL) throws -> [String: Any] {
            let run = try SegtuneBinary.run(["score", "--json", "--ref-label", "5", folder.path, references.path])
            #expect(run.status == 0, "\(run.stderr)")
            let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return try #require((object["cases"] as? [[String: Any]])?.first)
        }
        let fromNIfTI = try score(niftis), fromPNGs = try score(pngs)
        for key in ["dice", "iou", "hd95", "nsd"] {
            #expect((fromNIfTI[key] as? Double) == (fromPNGs[key] as? Double), "\(key): \(fromNIfTI[key] ?? "-") vs \(fromPNGs[key] ?? "-")")
        }
        #expect(((fromNIfTI["dice"] as? Double) ?? 0) > 0.1)

        // With the atlas's boxes, slices it leaves without one are not encoded: slices 70–90
        // of the whole CT (fit saw 82–111) reach 36 mm below the training scan, and the
        // lowest lie beyond its span. --all-slices encodes all 21 and gives the same bytes.
        let lower = dir.appendingPathComponent("lower.nii.gz")
        let cut = try Self.python(["-c", """
            import sys, nibabel as nib
            image = nib.load(sys.argv[1])
            nib.save(image.slicer[:, :, 70:91], sys.argv[2])
            """, totalSegmentator.appendingPathComponent("example_ct.nii.gz").path, lower.path])
        #expect(cut.status == 0, "\(cut.output)")
        func encoded(_ extra: [String]) throws -> (slices: Int, stderr: String, mask: Data) {
            let folder = dir.appendingPathComponent("lower-out\(extra.count)")
            let run = try SegtuneBinary.run(["predict", "--task", "liver", "--tasks-dir", tasks, "--cascade", "on", "--locator", "atlas",
                                             "--format", "nifti", "--json"] + extra + [lower.path, "-o", folder.path])
            #expect(run.status == 0, "\(run.stderr)")
            let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
            return (try #require(summary["slicesEncoded"] as? Int), run.stderr, try Data(contentsOf: folder.appendingPathComponent("lower.nii.gz")))
        }
        let skipping = try encoded([]), every = try encoded(["--all-slices"])
        let beyond = try #require(skipping.stderr.split(separator: "\n").first { $0.contains("slices lie beyond the span") },
                                  "\(skipping.stderr)")
        let count = try #require(Int(beyond.split(separator: "'liver': ")[1].split(separator: " ")[0]))
        #expect(count > 0 && skipping.slices <= 21 - count && every.slices == 21, "\(beyond); encoded \(skipping.slices) and \(every.slices)")
        #expect(skipping.mask == every.mask)

        // A task that chose stage 1 alone, or the cascade from its tokens' boxes (the same
        // prompts, its choice edited), keeps stage 1's masks only on the slices where its
        // atlas finds the liver, encodes only those, and gives the same bytes with
        // --all-slices; --cascade off is stage 1 everywhere.
        for (name, enabled, locator) in [("liver-stage1", false, "atlas"), ("liver-tokens", true, "tokens")] {
            let edited = URL(fileURLWithPath: tasks).appendingPathComponent(name)
            try FileManager.default.copyItem(at: URL(fileURLWithPath: tasks).appendingPathComponent("liver"), to: edited)
            var task = manifest
            var choice = try #require(task["cascade"] as? [String: Any])
            (choice["enabled"], choice["locator"]) = (enabled, locator)
            task["cascade"] = choice
            try JSONSerialization.data(withJSONObject: task).write(to: edited.appendingPathComponent("task.json"))
            func run(_ extra: [String]) throws -> (slices: Int, stderr: String, file: URL) {
                let folder = dir.appendingPathComponent("\(name)-out-\(extra.joined())")
                let run = try SegtuneBinary.run(["predict", "--task", name, "--tasks-dir", tasks, "--format", "nifti", "--json"]
                                                + extra + [lower.path, "-o", folder.path])
                #expect(run.status == 0, "\(run.stderr)")
                let summary = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
                return (try #require(summary["slicesEncoded"] as? Int), run.stderr, folder.appendingPathComponent("lower.nii.gz"))
            }
            let gated = try run([]), gatedEvery = try run(["--all-slices"]), off = try run(["--cascade", "off"])
            #expect(gated.stderr.contains("'\(name)': \(count) of 21 slices lie beyond the span"), "\(gated.stderr)")
            #expect(gated.slices <= 21 - count && gatedEvery.slices == 21 && off.slices == 21, "\(name)")
            #expect(try Data(contentsOf: gated.file) == Data(contentsOf: gatedEvery.file), "\(name)")
            let marked = try Self.python(["-c", """
                import sys, nibabel as nib, numpy as np
                print(*[int((np.asanyarray(nib.load(f).dataobj).reshape(-1, 21, order="F") > 0).any(axis=0).sum()) for f in sys.argv[1:]])
                """, gated.file.path, off.file.path])
            let counts = marked.output.split(separator: "\n").last.map { $0.split(separator: " ").compactMap { Int($0) } } ?? []
            #expect(counts.count == 2 && counts[0] <= 21 - count && counts[1] > counts[0], "\(name): slices marked, gated and off: \(marked.output)")
        }
    }

    /// A real JPEG 2000 CT series (its anonymiser emptied the UIDs, so the test gives the copy
    /// study, series and instance UIDs first): the SEG loads in highdicom and references every
    /// instance, and the NIfTI lands on the series' grid next to TotalSegmentator's own export.
    @Test func dicomSeriesGivesASEGAndANIfTIOnItsGrid() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-seg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let series = dir.appendingPathComponent("series")
        try FileManager.default.copyItem(at: totalSegmentator.appendingPathComponent("example_ct_dicom"), to: series)
        let files = try FileManager.default.contentsOfDirectory(atPath: series.path).sorted().map { series.appendingPathComponent($0).path }
        let modify = Process()
        modify.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        modify.arguments = ["dcmodify", "-nb", "-gin", "-i", "(0008,0016)=1.2.840.10008.5.1.4.1.1.2", "-i", "(0020,000d)=1.2.826.0.1.3680043.9.7777.77.1",
                            "-i", "(0020,000e)=1.2.826.0.1.3680043.9.7777.77.2", "-i", "(0010,0020)=TS-EXAMPLE"] + files
        try modify.run()
        modify.waitUntilExit()
        #expect(modify.terminationStatus == 0)

        let out = dir.appendingPathComponent("out")
        // Zero-shot with one box around the liver (canonical LPS pixels), so no fit is needed here.
        let run = try SegtuneBinary.run(["predict", "--box", "104,190,281,374", "--format", "png,nifti,dicom-seg,rtstruct",
                                         series.path, "-o", out.path])
        #expect(run.status == 0, "\(run.stderr)")

        // Expected masks in the files' order: the PNG written for each instance.
        var expected: [UInt8] = []
        for file in files {
            let number = try #require(try readImages(at: URL(fileURLWithPath: file)).first?.dicom?.instanceNumber)
            let png = try readMask(at: out.appendingPathComponent(String(format: "series/%04d.png", number)))
            expected += png.voxels
        }
        let raw = dir.appendingPathComponent("expected.raw")
        try Data(expected).write(to: raw)
        let check = try Self.python([root.appendingPathComponent("scripts/check-dicom-seg").path, out.appendingPathComponent("series.seg.dcm").path,
                                     "--sources"] + files + ["--label", "segtune", "--expected", raw.path])
        #expect(check.status == 0, "\(check.output)")
        #expect(expected.contains(1))

        // score reads the SEG on its series: the same numbers as the NIfTI written beside it.
        let references = dir.appendingPathComponent("refs")
        try FileManager.default.createDirectory(at: references, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: references.appendingPathComponent("series.nii.gz"),
                                                   withDestinationURL: totalSegmentator.appendingPathComponent("example_seg_dicom.nii.gz"))
        func dice(_ prediction: URL) throws -> Double? {
            let run = try SegtuneBinary.run(["score", "--json", "--ref-label", "5", "--series", series.path, prediction.path,
                                             references.appendingPathComponent("series.nii.gz").path])
            #expect(run.status == 0, "\(run.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return (object?["cases"] as? [[String: Any]])?.first?["dice"] as? Double
        }
        let fromSEG = try dice(out.appendingPathComponent("series.seg.dcm")), fromNIfTI = try dice(out.appendingPathComponent("series.nii.gz"))
        #expect(fromSEG != nil && fromSEG == fromNIfTI)

        try checkRTStructs(dir: dir, series: series, files: files, out: out, expected: raw)

        // The series' NIfTI (LPS) and TotalSegmentator's export of the same series (LAS) share a world.
        let grid = try Self.python(["-c", """
            import json, sys, nibabel as nib, numpy as np
            ours, theirs = nib.load(sys.argv[1]), nib.load(sys.argv[2])
            flip = nib.orientations.ornt_transform(nib.io_orientation(theirs.affine), nib.io_orientation(ours.affine))
            t = nib.orientations.apply_orientation(np.asanyarray(theirs.dataobj) == 5, flip)
            o = np.asanyarray(ours.dataobj) > 0
            print(json.dumps({"codes": "".join(nib.aff2axcodes(ours.affine)), "same_world": bool(np.allclose(ours.affine, theirs.affine @ nib.orientations.inv_ornt_aff(flip, theirs.shape), atol=1e-3)),
                              "dice": float(2 * (o & t).sum() / (o.sum() + t.sum()))}))
            """, out.appendingPathComponent("series.nii.gz").path, totalSegmentator.appendingPathComponent("example_seg_dicom.nii.gz").path])
        #expect(grid.status == 0, "\(grid.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(grid.output.split(separator: "\n").last!.utf8)) as? [String: Any])
        #expect(report["codes"] as? String == "LPS")
        #expect(report["same_world"] as? Bool == true)
        #expect(((report["dice"] as? Double) ?? 0) > 0.9, "zero-shot box Dice against TotalSegmentator's liver: \(report["dice"] ?? "-")")
    }
}

extension RealCTCLITests {
    /// Runs scripts/check-rtstruct (pydicom and its own even-odd fill); returns its report.
    static func checkRTStruct(_ file: URL, sources: [String], roi: String, expected: URL) throws -> [String: Any] {
        let check = try python([root.appendingPathComponent("scripts/check-rtstruct").path, file.path, "--sources"] + sources
                               + ["--roi", roi, "--expected", expected.path])
        #expect(check.status == 0, "\(check.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(check.output.split(separator: "\n").last!.utf8)) as? [String: Any])
    }

    /// The RTSTRUCTs of the real series, read by an independent reader: predict's (its mask
    /// is the slice PNGs, `expected`), and TotalSegmentator's liver and spleen written as two
    /// ROIs, which `score` must read as the label map they came from.
    func checkRTStructs(dir: URL, series: URL, files: [String], out: URL, expected: URL) throws {
        let predicted = try Self.checkRTStruct(out.appendingPathComponent("series.rtstruct.dcm"), sources: files, roi: "segtune", expected: expected)
        #expect(((predicted["dice"] as? Double) ?? 0) >= 0.97, "predicted mask, contours filled back by pydicom: \(predicted)")

        // TotalSegmentator's labels on the series' grid (label 5 liver, 1 spleen), per stored slice.
        let volume = try readVolume(at: series)
        let geometry = try #require(volume.geometry), stored = try #require(volume.storedSlices)
        let labels = totalSegmentator.appendingPathComponent("example_seg_dicom.nii.gz")
        func storedMasks(_ label: Int) throws -> [[UInt8]] {
            let mask = try readMask(at: labels, labels: [label])
            #expect([mask.width, mask.height, mask.depth] == geometry.canonicalSize)
            let voxels = geometry.toStored(mask.voxels), perSlice = geometry.storedSize[0] * geometry.storedSize[1]
            return stored.indices.map { Array(voxels[($0 * perSlice)..<(($0 + 1) * perSlice)]) }
        }
        let liver = try storedMasks(5)
        let structures = dir.appendingPathComponent("structures")
        try FileManager.default.createDirectory(at: structures, withIntermediateDirectories: true)
        let rtstruct = structures.appendingPathComponent("series.rtstruct.dcm")
        try writeRTStructure(rois: [RTStructROI(name: "Liver", masks: liver), RTStructROI(name: "Spleen", masks: try storedMasks(1))],
                             sources: stored.map { URL(fileURLWithPath: $0.file) }, rows: geometry.storedSize[1],
                             columns: geometry.storedSize[0], to: rtstruct)
        let liverRaw = dir.appendingPathComponent("liver.raw")
        try Data(liver.joined()).write(to: liverRaw)
        let independent = try Self.checkRTStruct(rtstruct, sources: stored.map(\.file), roi: "Liver", expected: liverRaw)
        #expect(((independent["dice"] as? Double) ?? 0) >= 0.97, "TotalSegmentator's liver, contours filled back by pydicom: \(independent)")
        #expect(independent["slices_with_contours"] as? Int == stored.count)

        // score: the RTSTRUCT as the reference gives what the label map gives.
        func scored(_ prediction: URL, _ reference: URL, _ options: [String]) throws -> (dice: Double, stderr: String) {
            let run = try SegtuneBinary.run(["score", "--json", "--series", series.path] + options + [prediction.path, reference.path])
            #expect(run.status == 0, "\(run.stderr)")
            let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return (try #require((object?["cases"] as? [[String: Any]])?.first?["dice"] as? Double), run.stderr)
        }
        let roundTrip = try scored(labels, rtstruct, ["--pred-label", "5", "--roi", "Liver"]).dice
        #expect(roundTrip >= 0.97, "TotalSegmentator's liver against its RTSTRUCT, read by segtune: \(roundTrip)")
        let prediction = out.appendingPathComponent("series.nii.gz")
        // Folders pair series.nii.gz with series.rtstruct.dcm; two ROIs and no --roi: the first
        // (the liver), said on stderr.
        let predictions = dir.appendingPathComponent("predictions")
        try FileManager.default.createDirectory(at: predictions, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: predictions.appendingPathComponent("series.nii.gz"), withDestinationURL: prediction)
        let (againstStructure, warning) = try scored(predictions, structures, [])
        #expect(warning.contains("\(rtstruct.path): 2 ROIs (Liver, Spleen); scoring the first, \"Liver\"; choose one with --roi NAME"), "\(warning)")
        let againstLabels = try scored(prediction, labels, ["--ref-label", "5"]).dice
        #expect(abs(againstStructure - againstLabels) <= max(1e-9, 1 - roundTrip), "\(againstStructure) vs \(againstLabels)")
        print("RTSTRUCT Dice (filled back by pydicom): predicted \(predicted["dice"] ?? "-"), TotalSegmentator liver \(independent["dice"] ?? "-"); "
              + "score liver label map vs its RTSTRUCT \(roundTrip); prediction vs RTSTRUCT \(againstStructure), vs label map \(againstLabels)")
    }
}

/// The same CT stored RAS and LPS (a copy written with x and y reversed and its affine to
/// match) gives the same mask at the same world positions: orientation is read, not assumed.
@Suite(.enabled(if: haveData)) struct OrientationCLITests {
    @Test func rasAndLPSCopiesGiveTheSameMaskInTheWorld() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-orient")
        defer { try? FileManager.default.removeItem(at: dir) }
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        // Six slices of the real CT as stored (RAS), and the LPS copy, both by nibabel.
        let make = try RealCTCLITests.python(["-c", """
            import sys, numpy as np, nibabel as nib
            img = nib.load(sys.argv[1])
            data = np.asanyarray(img.dataobj)[:, :, 12:18].astype(np.int16)
            aff = img.affine.copy(); aff[:3, 3] = aff[:3, 3] + aff[:3, 2] * 12
            nib.save(nib.Nifti1Image(data, aff), sys.argv[2] + "/ras.nii.gz")
            flip = np.diag([-1.0, -1.0, 1.0, 1.0]); flip[0, 3] = data.shape[0] - 1; flip[1, 3] = data.shape[1] - 1
            nib.save(nib.Nifti1Image(data[::-1, ::-1, :].copy(), aff @ flip), sys.argv[2] + "/lps.nii.gz")
            print("".join(nib.aff2axcodes(aff)), "".join(nib.aff2axcodes(aff @ flip)))
            """, totalSegmentator.appendingPathComponent("example_ct_sm.nii.gz").path, inputs.path])
        #expect(make.status == 0 && make.output.contains("RAS LPS"), "\(make.output)")
        let out = dir.appendingPathComponent("out")
        // A box in canonical (LPS) pixels: the same anatomy for both copies.
        let run = try SegtuneBinary.run(["predict", "--box", "10,20,70,80", "--format", "nifti,png", inputs.path, "-o", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        let compare = try RealCTCLITests.python(["-c", """
            import sys, json, numpy as np, nibabel as nib
            a, b = nib.as_closest_canonical(nib.load(sys.argv[1])), nib.as_closest_canonical(nib.load(sys.argv[2]))
            da, db = np.asanyarray(a.dataobj), np.asanyarray(b.dataobj)
            print(json.dumps({"same_affine": bool(np.allclose(a.affine, b.affine)), "same_mask": bool((da == db).all()), "foreground": int(da.sum())}))
            """, out.appendingPathComponent("ras.nii.gz").path, out.appendingPathComponent("lps.nii.gz").path])
        #expect(compare.status == 0, "\(compare.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(compare.output.split(separator: "\n").last!.utf8)) as? [String: Any])
        #expect(report["same_affine"] as? Bool == true && report["same_mask"] as? Bool == true)
        #expect(((report["foreground"] as? Int) ?? 0) > 100)
        // The slice PNGs, in canonical order, are the same files too.
        for n in 1...6 {
            let name = String(format: "%04d.png", n)
            #expect(try Data(contentsOf: out.appendingPathComponent("ras/\(name)")) == Data(contentsOf: out.appendingPathComponent("lps/\(name)")))
        }
    }
}

/// MedSAM users bring a CSV of boxes: zero-shot, one per image, or per slice of a volume (`case/slice`).
@Suite(.enabled(if: haveData)) struct BoxTableCLITests {
    @Test func perSliceBoxesSegmentThoseSlicesOnly() throws {
        let dir = try SegtuneBinary.temporaryFolder("segtune-boxes")
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("ct.nii.gz")
        try FileManager.default.createSymbolicLink(at: input, withDestinationURL: totalSegmentator.appendingPathComponent("example_ct_sm.nii.gz"))
        let table = dir.appendingPathComponent("boxes.csv")
        try "image,x0,y0,x1,y1\nct/12,10,20,70,80\nct/0013,10,20,70,80\n".write(to: table, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let run = try SegtuneBinary.run(["predict", "--boxes", table.path, input.path, "-o", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        func foreground(_ slice: Int) throws -> Int {
            try readMask(at: out.appendingPathComponent(String(format: "ct/%04d.png", slice))).foregroundCount
        }
        #expect(try foreground(12) > 100 && foreground(13) > 100)
        #expect(try foreground(1) == 0 && foreground(14) == 0)
        // An input with no row and no --box is one clear line.
        let other = dir.appendingPathComponent("other.nii.gz")
        try FileManager.default.createSymbolicLink(at: other, withDestinationURL: totalSegmentator.appendingPathComponent("example_ct_sm.nii.gz"))
        let missing = try SegtuneBinary.run(["predict", "--boxes", table.path, other.path, "-o", out.path])
        #expect(missing.status == 1)
        #expect(missing.stderr == "segtune: \(other.path): no box for 'other' in \(table.path), and no common box\n")
    }
}
