import Foundation
import GRDB
import Testing

/// Nothing accepted is lost: kill -9 mid-window, and a sink that is down for a while.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TelemetryDurabilityTests {
    /// kill -9 with a window open (and records uncommitted), restart on the same log: every 202'd record's effect is
    /// in the table exactly once (each machine's row is its newest record).
    @Test func killNineMidWindowLosesNothing() async throws {
        let t = try TelemetryProcess(window: "10s")
        try await t.start()
        let (accepted, newest) = try await t.postNumberedBatches(rounds: 30)
        // The window is 10 s long: nothing has been written to the sink yet.
        #expect(try await t.metric("windows_total") == 0)
        await t.kill9()
        try await t.restartWithShortWindow()
        defer { Task { await t.stop() } }
        // The replayed log rebuilt the latest state too.
        let k0 = try await t.request("GET", "/v1/machines/k0")
        #expect((k0.json?["fields"] as? [String: Any])?["rpm"] as? Int == 290)
        try await t.waitCommitted(accepted)
        let rows = try readTable(t.dbPath)
        #expect(rows.count == newest.count)
        for (k, v) in newest {
            #expect(rows[k]?.ts == v.ts, "\(k)")
            #expect(rows[k]?.rpm == v.rpm, "\(k)")
        }
        // Committed past every segment but the active one: the log shrank to at most one segment.
        let segments = try FileManager.default.contentsOfDirectory(atPath: t.logDir).filter { $0.hasSuffix(".log") }
        #expect(segments.count == 1)
    }

    /// The sink's directory does not exist (the database cannot open): ingest still answers 202, the log grows, the
    /// coalescer retries; once the directory appears every record lands.
    @Test func sinkDownThenBackLosesNothing() async throws {
        let base = try makeTempDir("sinkdown")
        defer { try? FileManager.default.removeItem(at: base) }
        let sinkDir = base.appendingPathComponent("later")
        let t = try TelemetryProcess(window: "200ms", dbPath: sinkDir.appendingPathComponent("t.db").path)
        try await t.start()
        defer { Task { await t.stop() } }
        for i in 0..<10 {
            let r = try await t.post(heartbeat("m\(i % 3)", ts: "2026-11-21T10:00:0\(i)Z", "\"rpm\":\(i)"))
            #expect(r.status == 202)
        }
        let erroring = await waitUntilAsync(timeout: 15) { (try? await t.metric("sink_errors_total")) ?? 0 >= 2 }
        #expect(erroring)
        #expect(try await t.metric("log_lag_records") == 10)
        #expect(try await t.metric("committed_offset") == 0)
        try FileManager.default.createDirectory(at: sinkDir, withIntermediateDirectories: true)
        try await t.waitCommitted(10)
        let rows = try readTable(sinkDir.appendingPathComponent("t.db").path)
        #expect(rows.count == 3)
        #expect(rows["m0"]?.rpm == 9)
        #expect(rows["m1"]?.rpm == 7)
        #expect(rows["m2"]?.rpm == 8)
    }

    /// max-log-size reached (sink down): ingest answers 503 with a JSON error, accepts again once the sink catches up.
    @Test func fullLogRefusesWith503() async throws {
        let base = try makeTempDir("logfull")
        defer { try? FileManager.default.removeItem(at: base) }
        let sinkDir = base.appendingPathComponent("later")
        let t = try TelemetryProcess(extra: ["max-log-size 64k"], window: "200ms", dbPath: sinkDir.appendingPathComponent("t.db").path)
        try await t.start()
        defer { Task { await t.stop() } }
        let batch = "[" + (0..<100).map { heartbeat("m\($0)", ts: "2026-11-21T10:00:00Z", "\"rpm\":\($0)") }.joined(separator: ",") + "]"
        var statuses: [Int] = []
        for _ in 0..<20 { statuses.append(try await t.post(batch).status) }
        #expect(statuses.contains(202))
        #expect(statuses.last == 503)
        let full = try await t.post(batch)
        #expect((full.json?["error"] as? String)?.contains("max-log-size") == true, "\(full.body)")
        let accepted = Int(try await t.metric("accepted_records_total"))
        try FileManager.default.createDirectory(at: sinkDir, withIntermediateDirectories: true)
        try await t.waitCommitted(accepted)
        let ok = await waitUntilAsync(timeout: 15) { (try? await t.post(batch).status) == 202 }
        #expect(ok)
    }
}

func waitUntilAsync(timeout: Double, _ condition: () async -> Bool) async -> Bool {
    let deadline = nowMs() + timeout * 1000
    while nowMs() < deadline {
        if await condition() { return true }
        try? await Task.sleep(nanoseconds: 50_000_000)
    }
    return await condition()
}
