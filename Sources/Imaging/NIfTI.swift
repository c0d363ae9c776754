import Foundation

func readNIfTIMask(at url: URL, labels: Set<Int>?) throws -> Mask {
    throw InputError(file: url.path, reason: "NIfTI reading is not built yet")
}
