import Foundation
import Testing

/// Hitless reload under load (issue 3): USR2 starts a successor on the same listening sockets.
extension Integration {
    @Suite struct Reload {
        static func currentPID(_ pidfile: URL) -> Int32? {
            guard let text = try? String(contentsOf: pidfile, encoding: .utf8) else { return nil }
            return Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        @Test("10 reloads under a continuous client loop: zero failed requests; a broken config is refused")
        func reloadUnderLoad() async throws {
            let bs = try await echoBackends("s1", "s2")
            let dir = try makeTempDir("reload")
            let pidfile = dir.appendingPathComponent("bw.pid")
            let proxy = try await ProxyProcess(extraArgs: ["--grace-period", "5"]) { port in
                """
                global
                    pidfile \(pidfile.path)

                \(Cfg.defaults())
                frontend fe
                    bind 127.0.0.1:\(port)
                    default_backend be

                backend be
                \(serverLine("s1", bs[0]))
                \(serverLine("s2", bs[1]))
                """
            }
            let port = proxy.port
            let failures = Locked(0)
            let successes = Locked(0)
            let stop = Locked(false)
            // A bounded client loop: new connection per request, until told to stop (max 60 s).
            let client = Task {
                let deadline = nowMs() + 60_000
                while !stop.current && nowMs() < deadline {
                    let r = try? await oneShot(port, requestText("GET", "/r"), timeout: 5)
                    if r?.status == 200 { successes.withLock { $0 += 1 } } else { failures.withLock { $0 += 1 } }
                }
            }
            var pids: Set<Int32> = [proxy.pid]
            for _ in 0..<10 {
                try await Task.sleep(nanoseconds: 300_000_000)
                let pid = try #require(Self.currentPID(pidfile))
                kill(pid, SIGUSR2)
                let changed = await waitUntil(timeout: 10) { (Self.currentPID(pidfile) ?? pid) != pid }
                #expect(changed, "no successor took over")
                if let p = Self.currentPID(pidfile) { pids.insert(p) }
            }
            try await Task.sleep(nanoseconds: 300_000_000)
            stop.withLock { $0 = true }
            _ = await client.value
            #expect(failures.current == 0, "failed requests during reloads: \(failures.current)")
            #expect(successes.current > 50)

            // A broken configuration is refused; the running process keeps serving.
            let cfgPath = proxy.proc.dir.appendingPathComponent("breakwater.cfg")
            let good = try String(contentsOf: cfgPath, encoding: .utf8)
            try (good + "\nbackend broken\n    bogus-directive 1\n").write(to: cfgPath, atomically: true, encoding: .utf8)
            let current = try #require(Self.currentPID(pidfile))
            kill(current, SIGUSR2)
            try await Task.sleep(nanoseconds: 1_000_000_000)
            #expect(Self.currentPID(pidfile) == current)
            #expect(kill(current, 0) == 0, "the old process must keep running")
            #expect(try await oneShot(port, requestText("GET", "/still"))?.status == 200)
            #expect(proxy.proc.stderr.contains("reload refused"))

            // Stop every generation by PID.
            for p in pids where kill(p, 0) == 0 { kill(p, SIGTERM) }
            await waitUntil(timeout: 5) { pids.allSatisfy { kill($0, 0) != 0 } }
            for p in pids where kill(p, 0) == 0 { kill(p, SIGKILL) }
            await proxy.stop()
            await stopAll(bs)
        }
    }
}
