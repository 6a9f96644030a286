@testable import DLTrain
import Foundation
import Testing

/// predict's numbers: `%.9g` through glibc's `strfromd`, and through `vsnprintf` where the C
/// library lacks it, each the bytes Foundation's `String(format: "%.9g")` gives.
@Suite struct PredictionFormatTests {
    @Test func bothWaysWriteWhatPrintfWrites() throws {
        #expect(Evaluation.strfromd != nil, "glibc has had strfromd since 2.25")
        var values: [Float] = [0, -0, 1, -1, 0.1, 1 / 3, 0.999999046, 1e-8, .greatestFiniteMagnitude, .leastNormalMagnitude, .leastNonzeroMagnitude, 123456792, .infinity, -.infinity, .nan]
        var state: UInt32 = 12345
        for _ in 0..<2000 {
            state = state &* 1664525 &+ 1013904223
            values.append(Float(bitPattern: state))
        }
        for x in values {
            let expected = Array(String(format: "%.9g", Double(x)).utf8)
            var fast: [UInt8] = [], variadic: [UInt8] = []
            Evaluation.append(x, to: &fast)
            Evaluation.append(x, to: &variadic, using: nil)
            #expect(fast == expected && variadic == expected, "\(x): \(String(decoding: fast, as: UTF8.self)) \(String(decoding: variadic, as: UTF8.self))")
        }
    }
}
