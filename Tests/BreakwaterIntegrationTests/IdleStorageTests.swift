import Foundation
import Testing

extension Integration {
    /// Idle client connections hand their head storage to the event loop's pool and take some back
    /// at the next request (possibly another connection's): heads of every size must still arrive
    /// byte for byte, on keep-alive and pipelined requests after idle periods.
    @Suite struct IdleStorage {
        /// Echoes the request's header lines in the body and sends `x-pad` back as a response header.
        static func echoHeaders(_ r: RecordedRequest) -> BackendAction {
            let lines = r.headers.map { "\($0.0): \($0.1)" }.joined(separator: "\n")
            return .respond(status: 200, headers: [("x-pad", r.header("x-pad") ?? ""), ("x-uri", r.uri)],
                            body: Array(lines.utf8))
        }

        static func pad(_ n: Int) -> String { String(repeating: "abcdefghij", count: n / 10 + 1).prefix(n).description }

        static func headers(client: Int, round: Int) -> [(String, String)] {
            // Sizes change every round so a connection gets storage sized by another's head.
            let extra = (0..<((client + round) % 4)).map { ("x-extra-\($0)", "v\(client)-\(round)-\($0)") }
            return [("x-pad", pad(10 + ((client * 7 + round * 13) % 5) * 300))] + extra
        }

        static func check(_ r: RawResponse?, uri: String, sent: [(String, String)],
                          sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r?.status == 200, sourceLocation: sourceLocation)
            #expect(r?.header("x-uri") == uri, sourceLocation: sourceLocation)
            #expect(r?.header("x-pad") == sent[0].1, "response head byte for byte", sourceLocation: sourceLocation)
            let received = (r?.bodyText ?? "").split(separator: "\n").map(String.init)
            let expected = ["Host: test.local"] + sent.map { "\($0.0): \($0.1)" }
            #expect(Array(received.prefix(expected.count)) == expected, "request head byte for byte",
                    sourceLocation: sourceLocation)
        }

        @Test("keep-alive requests after idle periods, storage passed between connections")
        func keepAliveAfterIdle() async throws {
            let b = try await TestBackend.start("s1", behavior: Self.echoHeaders)
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
            var clients: [RawClient] = []
            for _ in 0..<3 { clients.append(try await RawClient.connect(port: proxy.port)) }
            for round in 0..<4 {
                for (i, c) in clients.enumerated() {
                    let sent = Self.headers(client: i, round: round)
                    let uri = "/idle/\(round)/\(i)"
                    let r = try await c.exchange(requestText("GET", uri, headers: sent))
                    Self.check(r, uri: uri, sent: sent)
                }
                try await Task.sleep(nanoseconds: 150_000_000)  // every connection idle
            }
            // Pipelined after an idle period: three heads of different sizes in one write.
            let sent = (0..<3).map { Self.headers(client: $0 + 5, round: 9) }
            try await clients[0].send((0..<3).map { requestText("GET", "/pipe/\($0)", headers: sent[$0]) }.joined())
            let answered = 4  // one per round so far
            let rs = Array(await clients[0].waitForResponses(answered + 3, timeout: 10).dropFirst(answered))
            #expect(rs.count == 3)
            for (i, r) in rs.enumerated() { Self.check(r, uri: "/pipe/\(i)", sent: sent[i]) }
            for c in clients {
                #expect(!c.isClosed)
                c.close()
            }
            await proxy.stop()
            await b.stop()
        }
    }
}
