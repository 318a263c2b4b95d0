import Foundation
import Testing

extension Integration {
    @Suite struct Logging {
        @Test("httplog line layout (LOG-3)")
        func httplogLayout() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
            let r = try await oneShot(proxy.port, requestText("GET", "/log/abc?x=1"))
            #expect(r?.status == 200)
            let line = await proxy.waitForLog(containing: "/log/abc")
            try #require(line != nil, "a log line was written; stdout: \(proxy.logLines)")
            let p = LogLine(line!)
            try #require(p != nil, "line matches the httplog layout: \(line!)")
            #expect(p!.clientIP == "127.0.0.1")
            #expect(p!.clientPort > 0)
            #expect(p!.frontend == "fe")
            #expect(p!.backend == "be")
            #expect(p!.server == "s1")
            #expect(p!.status == 200)
            #expect(p!.tsc == "----")
            #expect(p!.request == "GET /log/abc?x=1 HTTP/1.1")
            #expect(p!.timers.allSatisfy { $0 >= 0 }, "timers \(p!.timers)")
            #expect(p!.timers[4] >= p!.timers[3], "Ta >= Tr")
            #expect(Int(p!.bytes) ?? 0 > (r?.body.count ?? 0), "bytes include headers: \(p!.bytes)")
            #expect(p!.queues == "0/0")
            #expect(line!.contains(" - - ----"), "%CC %CS are '-'")
            await proxy.stop()
            await b.stop()
        }

        @Test("dontlognull: connect+close writes no line; without it HAProxy logs 400 <BADREQ> CR-- (PRX-4)")
        func dontlognull() async throws {
            for withOption in [true, false] {
                let b = try await TestBackend.start("s1")
                let proxy = try await ProxyProcess { port in
                    config(port: port, defaults: withOption ? "    option dontlognull" : "",
                           frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
                }
                // The harness's readiness probe was itself an empty connection: count from here.
                try await Task.sleep(nanoseconds: 200_000_000)
                let probeLines = proxy.logLines.filter { $0.contains("<BADREQ>") }.count
                let c = try await RawClient.connect(port: proxy.port)
                try await Task.sleep(nanoseconds: 100_000_000)
                c.close()
                try await Task.sleep(nanoseconds: 300_000_000)
                let r = try await oneShot(proxy.port, requestText("GET", "/after"))
                #expect(r?.status == 200)
                _ = await proxy.waitForLog(containing: "/after")
                try await Task.sleep(nanoseconds: 200_000_000)
                let lines = proxy.logLines
                let bad = Array(lines.filter { $0.contains("<BADREQ>") }.dropFirst(probeLines))
                if withOption {
                    #expect(bad.isEmpty, "dontlognull: \(lines)")
                    #expect(lines.filter { !$0.contains("<BADREQ>") }.count == 1, "only the real request is logged: \(lines)")
                } else {
                    #expect(bad.count == 1, "without dontlognull the empty connection is logged: \(lines)")
                    if let l = bad.first {
                        #expect(l.contains(" 400 ") && l.contains("CR--"), "\(l)")
                        #expect(LogLine(l) != nil, "BADREQ line keeps the layout: \(l)")
                    }
                }
                await proxy.stop()
                await b.stop()
            }
        }

        @Test("dontlog-normal: a 200 is not logged, a 503 is (PRX-5)")
        func dontlogNormal() async throws {
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                config(port: port, defaults: "    option dontlog-normal", frontend: """
                    use_backend be if { path_beg /ok }
                """, backends: "backend be\n\(serverLine("s1", b))")
            }
            let r1 = try await oneShot(proxy.port, requestText("GET", "/ok/1"))
            #expect(r1?.status == 200)
            let r2 = try await oneShot(proxy.port, requestText("GET", "/missing"))
            #expect(r2?.status == 503)
            let line = await proxy.waitForLog(containing: "/missing")
            #expect(line?.contains(" 503 ") == true, "503 logged: \(proxy.logLines)")
            try await Task.sleep(nanoseconds: 200_000_000)
            #expect(!proxy.logLines.contains { $0.contains("/ok/1") }, "normal 200 not logged: \(proxy.logLines)")
            await proxy.stop()
            await b.stop()
        }
    }
}
