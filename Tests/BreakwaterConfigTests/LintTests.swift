import BreakwaterConfigModel
import BreakwaterCore
import Foundation
import Testing

@testable import BreakwaterConfig

/// Each lint has a fixture in Fixtures/lints/NAME.cfg whose warnings must equal NAME.golden exactly
/// (`${FIXTURES}` there stands for the fixture directory). UPDATE_GOLDEN=1 rewrites the golden files.
@Suite struct LintTests {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lints")
    /// The fixture directory is on a disk; its `ram` subdirectory stands for a tmpfs.
    static let mounts = MountTable(procMounts: "/dev/sda1 / ext4 rw,relatime 0 0\ntmpfs \(dir.path)/ram tmpfs rw,nosuid 0 0\n")

    static func lint(_ name: String) throws -> (ConfigParseResult, [LintWarning]) {
        let text = try String(contentsOf: dir.appendingPathComponent(name + ".cfg"), encoding: .utf8)
        let r = ConfigParser(environment: ["FIXTURES": dir.path]).parse([ConfigSource(path: name + ".cfg", text: text)])
        guard let s = r.snapshot else { return (r, []) }
        return (r, ConfigLints(mounts: mounts).run(s))
    }

    @Test(arguments: [
        ("l7-check-storm", "L7-CHECK-STORM"), ("no-maxconn-pool", "NO-MAXCONN-POOL"),
        ("no-http-request-timeout", "NO-HTTP-REQUEST-TIMEOUT"), ("ticket-keys-persistent", "TICKET-KEYS-PERSISTENT"),
        ("stick-table-memory", "STICK-TABLE-MEMORY"), ("error-limit-flap", "ERROR-LIMIT-FLAP"),
    ])
    func fixtureProducesItsGoldenWarnings(name: String, code: String) throws {
        let (r, lints) = try Self.lint(name)
        #expect(!r.hasErrors, "fixture must be a valid config: \(r.errors.map(\.description))")
        #expect(!lints.isEmpty)
        #expect(lints.allSatisfy { $0.code == code }, "only \(code) fires: \(lints.map(\.description))")
        let got = lints.map(\.description).joined(separator: "\n").replacingOccurrences(of: Self.dir.path, with: "${FIXTURES}") + "\n"
        let goldenURL = Self.dir.appendingPathComponent(name + ".golden")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try got.write(to: goldenURL, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOf: goldenURL, encoding: .utf8)
        #expect(got == golden)
    }

    @Test func cleanConfigHasNoLints() throws {
        let (r, lints) = try Self.lint("clean")
        #expect(!r.hasErrors)
        #expect(lints.isEmpty, "\(lints.map(\.description))")
    }

    @Test func l7StormNeedsAHighRate() throws {
        let lines = prologue + ["  timeout http-request 5s", "frontend fe", "  bind :8080", "  default_backend be",
                                "backend be", "  option httpchk GET /h"]
        let few = parse(lines + (1...4).map { "  server s\($0) 127.0.0.1:\(9000 + $0) check inter 2s maxconn 10" })
        #expect(ConfigLints(mounts: nil).run(try #require(few.snapshot)).isEmpty, "2 checks/s is no storm")
        let many = parse(lines + (1...20).map { "  server s\($0) 127.0.0.1:\(9000 + $0) check inter 1s maxconn 10" })
        let l = ConfigLints(mounts: nil).run(try #require(many.snapshot))
        #expect(l.map(\.code) == ["L7-CHECK-STORM"])
        #expect(l.first?.message.contains("20 checks/s") == true)
        #expect(l.first?.message.contains("~0.8 % of one core") == true)
    }

    @Test func unknownKeywordsKeepTheirHint() {
        let r = parse(proxyConfig(backend: ["optoin httpchk", "server s1 127.0.0.1:8080"]))
        #expect(r.errors.contains { $0.message.contains("did you mean 'option'") }, "\(r.diagnostics.map(\.description))")
    }
}
