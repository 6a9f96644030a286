import CKernels
import Foundation
import Glibc
import Synchronization

/// The second core's persistent thread: takes one ``Job`` at a time, the other half of a large
/// matrix product or of the optimizer's pass, while the calling thread computes its own half.
///
/// Handed over through atomic flags and two semaphores, nothing allocated per job. On this
/// project's shared machines the second core is sometimes taken by a neighbour for a few
/// milliseconds; a caller that finishes its half before the helper has even started takes the
/// job back (``finish()``) and runs it itself, so a late helper costs one core's speed, not a
/// stalled step.
///
/// The products of a step follow each other within tens of microseconds, and a sleep on a
/// semaphore costs a system call and a scheduler wake-up on each side (a few per cent of an
/// `mnist` step in `perf`). So each side polls its flag first: the helper for the next job
/// for up to ``helperSpin`` after finishing one, the caller for the helper's half for up to
/// ``callerSpin``, and only then sleeps. A post nobody waited for is then a plain atomic
/// increment; the semaphores stay balanced (a wake-up whose job was taken finds nothing pending).
/// Past the first ``pureSpin`` a poller yields its core on every round (`sched_yield`): with
/// more busy threads than cores (two processes, or the tests), the thread it waits for may
/// need that very core.
public final class HelperThread: @unchecked Sendable {
    /// A C function and its argument: the caller keeps the argument alive until ``finish()``.
    public struct Job {
        public var function: @convention(c) (UnsafeMutableRawPointer) -> Void
        public var argument: UnsafeMutableRawPointer
        public init(_ function: @convention(c) (UnsafeMutableRawPointer) -> Void, _ argument: UnsafeMutableRawPointer) {
            self.function = function
            self.argument = argument
        }
    }

    /// The helper of this process; nil when the process may run on one core only (a single-core
    /// machine, or `taskset -c 0`).
    public static let shared: HelperThread? = AvailableCPUs.count > 1 ? HelperThread() : nil

    private var job: Job?
    /// Held by the one thread whose job the helper has (``claim()`` to ``finish()``).
    private let claimed = Atomic<Bool>(false)
    /// 1 while a job waits to be taken; whoever swaps it to 0 (helper or caller) runs it.
    private let pending = Atomic<Int>(0)
    /// Set by the helper when the job it took is done.
    private let completed = Atomic<Bool>(false)
    /// Polling budgets, in nanoseconds: before sleeping on a semaphore, and before yielding the core each round.
    static let helperSpin = 100_000, callerSpin = 2_000_000, pureSpin = 10_000
    /// The CPU the helper took its latest job on; -1 before the first.
    private let lastCPU = Atomic<Int>(-1)

    /// The CPU the helper ran its latest job on, nil before its first: the core where it gives
    /// way between jobs (``poll(nanoseconds:until:)`` yields past ``pureSpin``), and so the one
    /// where a background thread, such as the batch loader's, finds time during a step.
    public var cpu: Int? {
        let last = lastCPU.load(ordering: .relaxed)
        return last >= 0 ? last : nil
    }
    private var wake = sem_t(), done = sem_t()

    private init() {
        sem_init(&wake, 0, 0)
        sem_init(&done, 0, 0)
        var thread = pthread_t()
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 1 << 20)
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, &attributes, { context in
            let helper = Unmanaged<HelperThread>.fromOpaque(context!).takeUnretainedValue()
            while true {
                if !HelperThread.poll(nanoseconds: HelperThread.helperSpin, until: { helper.pending.load(ordering: .relaxed) == 1 }) {
                    sem_wait(&helper.wake)
                }
                // A wake-up whose job the caller took back (or the helper took while polling) finds nothing pending: skip it.
                guard helper.pending.compareExchange(expected: 1, desired: 0, ordering: .acquiring).exchanged, let job = helper.job else { continue }
                helper.lastCPU.store(Int(dl_current_cpu()), ordering: .relaxed)
                job.function(job.argument)
                helper.completed.store(true, ordering: .releasing)
                sem_post(&helper.done)
            }
        }, context)
        pthread_attr_destroy(&attributes)
    }

    /// Claims the helper for one job: false while another thread holds it (the batch loader's
    /// PCA projection can run beside the training step), and that caller does all its work itself.
    /// After a true, the caller fills its job's argument, calls ``start(_:)``, does its own part,
    /// and calls ``finish()``, which gives the claim back.
    public func claim() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    /// Hands `job` to the claimed helper; the caller then does its own part and calls ``finish()``.
    public func start(_ next: Job) {
        precondition(claimed.load(ordering: .relaxed), "start without claim()")
        job = next
        completed.store(false, ordering: .relaxed)
        pending.store(1, ordering: .releasing)
        sem_post(&wake)
    }

    /// Returns when the job handed over by ``start(_:)`` is done: runs it here if the helper
    /// has not taken it yet, else waits for the helper. Then releases the claim.
    public func finish() {
        if pending.compareExchange(expected: 1, desired: 0, ordering: .acquiring).exchanged {
            job!.function(job!.argument)
        } else {
            _ = HelperThread.poll(nanoseconds: HelperThread.callerSpin, until: { completed.load(ordering: .acquiring) })
            sem_wait(&done)  // at once when the helper is done: it consumes that job's post
        }
        claimed.store(false, ordering: .releasing)
    }

    /// Polls `condition` until it holds, true, or `nanoseconds` pass, false: with the CPU's
    /// spin hint for ``pureSpin``, then yielding the core between polls.
    @inline(__always)
    static func poll(nanoseconds budget: Int, until condition: () -> Bool) -> Bool {
        var start = timespec(), now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        var polls = 0, yielding = false
        while !condition() {
            polls += 1
            if yielding || polls & 63 == 0 {
                clock_gettime(CLOCK_MONOTONIC, &now)
                let elapsed = (now.tv_sec - start.tv_sec) * 1_000_000_000 + (now.tv_nsec - start.tv_nsec)
                if elapsed > budget { return false }
                yielding = elapsed > pureSpin
            }
            if yielding { sched_yield() } else { dl_cpu_relax() }
        }
        return true
    }
}
