import Foundation
import Testing

/// examples/telemetry.cfg runs as shipped (only its port and /tmp paths are moved into the test's own temp dir).
@Suite(.serialized, .timeLimit(.minutes(2)))
struct TelemetryExampleTests {
    @Test func exampleRunsEndToEnd() async throws {
        var root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) { root.deleteLastPathComponent() }
        let example = try String(contentsOf: root.appendingPathComponent("examples/telemetry.cfg"), encoding: .utf8)
        let t = try TelemetryProcess()
        let text = example.replacingOccurrences(of: "127.0.0.1:8086", with: "127.0.0.1:\(t.port)")
            .replacingOccurrences(of: "/tmp/breakwater-telemetry", with: t.dir.path)
        #expect(text != example)
        try text.write(to: t.dir.appendingPathComponent("breakwater.cfg"), atomically: true, encoding: .utf8)
        try await t.start()
        defer { Task { await t.stop() } }
        let r = try await t.post(heartbeat("press-17", ts: "2026-11-21T10:00:00.123Z", "\"rpm\":1200,\"temp\":71.5"))
        #expect(r.status == 202)
        try await t.waitCommitted(1)
        let rows = try readTable(t.dir.appendingPathComponent("telemetry.db").path)
        #expect(rows["press-17"]?.rpm == 1200)
        #expect(rows["press-17"]?.ts == 1_795_255_200_123)
        #expect(rows["press-17"]?.samples == 1)
    }
}
