import Foundation
import Testing

/// Reload operations (issue 9, items 3–6): the admin sockets survive every hitless reload (UNIX and
/// TCP), a successor that fails leaves its predecessor's sockets alone, kept-alive clients see every
/// request answered across reloads, and listeners get HAProxy's backlog.
extension Integration {
    @Suite struct ReloadOperations {
        /// One admin command over a TCP stats socket, through socat (a real peer).
        static func adminTCP(_ port: Int, _ line: String) async throws -> String {
            let (code, out, err) = try await runProcess(
                "/usr/bin/socat", ["-t", "5", "-", "TCP:127.0.0.1:\(port)"], timeout: 10,
                stdinFeeder: { h in try? h.write(contentsOf: Data((line + "\n").utf8)) })
            if code != 0 { throw HarnessError.message("socat failed (\(code)): \(err)") }
            return out
        }

        /// One frontend on `port` in front of `backend`, with a pidfile and admin-level stats sockets.
        static func config(port: Int, backend: TestBackend, pidfile: String, admin: [String] = []) -> String {
            """
            global
                pidfile \(pidfile)
            \(admin.map { "    stats socket \($0) level admin" }.joined(separator: "\n"))

            \(Cfg.defaults())
            frontend fe
                bind 127.0.0.1:\(port)
                default_backend be

            backend be
            \(serverLine("s1", backend))

            """
        }

        static func pidLine(_ info: String) -> Int32? {
            info.split(separator: "\n").first { $0.hasPrefix("Pid: ") }.flatMap { Int32($0.dropFirst(5)) }
        }

        static func stopGenerations(_ pids: Set<Int32>) async {
            for p in pids where kill(p, 0) == 0 { kill(p, SIGTERM) }
            await waitUntil(timeout: 5) { pids.allSatisfy { kill($0, 0) != 0 } }
            for p in pids where kill(p, 0) == 0 { kill(p, SIGKILL) }
        }

