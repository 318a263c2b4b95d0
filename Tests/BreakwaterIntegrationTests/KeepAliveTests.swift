import Foundation
import Testing

extension Integration {
    @Suite struct KeepAlive {
        @Test("50 sequential requests on one client connection; server side pools connections")
        func reuseBothSides() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
            let c = try await RawClient.connect(port: proxy.port)
            var ok = 0
            for i in 0..<50 {
                let r = try await c.exchange(requestText("GET", "/ka/\(i)"))
                if r?.status == 200, echoFields(r?.bodyText ?? "")["uri"] == "/ka/\(i)" { ok += 1 }
                if c.isClosed { break }
            }
            #expect(ok == 50, "responses in order on one connection")
            #expect(!c.isClosed, "client connection still open")
            #expect(b.requestCount == 50)
            #expect(b.connectionCount <= 5, "backend saw \(b.connectionCount) TCP connections for 50 requests")
            c.close()
            await proxy.stop()
            await b.stop()
        }

        @Test("http-reuse always: 20 fresh client connections share pooled server connections (BE-9)")
        func reuseAlwaysAcrossClients() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: """
                backend be
                    http-reuse always
                \(serverLine("s1", b))
                """)
            }
            for i in 0..<20 {
                let r = try await oneShot(proxy.port, requestText("GET", "/fresh/\(i)"))
                #expect(r?.status == 200)
            }
            // With the default `http-reuse safe` a client's first request gets a connection of its
            // own (HAProxy does the same), so only `always` must reuse across clients.
            #expect(b.connectionCount <= 3, "backend saw \(b.connectionCount) TCP connections for 20 clients")
            await proxy.stop()
            await b.stop()
        }

        @Test("curl with 50 URLs uses one connection")
        func curlOneConnection() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
            var args = ["-sS", "--max-time", "30"]
            for i in 0..<50 {
                args += ["-o", "/dev/null", "-w", "%{http_code} %{num_connects}\\n", "http://127.0.0.1:\(proxy.port)/c/\(i)"]
            }
            let (code, out, err) = try await runProcess("/usr/bin/curl", args, timeout: 40)
            #expect(code == 0, "\(err)")
            let lines = out.split(separator: "\n").map { $0.split(separator: " ") }
            #expect(lines.count == 50)
            #expect(lines.allSatisfy { $0.first == "200" })
            let connects = lines.compactMap { $0.count > 1 ? Int($0[1]) : nil }.reduce(0, +)
            #expect(connects == 1, "curl opened \(connects) connections")
            #expect(b.connectionCount <= 5, "backend saw \(b.connectionCount) connections")
            await proxy.stop()
            await b.stop()
        }

        @Test("Pipelining: 3 requests in one write get 3 responses in order")
        func pipelining() async throws {
            let b = try await TestBackend.start("s1") { r in
                r.path == "/p1" ? .delayed(ms: 200, .echo) : .echo
            }
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send(requestText("GET", "/p1") + requestText("GET", "/p2") + requestText("GET", "/p3"))
            let rs = await c.waitForResponses(3, timeout: 10)
            #expect(rs.map(\.status) == [200, 200, 200])
            #expect(rs.map { echoFields($0.bodyText)["uri"] ?? "?" } == ["/p1", "/p2", "/p3"])
            c.close()
            await proxy.stop()
            await b.stop()
        }

        @Test("Expect: 100-continue with curl")
        func expectContinueCurl() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
            let dir = try makeTempDir("expect")
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("body")
            let data = Data(Payload.block(0))          // 64 KiB
            try data.write(to: file)
            let t0 = nowMs()
            let r = try await curl(["-H", "Expect: 100-continue", "--expect100-timeout", "5",
                                    "--data-binary", "@\(file.path)",
                                    "http://127.0.0.1:\(proxy.port)/upload"])
            let elapsed = nowMs() - t0
            #expect(r.exitCode == 0, "\(r.stderr)")
            #expect(r.heads.first?.status == 100, "interim 100 Continue received: \(r.heads.map(\.status))")
            #expect(r.status == 200)
            let f = echoFields(r.bodyText)
            var h = FNV1a(); h.update(data)
            #expect(f["bytes"] == String(data.count))
            #expect(f["hash"] == String(h.hash))
            #expect(elapsed < 4000, "curl did not have to wait for its expect timeout (\(Int(elapsed)) ms)")
            await proxy.stop()
            await b.stop()
        }

        @Test("Expect: 100-continue over a raw socket: 100 before the body, then 200")
        func expectContinueRaw() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
            let interim = await c.waitForResponses(1, timeout: 3)
            #expect(interim.first?.status == 100, "100 Continue before the body: \(interim.map(\.status))")
            try await c.send("hello")
            let all = await c.waitForResponses(2, timeout: 5)
            let final = all.first { $0.status >= 200 }
            #expect(final?.status == 200)
            #expect(echoFields(final?.bodyText ?? "")["bytes"] == "5")
            c.close()
            await proxy.stop()
            await b.stop()
        }
    }
}
