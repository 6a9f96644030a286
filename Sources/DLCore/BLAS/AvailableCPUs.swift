import CKernels
import Foundation

/// How many CPUs this process may run on: the decision behind the helper thread, the default
/// thread count of MPI ranks and sweep trials, and whether a second thread prepares batches.
///
/// Foundation's `activeProcessorCount` counts the machine's online CPUs and ignores the
/// process's affinity, so under `taskset -c 0` or a batch system's CPU binding it still said 2
/// on a two-core machine; the affinity mask is what the scheduler enforces.
public enum AvailableCPUs {
    /// The CPUs in the process's affinity mask (at most the online count; the online count when
    /// the mask cannot be read). Read once, when first asked.
    public static let count: Int = {
        let allowed = Int(dl_affinity_cpus())
        return Swift.max(1, allowed > 0 ? Swift.min(allowed, online) : online)
    }()

    /// The machine's online CPUs, whatever the mask.
    private static let online = ProcessInfo.processInfo.activeProcessorCount

    /// Restricts the calling thread to `cpu`, one of the process's; false when the system refuses.
    @discardableResult
    public static func bindCallingThread(to cpu: Int) -> Bool {
        dl_bind_calling_thread(Int32(cpu)) == 0
    }

    /// Threads for each of `ranks` processes on this node (MPI): the CPUs the launcher bound
    /// the process to, at most an even share of the machine's.
    public static func perProcess(ranks: Int) -> Int {
        Swift.max(1, Swift.min(count, online / Swift.max(ranks, 1)))
    }
}
