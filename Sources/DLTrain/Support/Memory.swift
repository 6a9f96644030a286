import Foundation

/// Returns the heap's free memory to the system (glibc's `malloc_trim(0)`, which Swift's
/// Glibc module does not declare, so it is found by name; a no-op elsewhere). Called after
/// the phases that free much: loading the data, writing a checkpoint.
let returnFreeMemory: @Sendable () -> Void = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return {} }
    let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    return { _ = trim(0) }
}()
