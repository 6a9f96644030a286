import DLCore
import Foundation

/// OpenBLAS reads its settings once, when the library loads, before any of our code runs.
/// Debian's OpenBLAS 0.3.21 does not recognise newer AVX-512 CPUs: on Zen 5 it falls back
/// to its AVX2 ("Haswell") kernels at half the speed, on Intel's family 6 model 207 to its
/// SSE3 ("Prescott") ones at a fifth (mnist's products: 29 against 140 GFLOP/s on two
/// threads), and on Zen 4, whose 512-bit operations run as two 256-bit halves, it picks its
/// AVX-512 ones, slower there than its AVX2 ones on mnist's shapes; and its idle worker threads
/// spin on sched_yield for a long time after each product, which on a 2-core machine takes the
/// core our own element-wise work needs. So a compute command re-executes itself once with
///
///     OPENBLAS_CORETYPE=SkylakeX      (AVX-512 F, BW, DQ and VL, at 1.5x AVX2's FMA rate or more)
///     OPENBLAS_CORETYPE=Haswell       (AVX-512 at less: BLAS.preferredKernelFamily)
///     OPENBLAS_THREAD_TIMEOUT=4       (idle workers sleep after 2⁴ cycles of waiting)
///
/// unless the user set them, which is respected. `DLTRAIN_NO_REEXEC=1` turns this off.
enum BLASEnvironment {
    static func prepare() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["DLTRAIN_REEXECUTED"] == nil, environment["DLTRAIN_NO_REEXEC"] == nil else { return }
        var changes: [(String, String)] = []
        if environment["OPENBLAS_CORETYPE"] == nil, let family = BLAS.preferredKernelFamily { changes.append(("OPENBLAS_CORETYPE", family)) }
        if environment["OPENBLAS_THREAD_TIMEOUT"] == nil { changes.append(("OPENBLAS_THREAD_TIMEOUT", "4")) }
        guard !changes.isEmpty else { return }
        for (key, value) in changes { setenv(key, value, 1) }
        setenv("DLTRAIN_REEXECUTED", "1", 1)
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv("/proc/self/exe", &arguments)
        // execv returns only on failure: carry on with the library's defaults.
    }
}
