import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

extension Integration {
    @Suite struct Signals {
        @Test("SIGTERM: in-flight request completes, new connections refused, exit 0")
        func sigtermDrain() async throws {
            let b = try await TestBackend.start("s1") { r in
                r.path == "/slow" ? .delayed(ms: 1000, .echo) : .echo
            }
            let proxy = try await ProxyProcess { port in
                config(port: port, frontend: "    default_backend be", backends: "backend be\n\(serverLine("s1", b))")
            }
            // Let the process install its signal handlers (it does so right after binding).
            let warm = try await oneShot(proxy.port, requestText("GET", "/warm"))
            #expect(warm?.status == 200)
            let c = try await RawClient.connect(port: proxy.port)
            try await c.send(requestText("GET", "/slow"))
            try #require(await waitUntil(timeout: 3) { b.inflight == 1 }, "slow request in flight")
            let t0 = nowMs()
            proxy.proc.signal(SIGTERM)
            let refused = await waitUntil(timeout: 0.6) { !Ports.accepts(proxy.port) }
            #expect(refused, "new connections refused after SIGTERM")
            let rs = await c.waitForResponses(1, timeout: 5)
            #expect(rs.first?.status == 200, "in-flight request completed")
            #expect(echoFields(rs.first?.bodyText ?? "")["uri"] == "/slow")
            let status = await proxy.proc.waitExit(timeout: 5)
            #expect(status == 0, "exit status \(String(describing: status)); stderr: \(proxy.proc.stderr)")
            #expect(nowMs() - t0 < 5000)
            c.close()
            await proxy.stop()
            await b.stop()
        }
    }
}
