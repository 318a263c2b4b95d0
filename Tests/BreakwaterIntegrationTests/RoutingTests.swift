import Foundation
import Testing

extension Integration {
    @Suite struct Routing {
        @Test("ACL routing: path_beg, hdr(host) -i, method, unless, anonymous ACL, default_backend")
        func aclRouting() async throws {
            let bs = try await echoBackends("admin", "api", "static", "def")
            let (admin, api, stat, def) = (bs[0], bs[1], bs[2], bs[3])
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: """
                    acl is_api path_beg /api
                    acl host_admin hdr(host) -i admin.example.com
                    acl is_post method POST
                    use_backend be_admin if host_admin
                    use_backend be_api if is_api is_post
                    use_backend be_static unless { path_beg /dyn /api }
                    default_backend be_def
                """, backends: """
                backend be_admin
                \(serverLine("s", admin))
                backend be_api
                \(serverLine("s", api))
                backend be_static
                \(serverLine("s", stat))
                backend be_def
                \(serverLine("s", def))
                """)
            }
            let cases: [(String, String, String, String)] = [
                // method, path, host, expected backend
                ("GET", "/anything", "ADMIN.Example.COM", "admin"),
                ("POST", "/api/v1/items", "test.local", "api"),
                ("GET", "/api/v1/items", "test.local", "def"),      // is_post false; unless{/api} false
                ("GET", "/static/a.css", "test.local", "static"),
                ("GET", "/dyn/page", "test.local", "def"),
                ("GET", "/", "admin.example.com.evil", "static"),  // exact match only
            ]
            for (method, path, host, expected) in cases {
                let r = try await oneShot(proxy.port, requestText(method, path, host: host,
                                                                   body: method == "POST" ? "x" : nil))
                #expect(r?.status == 200, "\(method) \(path) host \(host)")
                #expect(r?.header("x-backend") == expected, "\(method) \(path) host \(host) → \(expected)")
            }
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("No backend selected → 503 <NOSRV> SC--, keep-alive stays open (FE-3, ERR-1)")
        func noBackend() async throws {
            let bs = try await echoBackends("ok")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: """
                    use_backend be_ok if { path_beg /ok }
                """, backends: "backend be_ok\n\(serverLine("s1", bs[0]))")
            }
            let c = try await RawClient.connect(port: proxy.port)
            let r = try await c.exchange(requestText("GET", "/nothing"))
            expectErrorPage(r, status: 503)
            let line = await proxy.waitForLog(containing: "/nothing")
            let parsed = line.flatMap(LogLine.init)
            #expect(parsed != nil, "log line parses: \(line ?? "none")")
            #expect(parsed?.backend == "fe")
            #expect(parsed?.server == "<NOSRV>")
            #expect(parsed?.tsc == "SC--")
            #expect(parsed?.status == 503)
            #expect(parsed?.timers.first == -1, "TR is -1 for no-backend requests (LOG-3)")
            // ERR-1: after a 503 the HTTP/1.1 connection stays open.
            let r2 = try await c.exchange(requestText("GET", "/ok/again"))
            #expect(r2?.status == 200, "second request on the same connection after 503")
            #expect(bs[0].requestCount == 1)
            c.close()
            await proxy.stop()
            await stopAll(bs)
        }
    }
}
