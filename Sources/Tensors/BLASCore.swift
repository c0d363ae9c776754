import Foundation
#if canImport(CBLAS)
import CBLAS
#endif

/// Repairs OpenBLAS's kernel choice on CPUs it does not recognise.
///
/// A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPUID family/model. In VMs
/// that mask the model (this project's Linux machines report "Intel Xeon
/// Processor"), OpenBLAS 0.3.21 falls back to its SSE3 "Prescott" kernels,
/// 3–4× slower than the AVX2 ones the CPU supports (measured: sgemm 11–16 vs
/// 44–59 GFLOP/s on one thread). `OPENBLAS_CORETYPE` fixes that, but OpenBLAS
/// reads it when the library loads, before `main`; so, before the first GEMM, we
/// set it and re-run OpenBLAS's own core selection. A user's own
/// `OPENBLAS_CORETYPE` is left alone; non-DYNAMIC_ARCH builds are untouched.
///
/// The same once-only step makes OpenBLAS single-threaded for the life of the
/// process: its kernels differ by live thread count (SkylakeX's direct sgemm runs
/// only on one thread), so a count that changed per call would change bits.
enum BLASCore {
    /// What OpenBLAS runs on after the check, e.g. "Haswell" (nil off OpenBLAS).
    nonisolated(unsafe) static var coreName: String? = nil

    static let ensured: Void = {
        #if canImport(CBLAS)
        defer { openblas_set_num_threads(1) }
        #endif
        #if os(Linux)
        typealias NameFn = @convention(c) () -> UnsafePointer<CChar>?
        typealias VoidFn = @convention(c) () -> Void
        guard let handle = dlopen(nil, RTLD_NOW),
              let nameSym = dlsym(handle, "openblas_get_corename") else { return }
        let corename = unsafeBitCast(nameSym, to: NameFn.self)
        coreName = corename().map { String(cString: $0) }
        let fallbackCores: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai", "Banias"]
        guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil,
              let current = coreName, fallbackCores.contains(current),
              let quitSym = dlsym(handle, "gotoblas_dynamic_quit"),
              let initSym = dlsym(handle, "gotoblas_dynamic_init"),
              let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        let wanted: String
        if flags.isSuperset(of: ["avx512f", "avx512dq", "avx512bw", "avx512vl"]) { wanted = "SkylakeX" }
        else if flags.isSuperset(of: ["avx2", "fma"]) { wanted = "Haswell" }
        else { return }
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quitSym, to: VoidFn.self)()
        unsafeBitCast(initSym, to: VoidFn.self)()
        coreName = corename().map { String(cString: $0) }
        #endif
    }()
}
