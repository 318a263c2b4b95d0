import Foundation
import Testing

extension Integration {
    @Suite struct Differential {
        static let haproxyPath = "/usr/sbin/haproxy"

        /// Hop-by-hop and per-proxy headers excluded from the comparison.
        static let ignored: Set<String> = [
            "x-forwarded-for", "connection", "keep-alive", "proxy-connection", "te", "trailer",
            "transfer-encoding", "upgrade",
        ]

        struct Observation: Equatable, CustomStringConvertible {
            var status: Int
            var server: String
            var method: String
            var uri: String
            var headers: [String]
            var description: String { "\(status) \(server) \(method) \(uri) \(headers)" }
        }

        static func frontendBody(api: [TestBackend], web: TestBackend) -> (String, String) {
            let fe = """
                option forwardfor
                acl is_api path_beg /api
                acl admin_host hdr(host) -i admin.example
                acl is_delete method DELETE
                http-request deny if { path_beg /admin }
                http-request set-header X-Set fixed
                http-request del-header X-Remove
                use_backend be_api if is_api || admin_host
                use_backend be_api if is_delete
                default_backend be_web
            """
            let be = """
            backend be_api
                balance roundrobin
                server a1 127.0.0.1:\(api[0].port)
                server a2 127.0.0.1:\(api[1].port)
            backend be_web
                server w1 127.0.0.1:\(web.port)
            """
            return (fe, be)
        }

        static let requests: [String] = [
            requestText("GET", "/api/users", host: "a.example"),
            requestText("GET", "/static/x.css"),
            requestText("POST", "/api/items", headers: [("Content-Type", "text/plain")], body: "hello"),
            requestText("GET", "/admin/panel"),
            requestText("GET", "/x", host: "ADMIN.EXAMPLE"),
            requestText("HEAD", "/head"),
            requestText("GET", "/q?a=1&b=2", headers: [("X-Remove", "yes"), ("X-Custom", "1")]),
            requestText("DELETE", "/thing/1"),
            requestText("GET", "/dup", headers: [("X-Dup", "1"), ("X-Dup", "2")]),
            requestText("GET", "/set", headers: [("X-Set", "client")]),
            requestText("GET", "/a%20b/%7Euser"),
            requestText("PUT", "/api/put", headers: [("X-Mixed-Case", "Value With Spaces")], body: "{}"),
            requestText("GET", "/api/again"),
            requestText("OPTIONS", "/opts"),
        ]

        static func observe(port: Int, backends: [TestBackend]) async throws -> [Observation] {
            var out: [Observation] = []
            for text in requests {
                let before = backends.map(\.requestCount)
                var status = -1
                if text.hasPrefix("HEAD ") {
                    // No body follows a HEAD response; read the status line only.
                    let c = try await RawClient.connect(port: port)
                    try await c.send(text)
                    await waitUntil(timeout: 5) { c.text.contains("\r\n\r\n") || c.isClosed }
                    status = Int(c.text.split(separator: " ").dropFirst().first ?? "") ?? -1
                    c.close()
                } else {
                    status = try await oneShot(port, text)?.status ?? -1
                }
                try? await Task.sleep(nanoseconds: 30_000_000)
                var server = "-"
                var rec: RecordedRequest?
                for (i, b) in backends.enumerated() where b.requestCount > before[i] {
                    server = b.name
                    rec = b.requests.last
                }
                let headers = (rec?.headers ?? [])
                    .filter { !ignored.contains($0.0.lowercased()) }
                    .map { "\($0.0.lowercased()): \($0.1)" }
                    .sorted()
                out.append(Observation(status: status, server: server,
                                       method: rec?.method ?? "-", uri: rec?.uri ?? "-", headers: headers))
            }
            return out
        }

        @Test("Same config and requests through HAProxy 2.6 and Breakwater: same statuses and forwarded requests")
        func differential() async throws {
            guard FileManager.default.isExecutableFile(atPath: Differential.haproxyPath) else {
                Issue.record("haproxy is not installed at \(Differential.haproxyPath): install it with `apt-get install -y haproxy` (the README's test command does)")
                return
            }
            let api = try await echoBackends("a1", "a2")
            let web = try await TestBackend.start("w1")
            let all = api + [web]
            let (fe, be) = Differential.frontendBody(api: api, web: web)

            // HAProxy first.
            let hport = Ports.free()
            let hdir = try makeTempDir("haproxy")
            let hcfg = hdir.appendingPathComponent("haproxy.cfg")
            try config(port: hport, frontend: fe, backends: be).write(to: hcfg, atomically: true, encoding: .utf8)
            let haproxy = try ManagedProcess(executable: Differential.haproxyPath,
                                             arguments: ["-f", hcfg.path, "-db"], dir: hdir)
            try await ProxyProcess.waitForPort(hport, proc: haproxy, name: "haproxy")
            let expected = try await Differential.observe(port: hport, backends: all)
            await haproxy.stop()

            let proxy = try await ProxyProcess { port in config(port: port, frontend: fe, backends: be) }
            let actual = try await Differential.observe(port: proxy.port, backends: all)
            await proxy.stop()

            #expect(expected.count == actual.count)
            // Guard against a vacuous comparison: HAProxy itself answered and forwarded.
            #expect(expected.filter { $0.status == 200 }.count >= 10, "haproxy observations: \(expected)")
            #expect(expected.contains { $0.status == 403 }, "haproxy denied /admin")
            for (i, (e, a)) in zip(expected, actual).enumerated() {
                let req = Differential.requests[i].split(separator: "\r\n").first ?? ""
                #expect(a.status == e.status, "\(req): status haproxy \(e.status) breakwater \(a.status)")
                #expect(a.server == e.server, "\(req): server haproxy \(e.server) breakwater \(a.server)")
                #expect(a.method == e.method && a.uri == e.uri, "\(req): forwarded line haproxy \(e.method) \(e.uri) breakwater \(a.method) \(a.uri)")
                #expect(a.headers == e.headers, "\(req): headers\n haproxy    \(e.headers)\n breakwater \(a.headers)")
            }
            // Both forwarded X-Forwarded-For.
            #expect(all.flatMap(\.requests).filter { $0.header("x-forwarded-for") == "127.0.0.1" }.count
                    == all.flatMap(\.requests).count)
            await stopAll(all)
        }
    }
}