        @Test("show info answers on a UNIX and a TCP stats socket after each of 10 reloads")
        func adminSocketsSurviveReloads() async throws {
            let bs = try await echoBackends("s1")
            let dir = try makeTempDir("reload-admin")
            let pidfile = dir.appendingPathComponent("bw.pid")
            let sock = dir.appendingPathComponent("admin.sock").path
            let adminPort = Ports.free()
            let proxy = try await ProxyProcess(extraArgs: ["--grace-period", "3"]) { port in
                Self.config(port: port, backend: bs[0], pidfile: pidfile.path,
                            admin: ["\(sock)", "ipv4@127.0.0.1:\(adminPort)"])
            }
            var pids: Set<Int32> = [proxy.pid]
            // The pidfile is written once the proxy serves, just after its port opens.
            await waitUntil(timeout: 5) { Reload.currentPID(pidfile) == proxy.pid }
            for round in 1...10 {
                let pid = try #require(Reload.currentPID(pidfile))
                kill(pid, SIGUSR2)
                let changed = await waitUntil(timeout: 10) { (Reload.currentPID(pidfile) ?? pid) != pid }
                #expect(changed, "round \(round): no successor took over")
                let now = try #require(Reload.currentPID(pidfile))
                pids.insert(now)
                // The predecessor exits; the socket file and the TCP port must still answer, from the successor.
                await waitUntil(timeout: 5) { kill(pid, 0) != 0 }
                #expect(FileManager.default.fileExists(atPath: sock), "round \(round): the socket file is gone")
                let unixInfo = try await adminCommand(sock, "show info")
                #expect(Self.pidLine(unixInfo) == now, "round \(round): UNIX socket: \(unixInfo.prefix(200))")
                let tcpInfo = try await Self.adminTCP(adminPort, "show info")
                #expect(Self.pidLine(tcpInfo) == now, "round \(round): TCP socket: \(tcpInfo.prefix(200))")
            }
            #expect(!proxy.proc.stderr.contains("Address already in use"), "\(proxy.proc.stderr)")
            await Self.stopGenerations(pids)
            #expect(!FileManager.default.fileExists(atPath: sock), "the last process removes its socket file")
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("A successor that fails to start leaves the old process's admin sockets as they were")
        func failedSuccessorLeavesSockets() async throws {
            let bs = try await echoBackends("s1")
            let dir = try makeTempDir("reload-fail")
            let pidfile = dir.appendingPathComponent("bw.pid")
            let sock = dir.appendingPathComponent("admin.sock").path
            let adminPort = Ports.free()
            // A port held by someone else (without SO_REUSEPORT): the successor's new bind must fail.
            let busy = PortListener(port: Ports.free())
            try await busy.start()
            let proxy = try await ProxyProcess(extraArgs: ["--grace-period", "3"]) { port in
                Self.config(port: port, backend: bs[0], pidfile: pidfile.path,
                            admin: ["\(sock)", "ipv4@127.0.0.1:\(adminPort)"])
            }
            await waitUntil(timeout: 5) { Reload.currentPID(pidfile) == proxy.pid }
            let inodeBefore = try FileManager.default.attributesOfItem(atPath: sock)[.systemFileNumber] as? Int
            let cfgPath = proxy.proc.dir.appendingPathComponent("breakwater.cfg")
            let good = try String(contentsOf: cfgPath, encoding: .utf8)
            try (good + "\nfrontend taken\n    bind 127.0.0.1:\(busy.port)\n    default_backend be\n")
                .write(to: cfgPath, atomically: true, encoding: .utf8)
            kill(proxy.pid, SIGUSR2)
            let failed = await waitUntil(timeout: 10) { proxy.proc.stderr.contains("before taking over") }
            #expect(failed, "the successor should have failed: \(proxy.proc.stderr)")
            #expect(proxy.proc.stderr.contains("cannot bind 127.0.0.1:\(busy.port)"), "\(proxy.proc.stderr)")
            #expect(kill(proxy.pid, 0) == 0, "the old process keeps serving")
            let inodeAfter = try FileManager.default.attributesOfItem(atPath: sock)[.systemFileNumber] as? Int
            #expect(inodeBefore != nil && inodeBefore == inodeAfter, "the socket file was replaced or removed")
            #expect(Self.pidLine(try await adminCommand(sock, "show info")) == proxy.pid)
            #expect(Self.pidLine(try await Self.adminTCP(adminPort, "show info")) == proxy.pid)
            #expect(try await oneShot(proxy.port, requestText("GET", "/still"))?.status == 200)
            await proxy.stop()
            await busy.stop()
            await stopAll(bs)
        }

        @Test("Keep-alive clients sending back to back across 10 reloads: every request answered")
        func keepAliveAcrossReloads() async throws {
            let bs = try await echoBackends("s1")
            let dir = try makeTempDir("reload-ka")
            let pidfile = dir.appendingPathComponent("bw.pid")
            let proxy = try await ProxyProcess(extraArgs: ["--grace-period", "5"]) { port in
                Self.config(port: port, backend: bs[0], pidfile: pidfile.path)
            }
            let port = proxy.port
            let stop = Locked(false)
            let answered = Locked(0)
            let unanswered = Locked<[String]>([])
            let reconnects = Locked(0)
            // Each client keeps one connection while the proxy keeps it open. A request on a reused
            // connection that is closed before any byte of the answer may be sent again once on a new
            // connection (what every HTTP client does); a request that gets nothing twice is lost.
            let clients = (0..<5).map { id in
                Task {
                    var conn = try? await RawClient.connect(port: port)
                    var n = 0
                    let deadline = nowMs() + 90_000
                    while !stop.current && nowMs() < deadline {
                        n += 1
                        var response: RawResponse?
                        for attempt in 0..<2 {
                            if conn == nil || conn!.isClosed {
                                conn = try? await RawClient.connect(port: port)
                                if attempt > 0 || n > 1 { reconnects.withLock { $0 += 1 } }
                            }
                            guard let c = conn else { continue }
                            let before = c.bytes.count
                            response = try? await c.exchange(requestText("GET", "/c\(id)/\(n)"), timeout: 10)
                            if response != nil { break }
                            if c.bytes.count > before || !c.isClosed { break }  // partial answer or a hang: no retry
                            conn = nil
                        }
                        if let r = response, r.status == 200 {
                            answered.withLock { $0 += 1 }
                            if r.header("connection")?.lowercased() == "close" {
                                _ = await conn?.waitClosed(timeout: 10)
                                conn = nil
                            }
                        } else {
                            unanswered.withLock { $0.append("client \(id) request \(n): \(response.map { "status \($0.status)" } ?? "no response")") }
                            conn?.close()
                            conn = nil
                        }
                    }
                    conn?.close()
                }
            }
            var pids: Set<Int32> = [proxy.pid]
            await waitUntil(timeout: 5) { Reload.currentPID(pidfile) == proxy.pid }
            for round in 1...10 {
                try await Task.sleep(nanoseconds: 300_000_000)
                let pid = try #require(Reload.currentPID(pidfile))
                kill(pid, SIGUSR2)
                let changed = await waitUntil(timeout: 10) { (Reload.currentPID(pidfile) ?? pid) != pid }
                #expect(changed, "round \(round): no successor took over")
                if let p = Reload.currentPID(pidfile) { pids.insert(p) }
            }
            try await Task.sleep(nanoseconds: 500_000_000)
            stop.withLock { $0 = true }
            for c in clients { _ = await c.value }
            #expect(unanswered.current.isEmpty, "unanswered: \(unanswered.current.prefix(10))")
            #expect(answered.current > 100, "answered \(answered.current)")
            #expect(reconnects.current >= 10, "clients should have been moved to the successors (\(reconnects.current) reconnects)")
            await Self.stopGenerations(pids)
            await proxy.stop()
            await stopAll(bs)
        }

        /// Send-Q of a listening socket in `ss -ltn` is its backlog.
        static func listenBacklog(port: Int) async throws -> Int? {
            let (_, out, _) = try await runProcess("/usr/bin/ss", ["-ltnH", "sport = :\(port)"], timeout: 10)
            let fields = out.split(separator: "\n").first?.split(separator: " ", omittingEmptySubsequences: true) ?? []
            return fields.count >= 3 ? Int(fields[2]) : nil
        }

        @Test("Listen backlog: bind backlog N, else the frontend maxconn, capped by net.core.somaxconn")
        func listenBacklog() async throws {
            let somaxconn = Int(try String(contentsOfFile: "/proc/sys/net/core/somaxconn", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines))!
            let bs = try await echoBackends("s1")
            let p2 = Ports.free(), p3 = Ports.free()
            let proxy = try await ProxyProcess { port in
                """
                global
                    maxconn 100000

                \(Cfg.defaults())
                frontend plain
                    bind 127.0.0.1:\(port)
                    default_backend be

                frontend limited
                    maxconn 300
                    bind 127.0.0.1:\(p2)
                    default_backend be

                frontend explicit
                    maxconn 300
                    bind 127.0.0.1:\(p3) backlog 77
                    default_backend be

                backend be
                \(serverLine("s1", bs[0]))
                """
            }
            #expect(try await Self.listenBacklog(port: proxy.port) == min(100_000, somaxconn))
            #expect(try await Self.listenBacklog(port: p2) == min(300, somaxconn))
            #expect(try await Self.listenBacklog(port: p3) == 77)
            await proxy.stop()
            await stopAll(bs)
        }
    }
}
