import Foundation
import Testing

/// h2c with prior knowledge on a plain HTTP bind (no `proto h2`), issue 9 item 10: like HAProxy, the
/// connection preface selects HTTP/2 on the same bind that serves HTTP/1.1.
extension Integration {
    @Suite struct HTTP2PlainBind {
        static func plainProxy(_ b: TestBackend, timeouts: String? = nil) async throws -> ProxyProcess {
            try await ProxyProcess { port in
                config(port: port, timeouts: timeouts, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
        }

        @Test("curl and h2load speak h2c with prior knowledge on a plain bind; HTTP/1.1 keeps working there")
        func priorKnowledgeOnPlainBind() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await Self.plainProxy(b)
            let base = "http://127.0.0.1:\(proxy.port)"
            let h2 = try await curl(["--http2-prior-knowledge", "-w", "%{http_version}", "\(base)/h2"])
            #expect(h2.heads.last?.status == 200)
            #expect(h2.stdout == "2", "curl spoke HTTP/\(h2.stdout)")
            let h1 = try await curl(["-w", "%{http_version}", "\(base)/h1"])
            #expect(h1.heads.last?.status == 200)
            #expect(h1.stdout == "1.1", "curl spoke HTTP/\(h1.stdout)")
            let (code, out, err) = try await runProcess("/usr/bin/h2load", ["-n", "40", "-c", "2", "-m", "5", "\(base)/load"], timeout: 30)
            #expect(code == 0, "h2load failed: \(err)")
            #expect(out.contains("40 succeeded"), "\(out)")
            #expect(b.requests.filter { $0.path == "/load" }.count == 40)
            // A request line that merely starts like the preface is still HTTP/1.1 (and refused as such).
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send("PRI / HTTP/1.1\r\nHost: x\r\n\r\n")
            let responses = await c.waitForResponses(1)
            #expect(responses.first != nil, "an HTTP/1.1 answer to a PRI request line")
            let lines = await proxy.waitForLogLines(43)
            #expect(lines.contains { $0.contains("\"GET http://127.0.0.1:\(proxy.port)/h2 HTTP/2.0\"") }, "\(lines.prefix(3))")
            #expect(lines.contains { $0.contains("\"GET /h1 HTTP/1.1\"") }, "\(lines.prefix(3))")
            await proxy.stop()
            await b.stop()
        }

        @Test("A stream with host and no :authority is served with that host (HAProxy serves it)")
        func hostWithoutAuthority() async throws {
            let b = try await TestBackend.start("s1")
            let r = try await Integration.HTTP2Streams.sideBySide({
                Integration.HTTP2Streams.h2Config(port: $0, plain: true, backends: Integration.HTTP2Streams.backend(b))
            }) { port in
                let c = try await H2Client.connect(port: port)
                defer { c.raw.close() }
                try await c.sendRequest(stream: 1, path: "/no-authority", authority: nil, [("host", "vhost.test")])
                await c.waitEnded([1])
                let seen = b.requests.last { $0.path == "/no-authority" }
                return [Integration.HTTP2Streams.outcome(c, 1).description, seen?.header("host") ?? "-"]
            }
            #expect(r.haproxy == ["status 200", "vhost.test"], "haproxy \(r.haproxy)")
            #expect(r.breakwater == r.haproxy, "breakwater \(r.breakwater)")
            await b.stop()
        }

        @Test("A silent connection on a plain bind still gets its 408 at timeout http-request")
        func silentClientTimesOut() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await Self.plainProxy(b, timeouts: "    timeout http-request 300ms\n    timeout client 5s\n    timeout connect 5s\n    timeout server 5s")
            let c = try await RawClient.connect(port: proxy.port)
            let closed = await c.waitClosed(timeout: 5)
            #expect(closed, "the silent connection must be closed")
            #expect(c.text.hasPrefix("HTTP/1.1 408"), "\(c.text)")
            await proxy.stop()
            await b.stop()
        }
    }
}
