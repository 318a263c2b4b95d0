import Foundation
import Testing

extension Integration {
    @Suite struct Balancing {
        @Test("roundrobin: equal weights alternate exactly")
        func roundRobinAlternates() async throws {
            let bs = try await echoBackends("s1", "s2")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: """
                backend be
                    balance roundrobin
                \(serverLine("s1", bs[0]))
                \(serverLine("s2", bs[1]))
                """)
            }
            var seen: [String] = []
            for i in 0..<10 {
                let r = try await oneShot(proxy.port, requestText("GET", "/rr/\(i)"))
                seen.append(r?.header("x-backend") ?? "none")
            }
            #expect(seen == ["s1", "s2", "s1", "s2", "s1", "s2", "s1", "s2", "s1", "s2"])
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("roundrobin: weights 1:3 give a 1:3 split over whole cycles")
        func roundRobinWeights() async throws {
            let bs = try await echoBackends("s1", "s2")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: """
                backend be
                    balance roundrobin
                \(serverLine("s1", bs[0], "weight 1"))
                \(serverLine("s2", bs[1], "weight 3"))
                """)
            }
            let c = try await RawClient.connect(port: proxy.port)
            var seen: [String] = []
            for i in 0..<40 {
                let r = try await c.exchange(requestText("GET", "/w/\(i)"))
                seen.append(r?.header("x-backend") ?? "none")
            }
            #expect(seen.filter { $0 == "s1" }.count == 10, "\(seen)")
            #expect(seen.filter { $0 == "s2" }.count == 30, "\(seen)")
            // Interleaved: s1 never waits more than one cycle (4 picks).
            for w in stride(from: 0, to: 40, by: 4) {
                #expect(seen[w..<(w + 4)].filter { $0 == "s1" }.count == 1, "cycle \(w / 4): \(seen[w..<(w + 4)])")
            }
            c.close()
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("leastconn: while one server holds a 2 s request, 10 short requests all go to the other")
        func leastConnSlowServer() async throws {
            let behavior: @Sendable (RecordedRequest) -> BackendAction = { r in
                r.path == "/slow" ? .delayed(ms: 2000, .echo) : .echo
            }
            let s1 = try await TestBackend.start("s1", behavior: behavior)
            let s2 = try await TestBackend.start("s2", behavior: behavior)
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: """
                backend be
                    balance leastconn
                \(serverLine("s1", s1))
                \(serverLine("s2", s2))
                """)
            }
            let slowClient = try await RawClient.connect(port: proxy.port)
            try await slowClient.send(requestText("GET", "/slow"))
            let held = await waitUntil(timeout: 3) { s1.inflight + s2.inflight == 1 }
            try #require(held, "the slow request reached a server")
            let holder = s1.inflight == 1 ? "s1" : "s2"
            #expect(holder == "s1", "at startup the first request goes to the first declared server (BE-4)")
            let other = holder == "s1" ? "s2" : "s1"
            var seen: [String] = []
            for i in 0..<10 {
                let r = try await oneShot(proxy.port, requestText("GET", "/short/\(i)"))
                #expect(r?.status == 200)
                seen.append(r?.header("x-backend") ?? "none")
            }
            #expect(seen == Array(repeating: other, count: 10), "\(seen)")
            let slow = await slowClient.waitForResponses(1, timeout: 5)
            #expect(slow.first?.status == 200)
            slowClient.close()
            await proxy.stop()
            await s1.stop()
            await s2.stop()
        }

        @Test("server maxconn 2: 20 concurrent slow requests, never more than 2 in flight, all 200")
        func queueingMaxconn() async throws {
            let s1 = try await TestBackend.start("s1") { _ in .delayed(ms: 200, .echo) }
            let proxy = try await ProxyProcess { port in
                config(port: port, defaults: "    timeout queue 20s", frontend: "    default_backend be", backends: """
                backend be
                \(serverLine("s1", s1, "maxconn 2"))
                """)
            }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        let r = try await oneShot(proxy.port, requestText("GET", "/q/\(i)"), timeout: 20)
                        return r?.status ?? -1
                    }
                }
                var out: [Int] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses.count == 20)
            #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
            #expect(s1.maxInflight <= 2, "backend saw \(s1.maxInflight) concurrent requests")
            #expect(s1.maxInflight == 2, "the two slots were used")
            #expect(s1.requestCount == 20)
            await proxy.stop()
            await s1.stop()
        }

        @Test("timeout queue 300: a queued request gets 503 sQ-- after about 300 ms")
        func queueTimeout() async throws {
            let s1 = try await TestBackend.start("s1") { r in
                r.path == "/slow" ? .delayed(ms: 2000, .echo) : .echo
            }
            let proxy = try await ProxyProcess { port in
                config(port: port, defaults: "    timeout queue 300", frontend: "    default_backend be", backends: """
                backend be
                \(serverLine("s1", s1, "maxconn 1"))
                """)
            }
            let slowClient = try await RawClient.connect(port: proxy.port)
            try await slowClient.send(requestText("GET", "/slow"))
            try #require(await waitUntil(timeout: 3) { s1.inflight == 1 }, "slow request in flight")
            let t0 = nowMs()
            let r = try await oneShot(proxy.port, requestText("GET", "/queued"))
            let elapsed = nowMs() - t0
            expectErrorPage(r, status: 503)
            #expect(elapsed >= 250 && elapsed <= 1500, "503 after \(Int(elapsed)) ms")
            #expect(s1.requests.contains { $0.path == "/queued" } == false, "queued request never reached the server")
            let line = await proxy.waitForLog(containing: "/queued")
            let parsed = line.flatMap(LogLine.init)
            #expect(parsed?.tsc == "sQ--", "log: \(line ?? "none")")
            #expect(parsed?.server == "<NOSRV>")
            #expect(parsed?.status == 503)
            if let t = parsed?.timers {
                #expect(t[1] >= 250, "Tw is the time waited: \(t)")
                #expect(t[2] == -1 && t[3] == -1, "Tc and Tr are -1: \(t)")
            }
            let slow = await slowClient.waitForResponses(1, timeout: 5)
            #expect(slow.first?.status == 200)
            slowClient.close()
            await proxy.stop()
            await s1.stop()
        }
    }
}
