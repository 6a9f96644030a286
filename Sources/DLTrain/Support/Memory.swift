import Foundation

/// Returns the heap's free memory to the system (glibc's `malloc_trim(0)`, which Swift's
/// Glibc module does not declare, so it is found by name; a no-op elsewhere). Called after
/// the phases that free much: loading the data, writing a checkpoint.
let returnFreeMemory: @Sendable () -> Void = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return {} }
    let trim = unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    return { _ = trim(0) }
}()

/// How this process's memory is paged, for `--verbose`: the kernel's transparent huge page
/// mode and whether glibc's malloc asks for them (the `GLIBC_TUNABLES` dltrain sets when it
/// re-executes itself; see the executable's `ComputeEnvironment`).
public var memoryPagesLine: String {
    let mode = (try? String(contentsOfFile: "/sys/kernel/mm/transparent_hugepage/enabled", encoding: .utf8))
        .flatMap { text in text.split(separator: " ").first { $0.hasPrefix("[") }.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "[]\n")) } }
    let tunables = ProcessInfo.processInfo.environment["GLIBC_TUNABLES"]
    let asking = tunables?.split(separator: ":").contains("glibc.malloc.hugetlb=1") == true
    return "memory: transparent huge pages \(mode ?? "unknown") in the kernel; malloc \(asking ? "asks for them" : "does not ask for them")"
        + " (GLIBC_TUNABLES \(tunables.map { "\"\($0)\"" } ?? "unset"))"
}
