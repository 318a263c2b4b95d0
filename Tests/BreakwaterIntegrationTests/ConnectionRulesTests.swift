import Foundation
import Testing

/// `tcp-request connection track-sc*` and `reject` (spec STK-9, ACT-2).
extension Integration {
    @Suite struct ConnectionRules {
        @Test("Connection-level tracking counts the connection once and every request on it; reject closes at accept")
        func trackAndReject() async throws {
            let b = try await TestBackend.start("s1")
            let dir = try makeTempDir("tcpreq")
            let sock = dir.appendingPathComponent("admin.sock").path
            let proxy = try await ProxyProcess { port in
                """
                global
                    log stdout format raw local0
                    stats socket \(sock) level admin

                \(Cfg.defaults())
                backend conns
                    stick-table type ip size 1k expire 60s store conn_cnt,conn_cur,http_req_cnt

                frontend fe
                    bind 127.0.0.1:\(port)
                    tcp-request connection reject if { src 127.0.0.9 }
                    tcp-request connection track-sc1 src table conns
                    default_backend be

                backend be
                \(serverLine("s1", b))
                """
            }
            // Four requests on one keep-alive connection from 127.0.0.4.
            let urls = (0..<4).map { "http://127.0.0.1:\(proxy.port)/c\($0)" }
            let (code, out, _) = try await runProcess("/usr/bin/curl", ["-s", "--interface", "127.0.0.4", "-w", "%{http_code}\\n"]
                                                      + urls.flatMap { ["-o", "/dev/null", $0] })
            #expect(code == 0)
            #expect(out.split(separator: "\n") == ["200", "200", "200", "200"])
            let table = try await adminCommand(sock, "show table conns key 127.0.0.4")
            #expect(table.contains("conn_cnt=1"), "one connection: \(table)")
            #expect(table.contains("http_req_cnt=4"), "every request on it counts: \(table)")
            #expect(table.contains("conn_cur=0"), "the connection is closed now: \(table)")

            // A rejected source gets no response and reaches no backend.
            let before = b.requestCount
            let (rcode, rout, _) = try await runProcess("/usr/bin/curl", ["-s", "--interface", "127.0.0.9", "-o", "/dev/null",
                                                                          "-w", "%{http_code}", urls[0]])
            #expect(rcode != 0, "curl must fail against a rejected connection")
            #expect(rout == "000")
            #expect(b.requestCount == before)
            await proxy.stop()
            await b.stop()
        }
    }
}
