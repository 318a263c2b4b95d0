import Foundation
import Testing

/// Starts HAProxy 2.6 on `config(port)` (a free port), or records why it cannot.
func startHAProxy(_ config: (Int) -> String) async throws -> (ManagedProcess, Int)? {
    guard FileManager.default.isExecutableFile(atPath: Integration.Differential.haproxyPath) else {
        Issue.record("haproxy is not installed at \(Integration.Differential.haproxyPath): scripts/install-test-deps.sh installs it")
        return nil
    }
    let port = Ports.free()
    let dir = try makeTempDir("haproxy")
    let cfg = dir.appendingPathComponent("haproxy.cfg")
    try config(port).write(to: cfg, atomically: true, encoding: .utf8)
    let p = try ManagedProcess(executable: Integration.Differential.haproxyPath, arguments: ["-f", cfg.path, "-db"], dir: dir)
    try await ProxyProcess.waitForPort(port, proc: p, name: "haproxy")
    return (p, port)
}

extension Integration {
    /// Issue 9 #1 and #2: absolute-form targets are split once (scheme in any case, authority off),
    /// every path fetch sees the path, and a target HAProxy refuses is refused (HAProxy side by side).
    @Suite struct AbsoluteTarget {
        static func frontend() -> String {
            """
                stats enable
                stats uri /stats-page
                http-request deny if { path_beg /admin }
                http-request deny if { hdr(host) -i admin.example }
                use_backend be_php if { path_end .php }
                default_backend be
            """
        }

        static func backends(_ web: TestBackend, _ php: TestBackend) -> String {
            "backend be\n\(serverLine("web", web))\nbackend be_php\n\(serverLine("php", php))"
        }

