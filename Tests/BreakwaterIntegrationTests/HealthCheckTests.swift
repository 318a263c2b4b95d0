import Foundation
import Testing

/// Active (HC) and passive (OBS) health checking against live loopback servers.
extension Integration {
    @Suite struct HealthChecks {
        /// HC-3/HC-4: a killed server goes DOWN after `fall` failed L4 checks and takes no traffic;
        /// revived, it comes back after `rise` passing checks.
        @Test("L4 check: DOWN after fall failures, no traffic while DOWN, UP after rise successes")
        func layer4DownAndUp() async throws {
            let good = try await TestBackend.start("good")
            let flakyPort = Ports.free()
            let flaky = try await TestBackend.start("flaky")
            let listener = PortListener(port: flakyPort)
            try await listener.start()
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: """
                backend be
                    balance roundrobin
                    option tcp-check
                \(serverLine("good", good, "check inter 300 rise 2 fall 2"))
                    server flaky 127.0.0.1:\(flaky.port) check port \(flakyPort) inter 400 fastinter 200 downinter 300 rise 2 fall 2
                """)
            }
            // Wait for the first checks to confirm both servers.
            try await Task.sleep(nanoseconds: 800_000_000)
            await listener.stop()
            let down = await proxy.waitForLog(containing: "Server be/flaky is DOWN", timeout: 6)
            #expect(down != nil, "no DOWN message; log:\n\(proxy.proc.stdout)")
            #expect(down?.contains("reason: Layer4 connection problem") == true)
            #expect(down?.contains("1 active and 0 backup servers left.") == true)
            let before = flaky.requestCount
            for _ in 0..<8 {
                let r = try await oneShot(proxy.port, requestText("GET", "/x"))
                #expect(r?.header("x-backend") == "good")
            }
            #expect(flaky.requestCount == before, "a DOWN server received traffic")
            try await listener.start()
            let up = await proxy.waitForLog(containing: "Server be/flaky is UP", timeout: 6)
            #expect(up != nil, "no UP message; log:\n\(proxy.proc.stdout)")
            var sawFlaky = false
            for _ in 0..<6 {
                let r = try await oneShot(proxy.port, requestText("GET", "/y"))
                if r?.header("x-backend") == "flaky" { sawFlaky = true }
            }
            #expect(sawFlaky, "a revived server should take traffic again")
            await listener.stop()
            await proxy.stop()
            await stopAll([good, flaky])
        }

        /// OBS-2..OBS-4: `observe layer7 error-limit N on-error mark-down` ejects a server answering
        /// 500s while the healthy one keeps serving; active checks bring it back.
        @Test("Passive ejection after error-limit consecutive 5xx, return via active checks")
        func passiveEjection() async throws {
            let good = try await TestBackend.start("good")
            let bad = try await TestBackend.start("bad") { _ in .respond(status: 500, headers: [("x-backend", "bad")], body: Array("boom".utf8)) }
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: """
                backend be
                    balance roundrobin
                    default-server check inter 10s fastinter 500 downinter 10s rise 2 fall 3 observe layer7 error-limit 5 on-error mark-down
                \(serverLine("good", good))
                \(serverLine("bad", bad))
                """)
            }
            try await Task.sleep(nanoseconds: 600_000_000)
            var statuses: [Int] = []
            for _ in 0..<10 {
                let r = try await oneShot(proxy.port, requestText("GET", "/p"))
                statuses.append(r?.status ?? -1)
            }
            #expect(statuses.filter { $0 == 500 }.count == 5, "the 5 errors are answered normally: \(statuses)")
            let down = await proxy.waitForLog(containing: "Server be/bad is DOWN", timeout: 3)
            #expect(down?.contains("reason: Health analyze") == true, "log:\n\(proxy.proc.stdout)")
            #expect(down?.contains("Detected 5 consecutive errors, last one was: Wrong http response") == true)
            for _ in 0..<6 {
                let r = try await oneShot(proxy.port, requestText("GET", "/after"))
                #expect(r?.status == 200)
            }
            // The port still accepts TCP: two passing fastinter checks bring it back (OBS-4).
            let up = await proxy.waitForLog(containing: "Server be/bad is UP", timeout: 5)
            #expect(up != nil, "log:\n\(proxy.proc.stdout)")
            await proxy.stop()
            await stopAll([good, bad])
        }

        /// HC-1: `option httpchk` with `http-check expect status` fails a server whose check URI
        /// answers another status.
        @Test("L7 check with expected status marks a wrong-status server DOWN")
        func layer7Check() async throws {
            let ok = try await TestBackend.start("ok")
            let sick = try await TestBackend.start("sick") { r in
                r.path == "/health" ? .respond(status: 503, headers: [], body: []) : .echo
            }
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: """
                backend be
                    option httpchk GET /health
                    http-check expect status 200
                \(serverLine("ok", ok, "check inter 300 rise 1 fall 1"))
                \(serverLine("sick", sick, "check inter 300 rise 1 fall 1"))
                """)
            }
            let down = await proxy.waitForLog(containing: "Server be/sick is DOWN", timeout: 5)
            #expect(down?.contains("Layer7 wrong status") == true, "log:\n\(proxy.proc.stdout)")
            #expect(proxy.logLines.first { $0.contains("Server be/ok is DOWN") } == nil)
            await proxy.stop()
            await stopAll([ok, sick])
        }

        /// SEED-1: the write-up's backend block (observe/error-limit/on-error as backend lines) runs,
        /// with warnings from `check` and errors under `--strict`.
        @Test("The write-up 1 backend block runs unchanged (addresses on loopback)")
        func seedBackendBlock() async throws {
            let p1 = try await TestBackend.start("pod_01")
            let p2 = try await TestBackend.start("pod_02")
            let block = { (port: Int) in """
                global
                log stdout format raw local0
                maxconn 250000
                tune.ssl.default-dh-param 2048

                defaults
                log global
                mode http
                option httplog
                option dontlognull
                option dontlog-normal
                timeout connect 4000
                timeout client 45000
                timeout server 45000

                frontend fe
                bind 127.0.0.1:\(port)
                default_backend poora_donation_cluster

                backend poora_donation_cluster
                mode http
                balance leastconn
                option tcp-check
                observe layer7
                error-limit 50
                on-error mark-down

                server pod_01 127.0.0.1:\(p1.port) check port \(p1.port) inter 10s fastinter 2s downinter 10s rise 2 fall 3
                server pod_02 127.0.0.1:\(p2.port) check port \(p2.port) inter 10s fastinter 2s downinter 10s rise 2 fall 3
                """ }
            let dir = try makeTempDir("seed")
            let cfg = dir.appendingPathComponent("seed.cfg")
            try block(Ports.free()).write(to: cfg, atomically: true, encoding: .utf8)
            let bin = try breakwaterBinary()
            let (code, out, err) = try await runProcess(bin, ["check", "-f", cfg.path])
            #expect(code == 0, "check failed: \(err)")
            #expect(out.contains("valid"))
            #expect(err.contains("warning") && err.contains("Breakwater extension"), "compatibility warnings expected:\n\(err)")
            let (strictCode, _, strictErr) = try await runProcess(bin, ["check", "--strict", "-f", cfg.path])
            #expect(strictCode == 1)
            #expect(strictErr.contains("seed.cfg:24: error"), "strict must reject the observe line:\n\(strictErr)")

            let proxy = try await ProxyProcess(block)
            var seen = Set<String>()
            for _ in 0..<4 {
                let r = try await oneShot(proxy.port, requestText("GET", "/donate"))
                #expect(r?.status == 200)
                if let b = r?.header("x-backend") { seen.insert(b) }
            }
            #expect(seen == ["pod_01", "pod_02"], "leastconn alternates sequential requests")
            await proxy.stop()
            await stopAll([p1, p2])
        }
    }
}

