import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

/// Parses lines joined with "\n" (line N of the config is argument N).
func parse(_ lines: [String], env: [String: String] = [:], strict: Bool = false, file: String = "t.cfg") -> ConfigParseResult {
    ConfigParser(environment: env, strict: strict).parse([ConfigSource(path: file, text: lines.joined(separator: "\n"))])
}

/// A valid prologue (5 lines) so proxies under test get mode http and timeouts.
let prologue = [
    "defaults",
    "  mode http",
    "  timeout connect 5s",
    "  timeout client 30s",
    "  timeout server 30s",
]

func errors(_ r: ConfigParseResult) -> [Diagnostic] { r.diagnostics.filter { $0.severity == .error } }
func warnings(_ r: ConfigParseResult) -> [Diagnostic] { r.diagnostics.filter { $0.severity == .warning } }

func expectError(_ r: ConfigParseResult, line: Int, _ keyword: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(r.diagnostics.contains { $0.severity == .error && $0.location.line == line && $0.message.contains(keyword) },
            "expected error at line \(line) containing '\(keyword)'; got \(r.diagnostics.map(\.description))",
            sourceLocation: sourceLocation)
    #expect(r.snapshot == nil, sourceLocation: sourceLocation)
}

func expectWarning(_ r: ConfigParseResult, line: Int, _ keyword: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(r.diagnostics.contains { $0.severity == .warning && $0.location.line == line && $0.message.contains(keyword) },
            "expected warning at line \(line) containing '\(keyword)'; got \(r.diagnostics.map(\.description))",
            sourceLocation: sourceLocation)
}

func expectNoErrors(_ r: ConfigParseResult, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
    #expect(errors(r).isEmpty, "unexpected errors: \(errors(r).map(\.description))", sourceLocation: sourceLocation)
    #expect(r.snapshot != nil, sourceLocation: sourceLocation)
}

/// A frontend+backend pair after the prologue; `frontendLines` start at line 9, `backendLines` after them.
func proxyConfig(frontend frontendLines: [String] = [], backend backendLines: [String] = ["server s1 127.0.0.1:8080"]) -> [String] {
    prologue + ["frontend fe", "  bind :8080"] + frontendLines + ["  default_backend be", "backend be"] + backendLines
}
typealias Loc = BreakwaterConfigModel.SourceLocation