        /// (request, status both answer, server reached or "-")
        static let cases: [(String, Int, String)] = [
            ("GET HTTP://public.example/admin HTTP/1.1\r\nHost: public.example\r\n\r\n", 403, "-"),
            ("GET http://public.example/admin HTTP/1.1\r\nHost: public.example\r\n\r\n", 403, "-"),
            ("GET HtTpS://public.example/admin/x?y=1 HTTP/1.1\r\nHost: public.example\r\n\r\n", 403, "-"),
            ("GET HTTP://public.example/app/x.php?q HTTP/1.1\r\nHost: public.example\r\n\r\n", 200, "php"),
            ("GET http://admin.example/ HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, "-"),
            ("GET http://public.example/ok HTTP/1.1\r\nHost: public.example\r\n\r\n", 200, "web"),
            ("GET http://PUBLIC.example:80/ok HTTP/1.1\r\nHost: public.example\r\n\r\n", 200, "web"),
            ("GET HTTP://public.example/stats-page HTTP/1.1\r\nHost: public.example\r\n\r\n", 200, "-"),
            ("GET /x#frag HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, "-"),
            ("GET http://public.example/a#b HTTP/1.1\r\nHost: public.example\r\n\r\n", 400, "-"),
        ]

        static func observe(port: Int, web: TestBackend, php: TestBackend) async throws -> [(Int, String)] {
            var out: [(Int, String)] = []
            for (text, _, _) in cases {
                let before = (web.requestCount, php.requestCount)
                let status = try await oneShot(port, text)?.status ?? -1
                try? await Task.sleep(nanoseconds: 30_000_000)
                let server = web.requestCount > before.0 ? "web" : php.requestCount > before.1 ? "php" : "-"
                out.append((status, server))
            }
            return out
        }

        @Test("Absolute-form targets: upper-case scheme, authority ≠ Host, fragment — same answers as HAProxy 2.6")
        func sameAsHAProxy() async throws {
            let web = try await TestBackend.start("web")
            let php = try await TestBackend.start("php")
            let cfg = { (port: Int) in config(port: port, frontend: Self.frontend(), backends: Self.backends(web, php)) }
            guard let (haproxy, hport) = try await startHAProxy(cfg) else { return }
            let expected = try await Self.observe(port: hport, web: web, php: php)
            await haproxy.stop()
            let proxy = try await ProxyProcess(cfg)
            let actual = try await Self.observe(port: proxy.port, web: web, php: php)
            for (i, (text, status, server)) in Self.cases.enumerated() {
                let line = text.prefix { $0 != "\r" }
                #expect(expected[i] == (status, server), "haproxy: \(line) → \(expected[i])")
                #expect(actual[i] == (status, server), "breakwater: \(line) → \(actual[i])")
            }
            // An invalid port in the target's authority is refused (HAProxy 2.6.12 forwards it).
            for target in ["http://public.example:99999/", "http://public.example:8x/"] {
                let before = web.requestCount
                let r = try await oneShot(proxy.port, "GET \(target) HTTP/1.1\r\nHost: public.example\r\n\r\n")
                #expect(r?.status == 400, "\(target): \(r?.status ?? -1)")
                #expect(web.requestCount == before, "\(target) not forwarded")
            }
            let logged = await proxy.waitForLog(containing: "\"GET HTTP://public.example/admin HTTP/1.1\"")
            #expect(logged?.contains(" 403 ") == true, "the log shows the target as received: \(logged ?? "none")")
            await proxy.stop()
            await web.stop(); await php.stop()
        }

        @Test("FastCGI: an upper-case scheme cannot bypass a path rule; SCRIPT_NAME/PATH_INFO from the normalised path")
        func throughFastCGI() async throws {
            let fpm = try await PHPFPM.start(scripts: PHPFPM.testScripts)
            func cfg(_ port: Int) -> String {
                FastCGIDifferential.config(port: port, fpm: fpm, rules: "    http-request deny if { path_beg /admin }")
            }
            guard let (haproxy, hport) = try await startHAProxy(cfg) else { return }
            let proxy = try await ProxyProcess { cfg($0) }
            let keys = ["SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "SCRIPT_FILENAME", "HTTP_HOST"]
            for target in ["HTTP://h.example/index.php/extra/path?x=1", "hTtP://h.example/index.php"] {
                let args = ["-H", "Host: h.example", "--request-target", target]
                let h = try await curl(args + ["http://127.0.0.1:\(hport)/"])
                let b = try await curl(args + ["http://127.0.0.1:\(proxy.port)/"])
                #expect(h.status == 200 && b.status == 200, "\(target): haproxy \(h.status) breakwater \(b.status)")
                let hj = ((try? JSONSerialization.jsonObject(with: h.body)) as? [String: Any]) ?? [:]
                let bj = ((try? JSONSerialization.jsonObject(with: b.body)) as? [String: Any]) ?? [:]
                for k in keys {
                    let hv = hj[k].map { "\($0)" } ?? "absent"
                    let bv = bj[k].map { "\($0)" } ?? "absent"
                    #expect(hv == bv, "\(target) \(k): haproxy \(hv) breakwater \(bv)")
                }
            }
            let j = try await curl(["-H", "Host: h.example", "--request-target", "HTTP://h.example/index.php/extra/path?x=1",
                                    "http://127.0.0.1:\(proxy.port)/"]).body
            let bj = ((try? JSONSerialization.jsonObject(with: j)) as? [String: Any]) ?? [:]
            #expect(bj["SCRIPT_NAME"] as? String == "/index.php")
            #expect(bj["PATH_INFO"] as? String == "/extra/path")
            for target in ["HTTP://h.example/admin/index.php", "http://h.example/admin/index.php", "Https://h.example/admin/"] {
                let args = ["-H", "Host: h.example", "--request-target", target]
                let h = try await curl(args + ["http://127.0.0.1:\(hport)/"])
                let b = try await curl(args + ["http://127.0.0.1:\(proxy.port)/"])
                #expect(h.status == 403, "haproxy \(target): \(h.status)")
                #expect(b.status == 403, "breakwater \(target): \(b.status)")
            }
            await haproxy.stop()
            await proxy.stop()
            await fpm.stop()
        }
    }
}
