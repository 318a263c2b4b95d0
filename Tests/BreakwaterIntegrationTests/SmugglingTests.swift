import Foundation
import Testing

extension Integration {
    @Suite struct Smuggling {
        static let cases: [(String, String)] = [
            ("Content-Length with Transfer-Encoding",
             "POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("two different Content-Lengths",
             "POST /cl-cl HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
            ("obs-fold header line",
             "GET /fold HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n"),
            ("control character in the target",
             "GET /a\u{01}b HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("200 header lines",
             "GET /many HTTP/1.1\r\nHost: x\r\n" + (0..<200).map { "X-H-\($0): v\r\n" }.joined() + "\r\n"),
            ("one 100 KiB header",
             "GET /huge HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 100 * 1024) + "\r\n\r\n"),
        ]

        @Test("Smuggling and limit violations get 400 (or 431 for limits), close, never reach the backend",
              arguments: 0..<6)
        func refused(index: Int) async throws {
            let (name, text) = Smuggling.cases[index]
            let b = try await TestBackend.start("b")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s", b))")
            }
            let c = try await RawClient.connect(port: proxy.port)
            try? await c.send(text)
            let rs = await c.waitForResponses(1, timeout: 5)
            let status = rs.first?.status ?? -1
            if name.contains("header") && (name.hasPrefix("200") || name.hasPrefix("one")) {
                #expect(status == 400 || status == 431, "\(name): got \(status)")
            } else {
                #expect(status == 400, "\(name): got \(status)")
            }
            #expect(rs.count <= 1, "\(name): only one response (nothing smuggled): \(rs.map(\.status))")
            #expect(await c.waitClosed(timeout: 3), "\(name): connection closed after 400")
            try? await Task.sleep(nanoseconds: 200_000_000)
            #expect(b.headsSeen == 0, "\(name): backend saw \(b.headsSeen) request heads")
            #expect(b.requestCount == 0, "\(name): backend saw \(b.requestCount) requests")
            // (The harness's readiness probe logs its own empty-connection `<BADREQ>` `CR--` line.)
            let line = await proxy.waitForLog(containing: "PR-- ", timeout: 2)
            #expect(line?.contains("<BADREQ>") == true, "\(name): bad request logged <BADREQ> PR-- (FE-2): \(line ?? "none")")
            c.close()
            await proxy.stop()
            await b.stop()
        }

        @Test("Invalid chunk size → 400 and the backend never gets a complete request")
        func invalidChunkSize() async throws {
            let b = try await TestBackend.start("b")
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s", b))")
            }
            let c = try await RawClient.connect(port: proxy.port)
            try? await c.send("POST /chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
            let rs = await c.waitForResponses(1, timeout: 5)
            #expect(rs.first?.status == 400, "got \(rs.map(\.status))")
            #expect(await c.waitClosed(timeout: 3), "connection closed after 400")
            try? await Task.sleep(nanoseconds: 200_000_000)
            #expect(b.requestCount == 0, "backend got \(b.requestCount) complete requests")
            c.close()
            await proxy.stop()
            await b.stop()
        }
    }
}
