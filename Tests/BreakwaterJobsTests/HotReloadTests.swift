import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Hot reload of a jobs section (`kill -USR2`): the successor binds the same address beside the old
/// process (SO_REUSEPORT), takes over, and the old one stops accepting, finishes its running jobs and exits.
/// Jobs that were running in the old process are neither re-queued by the successor nor lost: every
/// accepted job runs exactly once.
@Suite(.serialized) struct HotReloadTests {
    @Test func usr2ReloadHandsOverWithoutLosingOrRepeatingJobs() async throws {
        let bw = try await JobsProcess(name: "reload", extra: ["workers 2", "retries 0"])
        var successor: pid_t?
        defer {
            if let successor { kill(successor, SIGKILL) }
            Task { await bw.stop() }
        }
        try await bw.waitReady()
        var ids: [String] = []
        for _ in 0..<4 { ids.append(try await bw.submit("sleep 2")) }
        let running = await waitUntil(timeout: 20) { executionCount(bw) >= 1 }
        #expect(running)
        let oldPID = bw.proc.pid
        bw.proc.signal(SIGUSR2)
        // The successor is started by the old process with `-sf OLDPID`.
        let found = await waitUntil(timeout: 30) { successorPID(of: oldPID) != nil }
        #expect(found, "no successor started; stderr:\n\(bw.proc.stderr.suffix(2000))")
        successor = successorPID(of: oldPID)
        // Jobs keep being accepted across the hand-over (by the old process, then by the successor).
        var refused = 0
        let deadline = nowMs() + 30_000
        while bw.proc.isRunning && nowMs() < deadline {
            let r = try await bw.post("during-reload")
            if r.status == 202, let id = (try? json(r.body))?["id"] as? String { ids.append(id) } else { refused += 1 }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(!bw.proc.isRunning, "the old process did not exit after the hand-over")
        #expect(bw.proc.exitStatus == 0, "old process exit status \(String(describing: bw.proc.exitStatus)); stderr:\n\(crashExcerpt(bw.proc.stderr))")
        ids.append(try await bw.submit("after-reload"))  // the successor serves alone now
        let final = try await bw.waitFinal(ids, timeout: 90)
        for id in ids { #expect(final[id]?["state"] as? String == "done", "\(id): \(final[id] ?? [:])") }
        let ran = executions(bw)
        for id in ids {
            #expect(ran.filter { $0 == id }.count == 1, "job \(id) ran \(ran.filter { $0 == id }.count) times")
        }
        #expect(refused <= 1, "\(refused) POSTs were refused during the hand-over")
        if let successor { kill(successor, SIGTERM) }
        _ = await waitUntil(timeout: 10) { successor.map { kill($0, 0) != 0 } ?? true }
    }
}

/// The part of a process's stderr that explains a crash: from a little before Swift's "Fatal error" or crash
/// banner, else the tail.
private func crashExcerpt(_ stderr: String) -> String {
    for marker in ["Fatal error", "fatal error", "Program crashed", "Crash"] {
        if let r = stderr.range(of: marker) {
            let start = stderr.index(r.lowerBound, offsetBy: -800, limitedBy: stderr.startIndex) ?? stderr.startIndex
            return String(stderr[start...].prefix(4000))
        }
    }
    return String(stderr.suffix(2000))
}

private func executions(_ bw: JobsProcess) -> [String] {
    ((try? String(contentsOfFile: bw.executionsPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
}

private func executionCount(_ bw: JobsProcess) -> Int { executions(bw).count }

/// The process whose command line has `-sf OLDPID` (the reload successor), from /proc.
private func successorPID(of old: pid_t) -> pid_t? {
    for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(name), pid != old,
              let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { continue }
        let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        if let i = args.firstIndex(of: "-sf"), i + 1 < args.count, args[i + 1] == "\(old)", args.contains("proxy") { return pid }
    }
    return nil
}
