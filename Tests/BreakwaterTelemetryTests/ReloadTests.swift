import Foundation
import Testing

/// Hot reload (USR2) of a telemetry section with `log dir`: the successor binds the same port (SO_REUSEPORT), new
/// connections go to it, it waits for the old process to drain and release the log, then serves. The client is curl.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct TelemetryReloadTests {
    @Test func continuousIngestAcrossReload() async throws {
        let pidfile = try makeTempDir("reload-pid").appendingPathComponent("bw.pid").path
        let t = try TelemetryProcess(window: "300ms", prelude: ["global", "    pidfile \(pidfile)"])
        try await t.start()
        let old = t.proc!
        var failures: [String] = []
        var newest: [String: Double] = [:]
        var accepted = 0
        var afterExit = 0
        var i = 0
        // One client posting without pause (a new connection per request) before, during and after the reload.
        while i < 2000 && afterExit < 40 {
            let id = "r\(i % 25)"
            let ts = String(format: "2026-11-21T10:%02d:%02d.%03dZ", i / 6000 % 60, i / 100 % 60, i % 100 * 10)
            // curl, a new connection per request (URLSession's shared pool would mix in the other suites' waits).
            let r = try runTool("/usr/bin/curl", ["-s", "-m", "20", "-o", "-", "-w", "\n%{http_code}", "-H", "Content-Type: application/json",
                                                  "--data-binary", heartbeat(id, ts: ts, "\"rpm\":\(i)"), "http://127.0.0.1:\(t.port)/v1/heartbeats"])
            let status = r.output.split(separator: "\n").last.map(String.init) ?? ""
            if status == "202" {
                accepted += 1
                newest[id] = Double(i)
            } else {
                failures.append("request \(i): curl exit \(r.status), status \(status): \(r.output)")
            }
            if i == 30 { kill(old.pid, SIGUSR2) }
            if i > 30 && !old.isRunning { afterExit += 1 }
            i += 1
        }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(!old.isRunning, "the old process did not hand over")
        let successor = Int32((try? String(contentsOfFile: pidfile, encoding: .utf8))?.trimmed ?? "") ?? 0
        #expect(successor > 0 && successor != old.pid)
        do {
            try await t.waitCommitted(accepted)
            let rows = try readTable(t.dbPath)
            #expect(rows.count == newest.count)
            for (k, v) in newest { #expect(rows[k]?.rpm == v, "\(k)") }
        } catch {
            Issue.record(error)
        }
        if successor > 0 {
            kill(successor, SIGTERM)
            let gone = await waitUntil(timeout: 15) { kill(successor, 0) != 0 }
            if !gone { kill(successor, SIGKILL) }
        }
        await t.stop()
    }
}
