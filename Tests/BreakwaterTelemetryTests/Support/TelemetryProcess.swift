import Foundation
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A running `breakwater proxy -f FILE` whose config holds one telemetry section on a free port, over a temp dir
/// that survives restarts (so a test can kill -9 and start again on the same log and database).
final class TelemetryProcess: @unchecked Sendable {
    let dir: URL
    let port: Int
    let configText: String
    private(set) var proc: ManagedProcess?
    private var runs = 0

    var logDir: String { dir.appendingPathComponent("log").path }
    var dbPath: String { dir.appendingPathComponent("sink/telemetry.db").path }

    /// `extra` lines go into the section (window, limits); `dbDir` overrides where the database lives.
    /// `log` replaces `log dir <temp>/log` (e.g. `redis-stream URL stream S group G`).
    init(extra: [String] = [], window: String = "300ms", dbPath: String? = nil, state: String = "memory", sink: String? = nil,
         log: String? = nil, prelude: [String] = []) throws {
        dir = try makeTempDir("telemetry")
        port = Ports.free()
        let db = dbPath ?? dir.appendingPathComponent("sink/telemetry.db").path
        if dbPath == nil { try FileManager.default.createDirectory(atPath: dir.appendingPathComponent("sink").path, withIntermediateDirectories: true) }
        configText = (prelude + [
            "telemetry scada",
            "    bind 127.0.0.1:\(port)",
            "    state \(state)",
            "    log " + (log ?? "dir \(dir.appendingPathComponent("log").path)"),
            "    window \(window)",
            "    sink " + (sink ?? "sqlite \(db) table machine_heartbeat key machine_id"),
        ] + extra.map { "    " + $0 }).joined(separator: "\n") + "\n"
        try configText.write(to: dir.appendingPathComponent("breakwater.cfg"), atomically: true, encoding: .utf8)
    }

    /// Starts the binary and waits until the port accepts.
    func start() async throws {
        runs += 1
        let runDir = dir.appendingPathComponent("run\(runs)")
        try FileManager.default.createDirectory(at: runDir, withIntermediateDirectories: true)
        let p = try ManagedProcess(executable: try breakwaterBinary(),
                                   arguments: ["proxy", "-f", dir.appendingPathComponent("breakwater.cfg").path], dir: runDir)
        proc = p
        let ok = await waitUntil(timeout: 20) { !p.isRunning || Ports.accepts(self.port) }
        if !ok || !p.isRunning {
            let err = p.stderr
            p.signal(SIGKILL)
            throw HarnessError.message("breakwater did not listen on 127.0.0.1:\(port); stderr:\n\(err)")
        }
    }

    func kill9() async {
        guard let p = proc else { return }
        p.signal(SIGKILL)
        _ = await p.waitExit(timeout: 5)
    }

    func stop() async { await proc?.stop(grace: 10) }

    deinit { try? FileManager.default.removeItem(at: dir) }

    // MARK: HTTP

    struct HTTPAnswer {
        var status: Int
        var body: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
    }

    func request(_ method: String, _ path: String, body: Data? = nil, contentType: String? = nil,
                 headers: [String: String] = [:]) async throws -> HTTPAnswer {
        var req = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        for (k, v) in headers { req.setValue(v, forHTTPHeaderField: k) }
        req.httpMethod = method
        req.httpBody = body
        req.timeoutInterval = 30
        if let contentType { req.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: req)
        return HTTPAnswer(status: (response as! HTTPURLResponse).statusCode, body: String(decoding: data, as: UTF8.self))
    }

    func post(_ body: String, contentType: String = "application/json") async throws -> HTTPAnswer {
        try await request("POST", "/v1/heartbeats", body: Data(body.utf8), contentType: contentType)
    }

    /// One metric's value from `GET /metrics` (the sample line `breakwater_telemetry_NAME{section="scada"} V`).
    func metric(_ name: String) async throws -> Double {
        let text = try await request("GET", "/metrics").body
        for line in text.split(separator: "\n") where line.hasPrefix("breakwater_telemetry_\(name){") {
            if let v = line.split(separator: " ").last.flatMap({ Double($0) }) { return v }
        }
        throw HarnessError.message("metric \(name) not found in:\n\(text)")
    }

    /// Waits until the coalescer has committed everything accepted (log lag 0 and `committed_offset >= n`).
    func waitCommitted(_ n: Int, timeout: Double = 30) async throws {
        let deadline = nowMs() + timeout * 1000
        while nowMs() < deadline {
            if try await metric("committed_offset") >= Double(n), try await metric("log_lag_records") == 0 { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw HarnessError.message("the coalescer did not commit \(n) records within \(timeout)s")
    }
}

/// A heartbeat as JSON text.
func heartbeat(_ id: String, ts: String, _ fields: String) -> String {
    "{\"machine_id\":\"\(id)\",\"ts\":\"\(ts)\",\"fields\":{\(fields)}}"
}

extension TelemetryProcess {
    /// `rounds` batches of 5 records for machines k0...k4 (round i: ts 10:i:00Z, rpm i*10+m), each expected 202; the
    /// records accepted and each machine's newest (ts in ms, rpm).
    func postNumberedBatches(rounds: Int) async throws -> (accepted: Int, newest: [String: (ts: Int64, rpm: Double)]) {
        var newest: [String: (ts: Int64, rpm: Double)] = [:]
        var accepted = 0
        for i in 0..<rounds {
            let batch = (0..<5).map { m in heartbeat("k\(m)", ts: "2026-11-21T10:\(String(format: "%02d", i)):00Z", "\"rpm\":\(i * 10 + m)") }
            let r = try await post("[" + batch.joined(separator: ",") + "]")
            #expect(r.status == 202, "\(r.body)")
            if r.status == 202 {
                accepted += 5
                for m in 0..<5 { newest["k\(m)"] = (Int64(1_795_255_200_000 + i * 60_000), Double(i * 10 + m)) }
            }
        }
        return (accepted, newest)
    }

    /// Rewrites `window 10s` to `window 300ms` and starts again on the same directories (after a kill -9).
    func restartWithShortWindow() async throws {
        let url = dir.appendingPathComponent("breakwater.cfg")
        let config = try String(contentsOf: url, encoding: .utf8)
        try config.replacingOccurrences(of: "window 10s", with: "window 300ms").write(to: url, atomically: true, encoding: .utf8)
        try await start()
    }
}
