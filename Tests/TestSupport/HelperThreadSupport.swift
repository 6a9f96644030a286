import DLCore
import Glibc

/// The CPU `helper` ran its latest job on, after making sure it has run one itself: a caller
/// takes back a job the helper has not begun, so each try gives it 2 ms. Nil after 100 tries.
public func helperCPU(_ helper: HelperThread) -> Int? {
    let flag = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    defer { flag.deallocate() }
    for _ in 0..<100 where helper.cpu == nil {
        guard helper.claim() else { continue }
        helper.start(HelperThread.Job({ $0.assumingMemoryBound(to: Int.self).pointee = 1 }, UnsafeMutableRawPointer(flag)))
        usleep(2_000)
        helper.finish()
    }
    return helper.cpu
}
