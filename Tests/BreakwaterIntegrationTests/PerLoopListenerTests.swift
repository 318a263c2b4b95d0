import Foundation
import Testing

/// Each bind listens once per event loop (SO_REUSEPORT), and a hitless reload hands every one of those
/// sockets to the successor: the kernel hashes new connections to all members of the group, so a
/// socket left unpolled (or closed as a stray) would strand the connections queued on it.
extension Integration {
    @Suite struct PerLoopListeners {
        /// LISTEN sockets on 127.0.0.1:`port` in this network namespace (/proc/net/tcp, state 0A).
        static func listeningSockets(port: Int) -> Int {
            guard let text = try? String(contentsOfFile: "/proc/net/tcp", encoding: .utf8) else { return -1 }
            let local = String(format: "0100007F:%04X", port)
            return text.split(separator: "\n").dropFirst().filter { line in
                let fields = line.split(separator: " ")
                return fields.count > 3 && fields[1] == local && fields[3] == "0A"
            }.count
        }

        static func config(port: Int, threads: Int, pidfile: URL, backends: [TestBackend]) -> String {
            """
            global
                nbthread \(threads)
                pidfile \(pidfile.path)

            \(Cfg.defaults())
            frontend fe
                bind 127.0.0.1:\(port)
                default_backend be

            backend be
            \(serverLine("s1", backends[0]))
            """
        }

        @Test("one listener per loop; reloads to fewer and more threads adopt every socket and lose no request")
        func reloadAcrossThreadCounts() async throws {
            let bs = try await echoBackends("s1")
            let dir = try makeTempDir("perloop")
            let pidfile = dir.appendingPathComponent("bw.pid")
            let proxy = try await ProxyProcess(extraArgs: ["--grace-period", "5"]) { port in
                Self.config(port: port, threads: 2, pidfile: pidfile, backends: bs)
            }
            let port = proxy.port
            #expect(Self.listeningSockets(port: port) == 2, "nbthread 2: one listening socket per event loop")

            let failures = Locked(0)
            let successes = Locked(0)
            let stop = Locked(false)
            // A new connection per request, so each lands on whichever socket the kernel hashes it to.
            let client = Task {
                let deadline = nowMs() + 60_000
                while !stop.current && nowMs() < deadline {
                    let r = try? await oneShot(port, requestText("GET", "/r"), timeout: 5)
                    if r?.status == 200 { successes.withLock { $0 += 1 } } else { failures.withLock { $0 += 1 } }
                }
            }
            let cfgPath = proxy.proc.dir.appendingPathComponent("breakwater.cfg")
            var pids: Set<Int32> = [proxy.pid]
            // 2 -> 1: the successor serves both inherited sockets on its one loop; 1 -> 3: it adopts
            // both and opens a third on the same port; 3 -> 2: it serves all three on two loops.
            for (threads, expected) in [(1, 2), (3, 3), (2, 3)] {
                try await Task.sleep(nanoseconds: 300_000_000)
                try Self.config(port: port, threads: threads, pidfile: pidfile, backends: bs)
                    .write(to: cfgPath, atomically: true, encoding: .utf8)
                let pid = try #require(Reload.currentPID(pidfile))
                kill(pid, SIGUSR2)
                let changed = await waitUntil(timeout: 10) { (Reload.currentPID(pidfile) ?? pid) != pid }
                #expect(changed, "no successor took over (nbthread \(threads))")
                if let p = Reload.currentPID(pidfile) { pids.insert(p) }
                // Sockets, not descriptors: the predecessor's copies are the same sockets.
                let counted = await waitUntil(timeout: 5) { Self.listeningSockets(port: port) == expected }
                #expect(counted, "nbthread \(threads): \(Self.listeningSockets(port: port)) listening sockets, expected \(expected)")
            }
            try await Task.sleep(nanoseconds: 300_000_000)
            stop.withLock { $0 = true }
            _ = await client.value
            #expect(failures.current == 0, "failed requests during reloads: \(failures.current)")
            #expect(successes.current > 20)

            for p in pids where kill(p, 0) == 0 { kill(p, SIGTERM) }
            await waitUntil(timeout: 5) { pids.allSatisfy { kill($0, 0) != 0 } }
            for p in pids where kill(p, 0) == 0 { kill(p, SIGKILL) }
            await proxy.stop()
            await stopAll(bs)
        }
    }
}
