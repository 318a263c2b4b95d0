import Foundation
import NIOHPACK
import Testing

/// HTTP/2 stream-level errors, request targets and cookie crumbs (issue 9 items 2, 8, 9), each case
/// sent byte for byte to HAProxy 2.6 and to Breakwater on the same configuration: a malformed
/// stream is reset on its own (RST_STREAM), the connection and its other streams go on; a
/// connection error's GOAWAY names the last stream really opened.
extension Integration {
    @Suite struct HTTP2Streams {
        static func h2Config(port: Int, plain: Bool = false, backends: String) -> String {
            Cfg.global + Cfg.defaults()
                + "frontend fe\n    bind 127.0.0.1:\(port)\(plain ? "" : " proto h2")\n    default_backend be\n\n\(backends)\n"
        }

        static func backend(_ b: TestBackend) -> String {
            "backend be\n\(serverLine("s1", b))\n"
        }

        /// `/slow` answers after 400 ms, so a stream is still in flight when the next one fails.
        static func slowBackend(ms: Int = 400) async throws -> TestBackend {
            try await TestBackend.start("s1") { r in r.path.hasPrefix("/slow") ? .delayed(ms: ms, .echo) : .echo }
        }

        /// Runs `body` against HAProxy (if `compare`) and then Breakwater with the same configuration.
        static func sideBySide<T: Sendable>(_ cfg: @escaping @Sendable (Int) -> String,
                                            _ body: (Int) async throws -> T) async throws -> (haproxy: T, breakwater: T) {
            guard FileManager.default.isExecutableFile(atPath: Differential.haproxyPath) else {
                throw HarnessError.message("haproxy is not installed at \(Differential.haproxyPath): "
                    + "install it with `apt-get install -y haproxy` (scripts/install-test-deps.sh does)")
            }
            let hport = Ports.free()
            let hdir = try makeTempDir("haproxy")
            let hcfg = hdir.appendingPathComponent("haproxy.cfg")
            try cfg(hport).write(to: hcfg, atomically: true, encoding: .utf8)
            let haproxy = try ManagedProcess(executable: Differential.haproxyPath, arguments: ["-f", hcfg.path, "-db"], dir: hdir)
            try await ProxyProcess.waitForPort(hport, proc: haproxy, name: "haproxy")
            let h: T
            do { h = try await body(hport) } catch { await haproxy.stop(); throw error }
            await haproxy.stop()
            let proxy = try await ProxyProcess { cfg($0) }
            let b: T
            do { b = try await body(proxy.port) } catch { await proxy.stop(); throw error }
            await proxy.stop()
            return (h, b)
        }

        struct Outcome: Equatable, CustomStringConvertible {
            var reset: UInt32?
            var status: String?
            var description: String { reset.map { "RST_STREAM(\($0))" } ?? "status \(status ?? "none")" }
        }

        struct InFlight: Equatable, CustomStringConvertible {
            var bad: Outcome
            var inFlight: Outcome
            var goAway: Bool
            var after: Outcome
            var description: String { "bad stream \(bad), in-flight stream \(inFlight), GOAWAY \(goAway), next stream \(after)" }
        }

        static func outcome(_ c: H2Client, _ stream: UInt32) -> Outcome {
            Outcome(reset: c.reset(stream), status: c.reset(stream) == nil ? c.status(stream) : nil)
        }

        /// Stream 1 in flight, stream 3 malformed, then stream 5 on the same connection.
        static func malformedNextToInFlight(port: Int, _ extra: [(String, String)]) async throws -> InFlight {
            let c = try await H2Client.connect(port: port)
            try await c.sendRequest(stream: 1, path: "/slow")
            try await Task.sleep(nanoseconds: 50_000_000)
            try await c.sendRequest(stream: 3, path: "/bad", extra)
            await c.waitEnded([1, 3])
            try? await c.sendRequest(stream: 5, path: "/after")
            await c.waitEnded([5])
            defer { c.raw.close() }
            return InFlight(bad: outcome(c, 3), inFlight: outcome(c, 1), goAway: c.goAway != nil, after: outcome(c, 5))
        }

