import Foundation

/// Keeps large freed tensors in the heap for reuse.
///
/// glibc serves blocks above its mmap threshold (at most 32 MB) with fresh
/// mappings and unmaps them on free, so every 64 MB stage-0 activation of the
/// encoder paid ~16 000 page faults and a kernel zeroing on each forward
/// (measured: 5–10% of the encoder's time). Raising the thresholds lets freed
/// blocks be reused; the heap then holds about one forward's peak.
/// (`mallopt` is looked up because Swift's Glibc module does not export malloc.h.)
enum Memory {
    static let configured: Void = {
        #if os(Linux)
        typealias MalloptFn = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: MalloptFn.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3   // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
        _ = mallopt(mmapThreshold, 1 << 30)
        _ = mallopt(trimThreshold, 1 << 30)
        #endif
    }()
}
