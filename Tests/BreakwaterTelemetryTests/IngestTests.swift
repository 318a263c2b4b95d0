import Foundation
import GRDB
import Testing

/// Telemetry scenarios against the real binary (`breakwater proxy -f FILE` with one telemetry section on the
/// embedded defaults: state memory, log dir, sink sqlite). Serialized: each starts its own process on its own port.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TelemetryIngestTests {
    /// Accepted records reach the latest state (newer ts wins, older changes nothing) and the answers are the API's.
    @Test func ingestUpdatesLatestState() async throws {
        let t = try TelemetryProcess(window: "1s")
        try await t.start()
        defer { Task { await t.stop() } }
        let one = try await t.post(heartbeat("press-17", ts: "2026-11-21T10:00:00.123Z", "\"rpm\":1200,\"temp\":71.5,\"on\":true"))
        #expect(one.status == 202)
        #expect(one.json?["accepted"] as? Int == 1)
        // An array, one newer record for press-17 with one field, one older that must change nothing.
        let arr = "[" + heartbeat("press-17", ts: "2026-11-21T10:00:05Z", "\"rpm\":1300") + ","
            + heartbeat("press-17", ts: "2026-11-21T09:59:00Z", "\"rpm\":1,\"temp\":1") + ","
            + heartbeat("press-18", ts: "2026-11-21T10:00:00Z", "\"rpm\":7") + "]"
        let many = try await t.post(arr)
        #expect(many.status == 202)
        #expect(many.json?["accepted"] as? Int == 3)
        let nd = heartbeat("press-19", ts: "2026-11-21T10:00:00Z", "\"vibration\":0.02") + "\n"
            + heartbeat("press-19", ts: "2026-11-21T10:00:01Z", "\"vibration\":0.03") + "\n"
        #expect(try await t.post(nd, contentType: "application/x-ndjson").status == 202)

        let s17 = try await t.request("GET", "/v1/machines/press-17")
        #expect(s17.status == 200)
        let f17 = s17.json?["fields"] as? [String: Any]
        #expect(f17?["rpm"] as? Int == 1300)
        #expect(f17?["temp"] as? Double == 71.5)
        #expect(f17?["on"] as? Bool == true)
        #expect(s17.json?["ts"] as? String == "2026-11-21T10:00:05.000Z")
        let both = try await t.request("GET", "/v1/machines?ids=press-19,press-404")
        let machines = both.json?["machines"] as? [String: Any]
        #expect((machines?["press-19"] as? [String: Any]).flatMap { ($0["fields"] as? [String: Any])?["vibration"] as? Double } == 0.03)
        #expect(machines?["press-404"] is NSNull)
        #expect(try await t.request("GET", "/v1/machines/press-404").status == 404)
        #expect(try await t.metric("accepted_records_total") == 6)
    }

    /// A malformed record rejects the whole request (400 naming the first bad index); nothing is logged or applied.
    @Test func malformedInputRejectedWhole() async throws {
        let t = try TelemetryProcess(extra: ["max-body-size 2k", "max-fields 3", "max-key-length 16", "max-batch-records 4"], window: "1s")
        try await t.start()
        defer { Task { await t.stop() } }
        let good = heartbeat("m1", ts: "2026-11-21T10:00:00Z", "\"rpm\":1")
        let cases: [(String, String, Int?, String)] = [
            ("[" + good + "," + heartbeat("m2", ts: "yesterday", "\"rpm\":1") + "]", "application/json", 1, "'ts'"),
            ("[" + good + "," + good + ",{\"machine_id\":\"m3\",\"ts\":\"2026-11-21T10:00:00Z\",\"fields\":{\"rpm\":\"fast\"}}]", "application/json", 2, "number or a boolean"),
            ("[" + good + "," + heartbeat("this-id-is-far-too-long", ts: "2026-11-21T10:00:00Z", "\"rpm\":1") + "]", "application/json", 1, "max-key-length"),
            ("[" + good + "," + heartbeat("m2", ts: "2026-11-21T10:00:00Z", "\"a\":1,\"b\":2,\"c\":3,\"d\":4") + "]", "application/json", 1, "max-fields"),
            ("[" + good + "," + heartbeat("m2", ts: "2026-11-21T10:00:00Z", "\"ts\":1") + "]", "application/json", 1, "reserved"),
            ("[" + good + ",{\"machine_id\":\"m2\",\"ts\":\"2026-11-21T10:00:00Z\",\"fields\":{\"x\":1},\"extra\":1}]", "application/json", 1, "unknown member"),
            (good + "\n" + good + "\n{not json\n", "application/x-ndjson", 2, "not valid JSON"),
            ("[" + Array(repeating: good, count: 5).joined(separator: ",") + "]", "application/json", 4, "max-batch-records"),
        ]
        for (body, type, index, words) in cases {
            let r = try await t.post(body, contentType: type)
            #expect(r.status == 400, "\(body)")
            #expect(r.json?["index"] as? Int == index, "\(r.body)")
            #expect((r.json?["error"] as? String)?.contains(words) == true, "\(r.body)")
        }
        let notJSON = try await t.post("[{\"machine_id\":", contentType: "application/json")
        #expect(notJSON.status == 400)
        #expect(notJSON.json?["index"] is NSNull)
        #expect(try await t.post(good, contentType: "text/plain").status == 415)
        let huge = "[" + Array(repeating: good, count: 60).joined(separator: ",") + "]"
        #expect(try await t.post(huge).status == 413)
        // Nothing of any refused request is in the state or the log.
        #expect(try await t.request("GET", "/v1/machines/m1").status == 404)
        #expect(try await t.metric("accepted_records_total") == 0)
        #expect(try await t.metric("log_bytes") == 0)
        #expect(try await t.metric("rejected_requests_total") == Double(cases.count + 3))
    }

    /// One window → exactly one transaction of ceil(rows / upsert-max-rows) INSERT statements with the fold's rows.
    @Test func windowBecomesOneBulkUpsert() async throws {
        let t = try TelemetryProcess(extra: ["upsert-max-rows 1000"], window: "2s")
        try await t.start()
        defer { Task { await t.stop() } }
        var expected: [String: (Int64, Double)] = [:]
        for i in 0..<20 {
            var batch: [String] = []
            for m in 0..<10 {
                let ts = "2026-11-21T10:00:\(String(format: "%02d", i)).000Z"
                batch.append(heartbeat("m\(m)", ts: ts, "\"rpm\":\(i * 100 + m)"))
                expected["m\(m)"] = (Int64(1_795_255_200_000 + i * 1000), Double(i * 100 + m))
            }
            #expect(try await t.post("[" + batch.joined(separator: ",") + "]").status == 202)
        }
        try await t.waitCommitted(200)
        let windows = try await t.metric("windows_total")
        #expect(windows >= 1)
        #expect(try await t.metric("upsert_statements_total") == windows)
        #expect(try await t.metric("rows_written_total") == 10 * windows)
        let rows = try readTable(t.dbPath)
        #expect(rows.count == 10)
        for (k, v) in expected {
            #expect(rows[k]?.ts == v.0, "\(k)")
            #expect(rows[k]?.rpm == v.1, "\(k)")
        }
    }

    /// With upsert-max-rows 3 a window of 10 machines is 4 statements, all in the one window.
    @Test func bigWindowSplitsIntoStatementsOfAtMostNRows() async throws {
        let t = try TelemetryProcess(extra: ["upsert-max-rows 3"], window: "1s")
        try await t.start()
        defer { Task { await t.stop() } }
        let batch = (0..<10).map { heartbeat("m\($0)", ts: "2026-11-21T10:00:00Z", "\"rpm\":\($0)") }
        #expect(try await t.post("[" + batch.joined(separator: ",") + "]").status == 202)
        try await t.waitCommitted(10)
        #expect(try await t.metric("windows_total") == 1)
        #expect(try await t.metric("upsert_statements_total") == 4)
        #expect(try readTable(t.dbPath).count == 10)
    }
}

struct TableRow { var ts: Int64; var rpm: Double?; var samples: Int }

/// The sink table, read with GRDB from the test process.
func readTable(_ path: String) throws -> [String: TableRow] {
    let q = try DatabaseQueue(path: path)
    return try q.read { db in
        var out: [String: TableRow] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT machine_id, ts, rpm, samples FROM machine_heartbeat") {
            out[row["machine_id"]] = TableRow(ts: row["ts"], rpm: row["rpm"], samples: row["samples"])
        }
        return out
    }
}