        @Test("A malformed stream is reset alone (PROTOCOL_ERROR); the in-flight stream completes, as in HAProxy",
              arguments: [
                  ("upper-case header name", [("X-Upper", "1")], true),
                  // RFC 9113 §8.1.1 makes it malformed; HAProxy 2.6 forwards it (README: deliberate difference).
                  ("content-length on a GET with END_STREAM", [("content-length", "5")], false),
                  ("te: gzip", [("te", "gzip")], true),
                  ("connection header", [("connection", "keep-alive")], true),
              ])
        func streamErrorIsolated(_ name: String, _ extra: [(String, String)], _ haproxyResets: Bool) async throws {
            let b = try await Self.slowBackend()
            let r = try await Self.sideBySide({ Self.h2Config(port: $0, backends: Self.backend(b)) }) { port in
                try await Self.malformedNextToInFlight(port: port, extra)
            }
            let expected = InFlight(bad: Outcome(reset: H2Client.protocolError), inFlight: Outcome(status: "200"),
                                    goAway: false, after: Outcome(status: "200"))
            var haproxyExpected = expected
            if !haproxyResets { haproxyExpected.bad = Outcome(status: "200") }
            #expect(r.haproxy == haproxyExpected, "\(name): haproxy \(r.haproxy)")
            #expect(r.breakwater == expected, "\(name): breakwater \(r.breakwater)")
            #expect(b.requests.filter { $0.path == "/bad" }.count == (haproxyResets ? 0 : 1),
                    "\(name): the malformed stream was forwarded by Breakwater")
            await b.stop()
        }

        @Test("One stream over SETTINGS_MAX_CONCURRENT_STREAMS is refused (REFUSED_STREAM), the others are served")
        func maxConcurrentStreams() async throws {
            let b = try await Self.slowBackend(ms: 1500)
            let r = try await Self.sideBySide({ Self.h2Config(port: $0, backends: Self.backend(b)) }) { port in
                let c = try await H2Client.connect(port: port)
                defer { c.raw.close() }
                // 101 streams in one write: 1, 3, …, 201.
                var bytes: [UInt8] = []
                for s in stride(from: UInt32(1), through: 201, by: 2) {
                    bytes += H2Client.frame(type: 1, flags: 0x05, stream: s, payload: H2Client.requestBlock(path: "/slow/\(s)"))
                }
                try await c.raw.send(bytes)
                let all = Array(stride(from: UInt32(1), through: 201, by: 2))
                await c.waitEnded(all, timeout: 20)
                let refused = all.filter { c.reset($0) == H2Client.refusedStream }
                let served = all.filter { c.status($0) == "200" }
                return [refused.count, served.count, c.goAway == nil ? 0 : 1, Int(c.maxConcurrentStreams ?? 0)]
            }
            #expect(r.haproxy == [1, 100, 0, 100], "haproxy: refused, served, GOAWAY, advertised \(r.haproxy)")
            #expect(r.breakwater == [1, 100, 0, 100], "breakwater: refused, served, GOAWAY, advertised \(r.breakwater)")
            await b.stop()
        }

        @Test("A connection error's GOAWAY carries the last stream opened, not 2^31-1")
        func goAwayLastStream() async throws {
            let b = try await Self.slowBackend()
            let r = try await Self.sideBySide({ Self.h2Config(port: $0, backends: Self.backend(b)) }) { port in
                let c = try await H2Client.connect(port: port)
                defer { c.raw.close() }
                try await c.sendRequest(stream: 1, path: "/a")
                try await c.sendRequest(stream: 3, path: "/b")
                await c.waitEnded([1, 3])
                // DATA on stream 0 is a connection error (RFC 9113 §6.1: PROTOCOL_ERROR).
                try await c.raw.send(H2Client.frame(type: 0, flags: 0, stream: 0, payload: [1, 2, 3]))
                await c.raw.waitClosed(timeout: 5)
                return [c.goAway?.lastStream ?? 999, c.goAway?.code ?? 999, c.raw.isClosed ? 1 : 0]
            }
            #expect(r.haproxy == [3, H2Client.protocolError, 1], "haproxy: last stream, code, closed \(r.haproxy)")
            #expect(r.breakwater == [3, H2Client.protocolError, 1], "breakwater: last stream, code, closed \(r.breakwater)")
            await b.stop()
        }

