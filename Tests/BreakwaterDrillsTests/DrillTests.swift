import BreakwaterDrills
import Foundation
import Testing

private let root: URL = {
    var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while url.path != "/" && !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url.deleteLastPathComponent()
    }
    return url
}()

private func binary() -> String {
    if let env = ProcessInfo.processInfo.environment["BREAKWATER_BIN"], !env.isEmpty { return env }
    return root.appendingPathComponent(".build/debug/breakwater").path
}

/// A config in the write-ups' shape: L7 checks, a stick-table rate limit with tarpit, server maxconn.
let drillConfig = """
global
    maxconn 500
    stats socket /run/breakwater/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    timeout http-request 5s
    timeout tarpit 1s
frontend fe
    bind :8080
    stick-table type ip size 10k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    acl abusive sc_http_req_rate(0) gt 20
    http-request tarpit if abusive
    default_backend pods
backend pods
    option httpchk GET /healthz
    server pod_01 10.0.2.15:80 check port 80 inter 1s maxconn 10
    server pod_02 10.0.2.16:80 check port 80 inter 1s maxconn 10

"""

func drill(_ name: String, seconds: Int = 2, config: String = drillConfig, options: [String] = []) throws -> (Int32, [String: Any], String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bw-drilltest-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let cfg = dir.appendingPathComponent("d.cfg")
    try config.write(to: cfg, atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary())
    p.arguments = ["drill", name, "-f", cfg.path, "--json", "--duration", "\(seconds)"] + options
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    let obj = (try? JSONSerialization.jsonObject(with: o)) as? [String: Any] ?? [:]
    return (p.terminationStatus, obj, String(decoding: o, as: UTF8.self) + e)
}

func metric(_ report: [String: Any], run: Int, _ name: String) -> Double? {
    guard let runs = report["runs"] as? [[String: Any]], run < runs.count,
          let m = runs[run]["metrics"] as? [String: Any] else { return nil }
    return (m[name] as? NSNumber)?.doubleValue
}

/// Each drill end to end with small numbers: the real binary, its loopback backends and child proxies.
@Suite(.serialized, .timeLimit(.minutes(3))) struct DrillEndToEndTests {
    @Test func healthStormL7ChecksReachTheApplicationL4DoNot() throws {
        let (code, r, text) = try drill("health-storm")
        #expect(code == 0, "\(text)")
        #expect((metric(r, run: 0, "checks") ?? 0) > 0, "\(text)")
        #expect((metric(r, run: 0, "app requests for checks") ?? 0) > 0, "L7 checks hit the application: \(text)")
        #expect((metric(r, run: 1, "checks") ?? 0) > 0, "\(text)")
        #expect(metric(r, run: 1, "app requests for checks") == 0, "L4 checks never reach it: \(text)")
    }

    @Test func cascadeRunsBothCheckStrategiesUnderLoad() throws {
        let (code, r, text) = try drill("cascade")
        #expect(code == 0, "\(text)")
        #expect((metric(r, run: 0, "200") ?? 0) > 0, "\(text)")
        #expect((metric(r, run: 1, "200") ?? 0) > 0, "\(text)")
        #expect(metric(r, run: 1, "max servers DOWN") != nil && metric(r, run: 0, "max servers DOWN") != nil)
    }

    @Test func botnetAbusiveClientsAreLimitedPoliteOnesServed() throws {
        let (code, r, text) = try drill("botnet")
        #expect(code == 0, "\(text)")
        #expect((metric(r, run: 0, "abusive refused or tarpitted") ?? 0) > 0, "the rate limit applies: \(text)")
        #expect(metric(r, run: 0, "polite served 200 %") == 100, "\(text)")
    }

    @Test func fpmBurstQueuesWithMaxconnAndTimesOutWithout() throws {
        let (code, r, text) = try drill("fpm-burst")
        #expect(code == 0, "\(text)")
        #expect(metric(r, run: 0, "504") == 0, "\(text)")
        #expect((metric(r, run: 0, "200") ?? 0) > 0, "\(text)")
        #expect((metric(r, run: 1, "504") ?? 0) > 0, "no maxconn: the pool's backlog times out: \(text)")
    }

    @Test func portExhaustionWithoutReuseOpensAConnectionPerRequest() throws {
        let (code, r, text) = try drill("port-exhaustion")
        #expect(code == 0, "\(text)")
        let reused = try #require(metric(r, run: 0, "server connections opened"))
        let never = try #require(metric(r, run: 1, "server connections opened"))
        let neverRequests = try #require(metric(r, run: 1, "requests"))
        #expect(never > reused * 5, "\(text)")
        #expect(never >= neverRequests * 0.9, "one server connection per request: \(text)")
    }

    @Test(arguments: [("db-storm", "needs a mysql-mux section"), ("heartbeat-storm", "needs a telemetry section")])
    func dataTierDrillsNeedTheirSection(name: String, reason: String) throws {
        let (code, r, text) = try drill(name, seconds: 1)
        #expect(code == 0, "\(text)")
        #expect(r["skipped"] as? String == reason)
    }

    @Test func unknownDrillIsAClearError() throws {
        let (code, _, text) = try drill("tsunami", seconds: 1)
        #expect(code != 0)
        #expect(text.contains("unknown drill 'tsunami'"))
    }
}

@Suite struct DrillConfigTests {
    @Test func addressesAreSubstitutedAndHostLinesDropped() throws {
        let c = try DrillConfig(original: drillConfig, backend: "pods", ports: [40001, 40002, 40003],
                                addToBackend: ["option tcp-check"], dropRequestRules: true)
        #expect(c.text.contains("    bind 127.0.0.1:\(c.port)\n"))
        #expect(c.text.contains("server pod_01 127.0.0.1:40001 check inter 1s maxconn 10"))
        #expect(c.text.contains("server pod_02 127.0.0.1:40002 check inter 1s maxconn 10"))
        #expect(c.text.contains("server pod_01_d2 127.0.0.1:40003 check inter 1s maxconn 10"), "extra servers cloned")
        #expect(!c.text.contains("stats socket"))
        #expect(!c.text.contains("10.0.2."))
        #expect(!c.text.contains("http-request track-sc0") && !c.text.contains("http-request tarpit"))
        #expect(c.text.contains("timeout http-request 5s"))
        #expect(c.text.contains("    option tcp-check\n"))
    }
}
