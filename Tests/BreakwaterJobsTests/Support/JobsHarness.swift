import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The job script the tests run: its behaviour is chosen by the payload. Every execution appends
/// `$BREAKWATER_JOB_ID` to `executions.log` first (at-least-once is checked from that file).
func jobScript(executions: String) -> String {
    """
    #!/bin/sh
    echo "$BREAKWATER_JOB_ID" >> '\(executions)'
    payload=$(cat)
    case "$payload" in
    leak) exec python3 -c 'a = []
    while True: a.append(bytearray(1 << 20))' ;;
    sleep*) sleep "${payload#sleep }"; printf 'slept' ;;
    exit*) printf 'exiting'; exit "${payload#exit }" ;;
    big) head -c 100000 /dev/zero | tr '\\000' x ;;
    fds) ls /proc/self/fd | tr '\\n' ' ' ;;
    *) printf 'ok:%s' "$payload" ;;
    esac
    """
}

/// A running `breakwater proxy -f` with one `jobs` section on a free loopback port.
final class JobsProcess: @unchecked Sendable {
    let port: Int
    let dir: URL
    let name: String
    let configText: String
    var proc: ManagedProcess
    var executionsPath: String { dir.appendingPathComponent("executions.log").path }

    /// `extra` lines go into the section after bind/queue/command. `amqpURL` switches the queue to
    /// `queue amqp URL queue NAME` (status table in the test's own `state-dir`).
    /// `python` replaces the shell job script with a Python program (for the reused-worker protocol); its
    /// text may use `EXECUTIONS` for the path of the executions log.
    init(name: String, extra: [String], amqpURL: String? = nil, python: String? = nil) async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else {
            throw HarnessError.message("python3 is required by the jobs tests (leaking job); install python3")
        }
        self.name = name
        port = Ports.free()
        dir = try makeTempDir("jobs")
        let script = dir.appendingPathComponent("job.sh")
        try jobScript(executions: dir.appendingPathComponent("executions.log").path)
            .write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o755)
        var command = "/bin/sh \(script.path)"
        if let python {
            let program = dir.appendingPathComponent("worker.py")
            try python.replacingOccurrences(of: "EXECUTIONS", with: dir.appendingPathComponent("executions.log").path)
                .write(to: program, atomically: true, encoding: .utf8)
            command = "/usr/bin/python3 \(program.path)"
        }
        let d = dir.path, p = port
        let queueLines = amqpURL.map { ["    queue amqp \($0) queue bw-\(name)-\(p)", "    state-dir \(d)/state"] }
            ?? ["    queue dir \(d)/queue"]
        configText = (["jobs \(name)", "    bind 127.0.0.1:\(port)"] + queueLines + ["    command \(command)"]
                      + extra.map { "    " + $0 }).joined(separator: "\n") + "\n"
        try configText.write(to: dir.appendingPathComponent("jobs.cfg"), atomically: true, encoding: .utf8)
        proc = try JobsProcess.launch(dir: dir, port: port)
    }

    private static func launch(dir: URL, port: Int) throws -> ManagedProcess {
        let bin = try breakwaterBinary()
        return try ManagedProcess(executable: bin, arguments: ["proxy", "-f", dir.appendingPathComponent("jobs.cfg").path], dir: dir)
    }

    func waitReady() async throws { try await waitForPort(port, proc: proc, name: "breakwater") }

    /// kill -9, then a fresh process on the same config and queue directory.
    func crashAndRestart() async throws {
        proc.signal(SIGKILL)
        _ = await proc.waitExit(timeout: 10)
        proc = try JobsProcess.launch(dir: dir, port: port)
        try await waitReady()
    }

    /// This test process's memory cgroup directory (the binary runs in the same one).
    static func ownMemoryCgroup() throws -> String {
        let text = try String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if parts.count == 3, parts[1].split(separator: ",").contains("memory") {
                return "/sys/fs/cgroup/memory" + (parts[2] == "/" ? "" : String(parts[2]))
            }
            if parts.count == 3, parts[0] == "0", parts[1].isEmpty, FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") {
                return "/sys/fs/cgroup" + (parts[2] == "/" ? "" : String(parts[2]))
            }
        }
        throw HarnessError.message("no memory cgroup found in /proc/self/cgroup: the jobs tests need a writable cgroup")
    }

    /// The section's parent cgroup, where each running job gets its own child.
    var parentCgroup: String {
        get throws { try JobsProcess.ownMemoryCgroup() + "/breakwater-jobs-\(name)-\(port)" }
    }

    /// Job cgroups that exist right now beneath the section's parent.
    func jobCgroups() throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: try parentCgroup)) ?? []).filter { $0.hasPrefix("job-") }
    }

    func post(_ payload: String) async throws -> CurlResult {
        try await curl(["-X", "POST", "--data-binary", payload, "http://127.0.0.1:\(port)/v1/jobs"])
    }

    /// Posts and returns the job id from the 202.
    func submit(_ payload: String) async throws -> String {
        let r = try await post(payload)
        guard r.status == 202, let id = (try? json(r.body))?["id"] as? String else {
            throw HarnessError.message("POST /v1/jobs answered \(r.status): \(r.bodyText) \(r.stderr)")
        }
        return id
    }

    func status(_ id: String) async throws -> [String: Any] {
        let r = try await curl(["http://127.0.0.1:\(port)/v1/jobs/\(id)"])
        guard r.status == 200 else { throw HarnessError.message("GET /v1/jobs/\(id) answered \(r.status): \(r.bodyText)") }
        return try json(r.body)
    }

    /// Polls until every job is final (done or dead); returns their statuses.
    func waitFinal(_ ids: [String], timeout: Double = 90) async throws -> [String: [String: Any]] {
        let deadline = nowMs() + timeout * 1000
        var result: [String: [String: Any]] = [:]
        while nowMs() < deadline {
            for id in ids where result[id] == nil {
                let s = try await status(id)
                if let st = s["state"] as? String, st == "done" || st == "dead" { result[id] = s }
            }
            if result.count == ids.count { return result }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw HarnessError.message("jobs not final after \(timeout)s: \(Set(ids).subtracting(result.keys)); stderr:\n\(proc.stderr.suffix(3000))")
    }

    func metrics() async throws -> String {
        try await curl(["http://127.0.0.1:\(port)/metrics"]).bodyText
    }

    /// Current resident set in bytes (VmRSS).
    func rss() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(proc.pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 2, let kb = Int(parts[1]) { return kb * 1024 }
        }
        return nil
    }

    func stop() async {
        await proc.stop(grace: 10)
        try? FileManager.default.removeItem(at: dir)
    }
}

func json(_ data: Data) throws -> [String: Any] {
    guard let o = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw HarnessError.message("not a JSON object: \(String(decoding: data, as: UTF8.self))")
    }
    return o
}
