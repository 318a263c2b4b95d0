import Foundation
import Testing

/// `state redis`: against a real Redis 7 started by the test.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct TelemetryRedisStateTests {
    /// Ingest → hash `<prefix><machine_id>` with the fields and ts (ms); an older record changes nothing; a newer one
    /// overwrites its fields and keeps the others; GET reads the hash; the sink still gets the window.
    @Test func ingestUpdatesRedisHashesNewerWins() async throws {
        let redis = try await RedisServer()
        let t = try TelemetryProcess(window: "300ms", state: "redis redis://127.0.0.1:\(redis.port)/0 prefix sensor:")
        try await t.start()
        do {
            #expect(try await t.post(heartbeat("press-17", ts: "2026-11-21T10:00:00.123Z", "\"rpm\":1200,\"temp\":71.5,\"on\":true")).status == 202)
            let batch = "[" + heartbeat("press-17", ts: "2026-11-21T09:00:00Z", "\"rpm\":1,\"temp\":1") + ","
                + heartbeat("press-17", ts: "2026-11-21T10:00:01Z", "\"rpm\":1300") + "]"
            #expect(try await t.post(batch).status == 202)
            #expect(try redis.cli("HGET", "sensor:press-17", "rpm").trimmingCharacters(in: .whitespacesAndNewlines) == "1300")
            #expect(try redis.cli("HGET", "sensor:press-17", "temp").trimmingCharacters(in: .whitespacesAndNewlines) == "71.5")
            #expect(try redis.cli("HGET", "sensor:press-17", "on").trimmingCharacters(in: .whitespacesAndNewlines) == "true")
            #expect(try redis.cli("HGET", "sensor:press-17", "ts").trimmingCharacters(in: .whitespacesAndNewlines) == "1795255201000")
            let got = try await t.request("GET", "/v1/machines/press-17")
            #expect((got.json?["fields"] as? [String: Any])?["rpm"] as? Int == 1300)
            #expect(got.json?["ts"] as? String == "2026-11-21T10:00:01.000Z")
            // A flushed script cache (NOSCRIPT) is reloaded transparently.
            _ = try redis.cli("SCRIPT", "FLUSH")
            #expect(try await t.post(heartbeat("press-18", ts: "2026-11-21T10:00:00Z", "\"rpm\":5")).status == 202)
            #expect(try redis.cli("HGET", "sensor:press-18", "rpm").trimmingCharacters(in: .whitespacesAndNewlines) == "5")
            try await t.waitCommitted(4)
            #expect(try readTable(t.dbPath)["press-17"]?.rpm == 1300)
        } catch {
            Issue.record(error)
        }
        await t.stop()
        await redis.stop()
    }

    /// Redis down: ingest answers 503 saying the state was not updated (the records are in the log); back up, 202.
    @Test func redisDownAnswers503() async throws {
        let redis = try await RedisServer()
        let port = redis.port
        let t = try TelemetryProcess(window: "300ms", state: "redis redis://127.0.0.1:\(port)/0 prefix s:")
        try await t.start()
        await redis.stop()
        let r = try await t.post(heartbeat("m", ts: "2026-11-21T10:00:00Z", "\"rpm\":1"))
        #expect(r.status == 503)
        #expect((r.json?["error"] as? String)?.contains("latest state could not be updated") == true, "\(r.body)")
        #expect(try await t.metric("state_errors_total") == 1)
        await t.stop()
    }
}