        @Test("Request targets HAProxy refuses are reset (PROTOCOL_ERROR) and never forwarded",
              arguments: [
                  ("absolute :path naming another authority", "http://admin.example/", "public.example", true, true),
                  ("absolute :path naming the same authority", "http://h2.test/same", "h2.test", true, true),
                  (":path without a leading slash", "admin", "h2.test", true, true),
                  ("fragment", "/p#frag", "h2.test", true, true),
                  // HAProxy 2.6 forwards these over HTTP/2 (it refuses them in HTTP/1.1 targets); Breakwater
                  // refuses both (README: deliberate difference — an invalid authority becomes the Host).
                  ("port out of range", "/p", "h2.test:99999", true, false),
                  ("port not a number", "/p", "h2.test:8x", true, false),
                  ("plain path", "/plain", "h2.test", false, false),
              ])
        func requestTargets(_ name: String, _ path: String, _ authority: String, _ refused: Bool,
                            _ haproxyRefuses: Bool) async throws {
            let b = try await Self.slowBackend()
            let r = try await Self.sideBySide({ Self.h2Config(port: $0, backends: Self.backend(b)) }) { port in
                let c = try await H2Client.connect(port: port)
                defer { c.raw.close() }
                try await c.sendRequest(stream: 1, path: path, authority: authority)
                await c.waitEnded([1])
                return Self.outcome(c, 1)
            }
            #expect(r.haproxy == (haproxyRefuses ? Outcome(reset: H2Client.protocolError) : Outcome(status: "200")),
                    "\(name): haproxy \(r.haproxy)")
            if refused {
                #expect(r.breakwater == Outcome(reset: H2Client.protocolError), "\(name): breakwater \(r.breakwater)")
                #expect(b.requestCount == (haproxyRefuses ? 0 : 1), "\(name): forwarded \(b.requests.map(\.uri))")
            } else {
                #expect(r.breakwater == Outcome(status: "200"), "\(name): breakwater \(r.breakwater)")
            }
            await b.stop()
        }

        @Test("Cookie crumbs reach an HTTP/1.1 server joined with '; ' (RFC 9113 §8.2.3), as through HAProxy")
        func cookieCrumbsHTTP1() async throws {
            let b = try await Self.slowBackend()
            let r = try await Self.sideBySide({ Self.h2Config(port: $0, backends: Self.backend(b)) }) { port in
                let c = try await H2Client.connect(port: port)
                defer { c.raw.close() }
                try await c.sendRequest(stream: 1, path: "/cookie", [("cookie", "s=1"), ("x-mid", "m"), ("cookie", "t=2")])
                await c.waitEnded([1])
                let seen = b.requests.last { $0.path == "/cookie" }
                return (seen?.headerValues("cookie") ?? []).joined(separator: " | ")
            }
            #expect(r.haproxy == "s=1; t=2")
            #expect(r.breakwater == r.haproxy, "haproxy \(r.haproxy), breakwater \(r.breakwater)")
            await b.stop()
        }

        @Test("Cookie crumbs reach php-fpm as one HTTP_COOKIE 's=1; t=2', as through HAProxy")
        func cookieCrumbsFastCGI() async throws {
            let fpm = try await PHPFPM.start(scripts: ["cookie.php": "<?php echo $_SERVER['HTTP_COOKIE'] ?? '-';"])
            let docroot = fpm.docroot.path
            let backends = """
            fcgi-app php
                docroot \(docroot)

            backend be
                use-fcgi-app php
                server fpm 127.0.0.1:\(fpm.port) proto fcgi
            """
            let r = try await Self.sideBySide({ Self.h2Config(port: $0, backends: backends) }) { port in
                let c = try await H2Client.connect(port: port)
                defer { c.raw.close() }
                try await c.sendRequest(stream: 1, path: "/cookie.php", [("cookie", "s=1"), ("cookie", "t=2")])
                await c.waitEnded([1])
                return c.body(1)
            }
            await fpm.stop()
            #expect(r.haproxy == "s=1; t=2")
            #expect(r.breakwater == r.haproxy, "haproxy \(r.haproxy), breakwater \(r.breakwater)")
        }
    }
}
