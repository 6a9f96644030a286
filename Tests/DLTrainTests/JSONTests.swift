import TestSupport
@testable import DLTrain
import Testing

@Suite struct JSONTests {
    @Test func parsesWithPositions() throws {
        let json = try JSON.parse("{\n  \"a\": [1, 2.5e1, true, null],\n  \"b\": {\"c\": \"x\\u00e9\\n\"}\n}")
        #expect(json["a"]?.items?.map(\.kind) == [.number(1), .number(25), .bool(true), .null])
        #expect(json["a"]?.line == 2 && json["a"]?.column == 8)
        #expect(json["b"]?["c"]?.string == "xé\n")
        #expect(json["b"]?["c"]?.line == 3)
    }

    @Test func syntaxErrorsCarryLineAndColumn() {
        let cases: [(String, String)] = [
            ("{\"a\": 1,}", "1:9"),
            ("{\"a\" 1}", "1:6"),
            ("[1, 2", "1:6"),
            ("{\"a\": 01x}", "1:9"),
            ("{\"a\": 1, \"a\": 2}", "duplicate key"),
            ("{\"a\": \"unterminated}", "unterminated"),
            ("\n\n  nope", "3:3"),
            ("{} {}", "after the JSON value"),
        ]
        for (text, expected) in cases {
            #expect(errorText { try JSON.parse(text) }.contains(expected), "\(text)")
        }
    }

    @Test func renderingRoundTrips() throws {
        let text = "{\"x\": [1, 0.1, -3e-8], \"s\": \"q\\\"uote\", \"o\": {\"e\": []}}"
        let json = try JSON.parse(text)
        #expect(try JSON.parse(json.rendered()) == json)
        #expect(try JSON.parse(json.rendered(indent: nil)) == json)
    }

    @Test func deepNestingIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(errorText { try JSON.parse(deep) }.contains("nesting"))
    }
}
