import DLCore
import Foundation

/// OpenBLAS and glibc read their settings once, when the libraries load, before any of our
/// code runs.
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
/// and glibc's malloc asks the kernel for transparent huge pages (2 MiB) for its blocks:
///
///     GLIBC_TUNABLES=glibc.malloc.hugetlb=1   (appended to the user's other tunables)
///
/// Debian's kernels give huge pages only to memory that asks for them (`madvise` mode), and
/// in 4 KiB pages the data set, the parameters, their gradients and the optimizer's moments
/// take thousands of TLB entries; in a virtual machine each miss walks the guest's and the
/// host's page tables. mnist, 2 threads, AMD EPYC family 25 model 17 (Zen 4, KVM), epoch 2
/// in interleaved rounds: 0.920x the time (14 rounds, 11 faster), and 0.646x in a slow period
/// (12 rounds, 8 faster: 1.04 against 1.55 s, medians); wide and tabular even (0.987x, 6
/// rounds; 1.000x, 24 rounds); the data read 0.07-0.23 s slower, peak RSS 1-2 MiB larger.
///
/// Settings the user made are respected (a `glibc.malloc.hugetlb` of their own is kept).
/// `DLTRAIN_NO_REEXEC=1` turns all of this off.
enum ComputeEnvironment {
    /// `GLIBC_TUNABLES` with glibc's malloc asking for transparent huge pages added to
    /// `existing` (the user's value, if any); nil when the user already chose for hugetlb.
    static func glibcTunables(adding existing: String?) -> String? {
        let hugePages = "glibc.malloc.hugetlb=1"
        guard let existing, !existing.isEmpty else { return hugePages }
        if existing.split(separator: ":").contains(where: { $0.hasPrefix("glibc.malloc.hugetlb=") }) { return nil }
        return existing + ":" + hugePages
    }

    static func prepare() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["DLTRAIN_REEXECUTED"] == nil, environment["DLTRAIN_NO_REEXEC"] == nil else { return }
        var changes: [(String, String)] = []
        if environment["OPENBLAS_CORETYPE"] == nil, let family = BLAS.preferredKernelFamily { changes.append(("OPENBLAS_CORETYPE", family)) }
        if environment["OPENBLAS_THREAD_TIMEOUT"] == nil { changes.append(("OPENBLAS_THREAD_TIMEOUT", "4")) }
        if let tunables = glibcTunables(adding: environment["GLIBC_TUNABLES"]) { changes.append(("GLIBC_TUNABLES", tunables)) }
        guard !changes.isEmpty else { return }
        for (key, value) in changes { setenv(key, value, 1) }
        setenv("DLTRAIN_REEXECUTED", "1", 1)
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv("/proc/self/exe", &arguments)
        // execv returns only on failure: carry on with the library's defaults.
    }
}
