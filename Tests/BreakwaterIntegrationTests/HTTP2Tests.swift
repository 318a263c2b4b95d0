import Foundation
import Testing

/// HTTP/2 on a clear-text listener with prior knowledge (`bind … proto h2`), issue 5: each stream
/// is an independent request, and stream floods are cut off.
extension Integration {
    @Suite struct HTTP2 {
        static func h2Proxy(_ backends: [TestBackend]) async throws -> ProxyProcess {
            try await ProxyProcess { port in
                """
                \(Cfg.global)
                \(Cfg.defaults())
                frontend fe
                    bind 127.0.0.1:\(port) proto h2
                    http-request set-header x-edge h2
                    default_backend be

                backend be
                    balance roundrobin
                \(serverLine("s1", backends[0]))
                \(serverLine("s2", backends[1]))
                """
            }
        }

        @Test("h2c prior knowledge: concurrent streams each routed and logged as HTTP/2.0 requests")
        func concurrentStreams() async throws {
            let bs = try await echoBackends("s1", "s2")
            let proxy = try await Self.h2Proxy(bs)
            let (code, out, err) = try await runProcess("/usr/bin/h2load", ["-n", "60", "-c", "2", "-m", "10",
                                                                           "http://127.0.0.1:\(proxy.port)/h2"], timeout: 30)
            #expect(code == 0, "h2load failed: \(err)")
            #expect(out.contains("60 succeeded"), "\(out)")
            #expect(bs[0].requestCount + bs[1].requestCount == 60)
            #expect(bs[0].requestCount >= 20 && bs[1].requestCount >= 20, "roundrobin across streams")
            #expect(bs[0].requests.allSatisfy { $0.header("x-edge") == "h2" && $0.version == "HTTP/1.1" })
            let lines = await proxy.waitForLogLines(60)
            let h2Lines = lines.filter { $0.contains("\"GET http://127.0.0.1:\(proxy.port)/h2 HTTP/2.0\"") }
            #expect(h2Lines.count == 60, "absolute-form request lines: \(lines.prefix(3))")
            // curl speaks h2 too and gets the body.
            let r = try await curl(["--http2-prior-knowledge", "-w", "%{http_version}", "http://127.0.0.1:\(proxy.port)/c"])
            #expect(r.heads.last?.status == 200)
            #expect(r.stdout == "2", "curl negotiated HTTP/\(r.stdout)")
            await proxy.stop()
            await stopAll(bs)
        }

        /// CVE-2023-44487: HEADERS immediately cancelled by RST_STREAM, thousands of times. The
        /// connection must be cut off, memory must stay bounded and other clients keep being served.
        @Test("Rapid reset flood is cut off; the proxy keeps serving")
        func rapidReset() async throws {
            let bs = try await echoBackends("s1", "s2")
            let proxy = try await Self.h2Proxy(bs)
            let c = try await RawClient.connect(port: proxy.port)
            var bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
            bytes += frame(type: 4, flags: 0, stream: 0, payload: [])  // SETTINGS
            try await c.send(bytes)
            var stream: UInt32 = 1
            for _ in 0..<20 {
                var batch: [UInt8] = []
                for _ in 0..<250 {
                    // :method GET, :scheme http, :path /, :authority localhost (HPACK, RFC 7541).
                    let headers: [UInt8] = [0x82, 0x86, 0x84, 0x41, 0x09] + Array("localhost".utf8)
                    batch += frame(type: 1, flags: 0x05, stream: stream, payload: headers)
                    batch += frame(type: 3, flags: 0, stream: stream, payload: [0, 0, 0, 8])  // RST_STREAM CANCEL
                    stream += 2
                }
                if c.isClosed { break }
                try? await c.send(batch)
            }
            let closed = await c.waitClosed(timeout: 10)
            #expect(closed, "the flooding connection must be closed")
            #expect(containsGoAway(c.bytes), "a GOAWAY is sent before closing")
            if let rss = vmHWM(pid: proxy.pid) { #expect(rss < 200 * 1024 * 1024, "peak RSS \(rss)") }
            let r = try await curl(["--http2-prior-knowledge", "http://127.0.0.1:\(proxy.port)/after"])
            #expect(r.heads.last?.status == 200)
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("An oversized header list is refused without a backend request")
        func oversizedHeaders() async throws {
            let bs = try await echoBackends("s1", "s2")
            let proxy = try await Self.h2Proxy(bs)
            let big = String(repeating: "x", count: 40_000)
            let r = try await curl(["--http2-prior-knowledge", "-H", "x-big: \(big)", "http://127.0.0.1:\(proxy.port)/big"])
            #expect(r.heads.last?.status != 200, "a 40 KB header must not be accepted")
            #expect(bs[0].requestCount + bs[1].requestCount == 0)
            let ok = try await curl(["--http2-prior-knowledge", "http://127.0.0.1:\(proxy.port)/ok"])
            #expect(ok.heads.last?.status == 200)
            await proxy.stop()
            await stopAll(bs)
        }
    }
}

private func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
    let n = payload.count
    return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
            UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
}

/// Scans server frames for a GOAWAY (type 7), skipping the first SETTINGS etc.
private func containsGoAway(_ bytes: [UInt8]) -> Bool {
    var i = 0
    while i + 9 <= bytes.count {
        let len = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
        if bytes[i + 3] == 7 { return true }
        i += 9 + len
    }
    return false
}
