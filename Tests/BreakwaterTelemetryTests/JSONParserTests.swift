import Foundation
import Testing
@testable import BreakwaterTelemetry

/// The ingest JSON parser accepts what Foundation's JSONSerialization accepts and rejects what it rejects, and
/// decodes strings and numbers alike.
@Suite struct TelemetryJSONParserTests {
    static let valid = [
        #"{"a":1}"#, #"[1,2.5,-3e2,0,-0.0,1E+2]"#, #"  {"s":"x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00","t":true,"f":false,"n":null}  "#,
        #"[]"#, #"{}"#, #"[[[]]]"#, #""héllo""#, #"{"machine_id":"press-17","ts":"2026-11-21T10:00:00.123Z","fields":{"rpm":1200,"temp":71.5}}"#,
        "12", "true",
    ]
    static let invalid = [
        "", " ", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "tru", "nul", "[1 2]",
        "{\"a\":1,}", "\"abc", "\"a\u{01}b\"", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00x""#, "[1] x", "{'a':1}",
        "[1e400]", "[NaN]", "[Infinity]", "{\"a\":1}}",
    ]

    @Test func acceptsWhatFoundationAccepts() throws {
        for text in Self.valid {
            let ours = try JSONParser.parse(Array(text.utf8))
            let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(Self.same(ours, theirs), "\(text)")
        }
    }

    @Test func rejectsWhatFoundationRejects() {
        for text in Self.invalid {
            #expect(throws: JSONParser.Failure.self, "\(text)") { try JSONParser.parse(Array(text.utf8)) }
        }
        // Invalid UTF-8 inside a string, and nesting past the bound.
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)) }
    }

    /// Every prefix of a valid document is rejected (no crash, no partial value).
    @Test func everyTruncationIsRejected() {
        let text = Array(Self.valid[2].utf8)
        for n in 0..<(text.count - 2) where !text[..<n].allSatisfy({ $0 == 0x20 }) || n == 0 {
            #expect(throws: JSONParser.Failure.self, "prefix \(n)") { try JSONParser.parse(Array(text[..<n])) }
        }
    }

    static func same(_ a: JSONValue, _ b: Any) -> Bool {
        switch a {
        case .null: return b is NSNull
        case .bool(let x): return (b as? Bool) == x
        case .number(let x): return (b as? NSNumber)?.doubleValue == x
        case .string(let x): return b as? String == x
        case .array(let xs):
            guard let ys = b as? [Any], ys.count == xs.count else { return false }
            return zip(xs, ys).allSatisfy { same($0, $1) }
        case .object(let xs):
            guard let ys = b as? [String: Any], ys.count == xs.count else { return false }
            return xs.allSatisfy { k, v in ys[k].map { same(v, $0) } ?? false }
        }
    }
}