extension Integration {
    @Suite struct ShutdownSessions {
        /// BE-8: `on-marked-down shutdown-sessions` aborts the requests in progress on a server that
        /// goes DOWN; they are logged with `D` as first state character.
        @Test("on-marked-down shutdown-sessions aborts in-flight requests (D termination state)")
        func shutdownSessionsOnDown() async throws {
            let slow = try await TestBackend.start("slow") { _ in .delayed(ms: 5000, .echo) }
            let checkPort = Ports.free()
            let listener = PortListener(port: checkPort)
            try await listener.start()
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: """
                backend be
                    server slow 127.0.0.1:\(slow.port) check port \(checkPort) inter 300 rise 1 fall 1 on-marked-down shutdown-sessions
                """)
            }
            try await Task.sleep(nanoseconds: 500_000_000)
            let t0 = Date()
            async let response = oneShot(proxy.port, requestText("GET", "/long"), timeout: 10)
            try await Task.sleep(nanoseconds: 500_000_000)
            await listener.stop()
            let r = try await response
            #expect(Date().timeIntervalSince(t0) < 4, "the request was cut short, not served after 5 s")
            #expect(r?.status != 200)
            let line = await proxy.waitForLog(containing: "/long")
            #expect(line.map { $0.contains(" DH-- ") || $0.contains(" DD-- ") } == true, "\(line ?? "no line")")
            await proxy.stop()
            await slow.stop()
        }
    }
}
