import Foundation
import Testing

/// `sink mysql` against a real MariaDB 10.11 started by the test: one window → exactly ceil(rows/N) INSERT
/// statements (the server's Com_insert), the right rows, an older replay changes nothing, and the server stopped
/// for a while then back loses nothing.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TelemetryMySQLSinkTests {
    @Test func windowIsOneBulkUpsertInMariaDB() async throws {
        let db = try MariaDBServer()
        let t = try TelemetryProcess(extra: ["upsert-max-rows 4"], window: "10s",
                                     sink: "mysql mysql://writer:secret@127.0.0.1:\(db.port)/factory table machine_heartbeat key machine_id")
        try await t.start()
        do {
            let before = try comInsert(db)
            let batch = (0..<10).map { heartbeat("press-\($0)", ts: "2026-11-21T10:00:00Z", "\"rpm\":\($0),\"on\":true") }
            #expect(try await t.post("[" + batch.joined(separator: ",") + "]").status == 202)
            // Newer for press-0 and an older one for press-1 in the same window.
            #expect(try await t.post(heartbeat("press-0", ts: "2026-11-21T10:00:05Z", "\"rpm\":500")).status == 202)
            #expect(try await t.post(heartbeat("press-1", ts: "2026-11-21T09:00:00Z", "\"rpm\":-1")).status == 202)
            // Graceful stop writes the open window once.
            await t.stop()
            #expect(try comInsert(db) - before == 3)  // 10 rows, upsert-max-rows 4 → 3 statements
            let rows = try db.sql("SELECT machine_id, ts, rpm, `on`, samples FROM factory.machine_heartbeat ORDER BY machine_id")
                .split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
            #expect(rows.count == 10)
            #expect(rows.first == ["press-0", "1795255205000", "500", "1", "2"])
            #expect(rows[1] == ["press-1", "1795255200000", "1", "1", "2"])
            // Replaying an older window changes nothing (restart, post an older record, let it flush).
            try await t.start()
            #expect(try await t.post(heartbeat("press-0", ts: "2026-11-21T09:59:00Z", "\"rpm\":7")).status == 202)
            await t.stop()
            let again = try db.sql("SELECT rpm, ts FROM factory.machine_heartbeat WHERE machine_id = 'press-0'")
            #expect(again.trimmingCharacters(in: .whitespacesAndNewlines) == "500\t1795255205000")
        } catch {
            Issue.record(error)
        }
        await t.stop()
        db.stop()
    }

    @Test func mariadbDownThenBackLosesNothing() async throws {
        let db = try MariaDBServer()
        let t = try TelemetryProcess(window: "200ms",
                                     sink: "mysql mysql://writer:secret@127.0.0.1:\(db.port)/factory table hb key machine_id")
        try await t.start()
        do {
            db.stop()
            for i in 0..<6 {
                #expect(try await t.post(heartbeat("m\(i % 2)", ts: "2026-11-21T10:00:0\(i)Z", "\"rpm\":\(i)")).status == 202)
            }
            let erroring = await waitUntilAsync(timeout: 20) { (try? await t.metric("sink_errors_total")) ?? 0 >= 2 }
            #expect(erroring)
            #expect(try await t.metric("committed_offset") == 0)
            try db.start()
            try await t.waitCommitted(6, timeout: 40)
            let rows = try db.sql("SELECT machine_id, rpm FROM factory.hb ORDER BY machine_id")
            #expect(rows == "m0\t4\nm1\t5\n")
        } catch {
            Issue.record(error)
        }
        await t.stop()
        db.stop()
    }
}

func comInsert(_ db: MariaDBServer) throws -> Int {
    let out = try db.sql("SHOW GLOBAL STATUS LIKE 'Com_insert'")
    guard let v = out.split(separator: "\t").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
        throw HarnessError.message("cannot read Com_insert from: \(out)")
    }
    return v
}
