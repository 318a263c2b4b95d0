import Foundation
import Testing

/// `log redis-stream`: against a real Redis 7 started by the test with `appendonly yes appendfsync always`.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TelemetryRedisStreamLogTests {
    static func logLine(_ redis: RedisServer) -> String {
        "redis-stream redis://127.0.0.1:\(redis.port)/0 stream heartbeats group coalescer"
    }

    /// Ingest → one stream entry per record → the coalescer (a group consumer) upserts them and acknowledges them.
    @Test func ingestThroughStreamReachesTable() async throws {
        let redis = try await RedisServer(appendFsyncAlways: true)
        let t = try TelemetryProcess(window: "300ms", log: Self.logLine(redis))
        try await t.start()
        do {
            #expect(try redis.cli("CONFIG", "GET", "appendfsync").contains("always"))
            for i in 0..<4 {
                let batch = (0..<5).map { m in heartbeat("s\(m)", ts: "2026-11-21T10:0\(i):00Z", "\"rpm\":\(i * 10 + m)") }
                #expect(try await t.post("[" + batch.joined(separator: ",") + "]").status == 202)
            }
            #expect(try redis.cli("XLEN", "heartbeats").trimmed == "20")
            try await t.waitCommitted(20)
            let rows = try readTable(t.dbPath)
            #expect(rows.count == 5)
            for m in 0..<5 { #expect(rows["s\(m)"]?.rpm == Double(30 + m)) }
            // Everything read was acknowledged after the upsert: nothing pending in the group.
            #expect(try redis.cli("XPENDING", "heartbeats", "coalescer").hasPrefix("0"))
            #expect(try redis.cli("GET", "heartbeats:writer:coalescer").trimmed.hasSuffix("-\(t.proc!.pid)"))
        } catch {
            Issue.record(error)
        }
        await t.stop()
        // A clean stop gives the writer lease up.
        #expect(try redis.cli("EXISTS", "heartbeats:writer:coalescer").trimmed == "0")
        await redis.stop()
    }

    /// kill -9 with a window open: the entries stay pending for the dead consumer; the restarted process (a new
    /// consumer) takes the lease once it expires, claims them, and every 202'd record's effect is in the table once.
    @Test func killNineMidWindowLosesNothing() async throws {
        let redis = try await RedisServer(appendFsyncAlways: true)
        let t = try TelemetryProcess(window: "10s", log: Self.logLine(redis))
        try await t.start()
        let (accepted, newest) = try await t.postNumberedBatches(rounds: 30)
        #expect(try await t.metric("windows_total") == 0)
        let deadPID = t.proc!.pid
        await t.kill9()
        try await t.restartWithShortWindow()
        do {
            try await t.waitCommitted(accepted, timeout: 40)
            let rows = try readTable(t.dbPath)
            #expect(rows.count == newest.count)
            for (k, v) in newest { #expect(rows[k]?.rpm == v.rpm, "\(k)") }
            #expect(try redis.cli("XPENDING", "heartbeats", "coalescer").hasPrefix("0"))
            #expect(!(try redis.cli("GET", "heartbeats:writer:coalescer").contains("-\(deadPID)")))
        } catch {
            Issue.record(error)
        }
        await t.stop()
        await redis.stop()
    }

    /// Two Breakwater processes ingest into one stream; one of them holds the writer lease and writes the table.
    @Test func twoNodesFeedOneWriter() async throws {
        let redis = try await RedisServer(appendFsyncAlways: true)
        let base = try makeTempDir("twonodes")
        defer { try? FileManager.default.removeItem(at: base) }
        let db = base.appendingPathComponent("t.db").path
        let a = try TelemetryProcess(window: "300ms", dbPath: db, log: Self.logLine(redis))
        let b = try TelemetryProcess(window: "300ms", dbPath: db, log: Self.logLine(redis))
        try await a.start()
        try await b.start()
        do {
            var accepted = 0
            for i in 0..<10 {
                // Machines a* through node A, b* through node B, and "shared" through both (B's ts is newer).
                let fromA = [heartbeat("a\(i % 4)", ts: "2026-11-21T10:00:\(String(format: "%02d", i))Z", "\"rpm\":\(i)"),
                             heartbeat("shared", ts: "2026-11-21T09:00:\(String(format: "%02d", i))Z", "\"rpm\":\(1000 + i)")]
                let fromB = [heartbeat("b\(i % 3)", ts: "2026-11-21T10:00:\(String(format: "%02d", i))Z", "\"rpm\":\(100 + i)"),
                             heartbeat("shared", ts: "2026-11-21T11:00:\(String(format: "%02d", i))Z", "\"rpm\":\(2000 + i)")]
                if try await a.post("[" + fromA.joined(separator: ",") + "]").status == 202 { accepted += 2 }
                if try await b.post("[" + fromB.joined(separator: ",") + "]").status == 202 { accepted += 2 }
            }
            #expect(accepted == 40)
            let done = await waitUntilAsync(timeout: 30) {
                let ca = (try? await a.metric("committed_offset")) ?? 0
                let cb = (try? await b.metric("committed_offset")) ?? 0
                return Int(ca + cb) >= accepted
            }
            #expect(done)
            let rows = try readTable(db)
            #expect(rows.count == 4 + 3 + 1)
            // The last i < 10 with i % 4 == m (A) and i % 3 == m (B).
            let expected: [String: Double] = ["a0": 8, "a1": 9, "a2": 6, "a3": 7, "b0": 109, "b1": 107, "b2": 108]
            for (k, v) in expected { #expect(rows[k]?.rpm == v, "\(k)") }
            #expect(rows["shared"]?.rpm == 2009)
            // One writer: only one of the two nodes wrote windows.
            let wa = try await a.metric("windows_total"), wb = try await b.metric("windows_total")
            #expect((wa > 0) != (wb > 0), "windows: A \(wa), B \(wb)")
            #expect(try redis.cli("XPENDING", "heartbeats", "coalescer").hasPrefix("0"))
        } catch {
            Issue.record(error)
        }
        await a.stop()
        await b.stop()
        await redis.stop()
    }
}

extension String {
    var trimmed: String { trimmingCharacters(in: .whitespacesAndNewlines) }
}
