import Foundation
import Testing

extension Integration {
    @Suite struct Rules {
        @Test("deny → 403 keep-alive; return → local 200; set-header/del-header; forwardfor")
        func httpRequestRules() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: """
                    option forwardfor
                    http-request deny if { path_beg /forbidden }
                    http-request return status 200 content-type text/plain string ok if { path /ret }
                    http-request set-header X-Set hello
                    http-request del-header X-Remove
                    default_backend be
                """, backends: "backend be\n\(serverLine("s1", b))")
            }
            let c = try await RawClient.connect(port: proxy.port)
            let denied = try await c.exchange(requestText("GET", "/forbidden/x"))
            expectErrorPage(denied, status: 403)
            #expect(!c.isClosed, "connection stays open after deny")
            let second = try await c.exchange(requestText("GET", "/ok", headers: [("X-Set", "old"), ("X-Remove", "1"), ("X-Keep", "k")]))
            #expect(second?.status == 200, "second request on the same connection works")
            let ret = try await c.exchange(requestText("GET", "/ret"))
            #expect(ret?.status == 200)
            #expect(ret?.bodyText == "ok")
            #expect(ret?.header("content-type")?.hasPrefix("text/plain") == true)
            #expect(ret?.header("x-backend") == nil, "return is answered by the proxy")
            #expect(b.requestCount == 1, "only /ok reached the backend: \(b.requests.map(\.uri))")
            let seen = try #require(b.requests.first)
            #expect(seen.headerValues("x-set") == ["hello"], "set-header replaces: \(seen.headers)")
            #expect(seen.header("x-remove") == nil, "del-header removes")
            #expect(seen.header("x-keep") == "k")
            #expect(seen.header("x-forwarded-for") == "127.0.0.1", "forwardfor: \(seen.headers)")
            let line = await proxy.waitForLog(containing: "/forbidden/x")
            let p = line.flatMap(LogLine.init)
            #expect(p?.status == 403 && p?.tsc.hasPrefix("PR") == true, "deny logged PR--: \(line ?? "none")")
            #expect(p?.server == "<NOSRV>")
            c.close()
            await proxy.stop()
            await b.stop()
        }
    }
}
