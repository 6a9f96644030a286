import DLCore
import Testing

/// The helper thread runs each job exactly once, whether it takes the job or the caller takes
/// it back in `finish()` (immediately after `start`, the caller often wins; after a spin, the
/// helper does), and the job's writes are visible when `finish()` returns.
@Suite struct HelperThreadTests {
    @Test func everyJobRunsOnceAndIsVisible() throws {
        let helper = try #require(HelperThread.shared)
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        defer { counter.deallocate() }
        counter.pointee = 0
        let increment: @convention(c) (UnsafeMutableRawPointer) -> Void = { raw in raw.assumingMemoryBound(to: Int.self).pointee += 1 }
        for round in 1...20_000 {
            helper.start(HelperThread.Job(increment, UnsafeMutableRawPointer(counter)))
            if round % 2 == 0 { for _ in 0..<(round % 7) * 200 { _ = counter.pointee } }
            helper.finish()
            #expect(counter.pointee == round)
            if counter.pointee != round { break }
        }
    }
}
