import Foundation
import Testing

extension Integration {
    @Suite struct Errors {
        @Test("502 SH-- / 502 PH-- / 503 SC-- after retries / 504 sH--, with ERR-1 pages")
        func errorResponses() async throws {
            let closer = try await TestBackend.start("closer") { _ in .closeWithoutReply }
            let garbage = try await TestBackend.start("garbage") { _ in
                .garbage(Array("THIS IS NOT HTTP AT ALL\r\n\r\n".utf8))
            }
            let silent = try await TestBackend.start("silent") { _ in .never }
            let deadPort = Ports.free()   // nothing listens there
            let proxy = try await ProxyProcess { port in
                config(port: port, defaults: "    retries 1", timeouts: """
                    timeout connect 200
                    timeout client 10s
                    timeout server 300
                """, frontend: """
                    use_backend be_close if { path_beg /close }
                    use_backend be_garbage if { path_beg /garbage }
                    use_backend be_dead if { path_beg /dead }
                    use_backend be_silent if { path_beg /silent }
                """, backends: """
                backend be_close
                \(serverLine("s", closer))
                backend be_garbage
                \(serverLine("s", garbage))
                backend be_dead
                    server s 127.0.0.1:\(deadPort)
                backend be_silent
                \(serverLine("s", silent))
                """)
            }

            let r502a = try await oneShot(proxy.port, requestText("GET", "/close"))
            expectErrorPage(r502a, status: 502)
            let r502b = try await oneShot(proxy.port, requestText("GET", "/garbage"))
            expectErrorPage(r502b, status: 502)

            var t0 = nowMs()
            let r503 = try await oneShot(proxy.port, requestText("GET", "/dead"))
            let e503 = nowMs() - t0
            expectErrorPage(r503, status: 503)
            #expect(e503 < 3000, "503 after \(Int(e503)) ms (retries 1, timeout connect 200)")

            t0 = nowMs()
            let r504 = try await oneShot(proxy.port, requestText("GET", "/silent"))
            let e504 = nowMs() - t0
            expectErrorPage(r504, status: 504)
            #expect(e504 >= 250 && e504 <= 2000, "504 after \(Int(e504)) ms (timeout server 300)")

            let expectations: [(String, Int, String)] = [
                ("/close", 502, "SH--"), ("/garbage", 502, "PH--"), ("/dead", 503, "SC--"), ("/silent", 504, "sH--"),
            ]
            await proxy.waitForLogLines(4)
            for (path, status, tsc) in expectations {
                let line = await proxy.waitForLog(containing: "\"GET \(path) HTTP/1.1\"", timeout: 2)
                let parsed = line.flatMap(LogLine.init)
                #expect(parsed?.status == status, "\(path): \(line ?? "no log line")")
                #expect(parsed?.tsc == tsc, "\(path): \(line ?? "no log line")")
                if path == "/dead" {
                    #expect(parsed?.server == "s", "server name shown for connect failures (BE-7)")
                    #expect(parsed?.timers[2] == -1, "Tc = -1")
                    #expect(parsed?.counters.hasSuffix("/1") == true, "%rc = retries = 1: \(parsed?.counters ?? "")")
                }
            }
            await proxy.stop()
            await closer.stop(); await garbage.stop(); await silent.stop()
        }
    }
}
