import Foundation
import Testing

/// HTTP/2 over TLS through ALPN and the `ssl_fc_*` fetches in rules (issue 5).
extension Integration {
    @Suite struct TLSRouting {
        @Test("ALPN h2 and http/1.1 over TLS 1.3; ssl_fc_sni / ssl_fc_protocol / ssl_fc in conditions; `~` in logs")
        func alpnAndTLSFetches() async throws {
            let dir = try makeTempDir("tls-route")
            let key = dir.appendingPathComponent("k.pem").path
            let crt = dir.appendingPathComponent("c.pem").path
            let (code, _, err) = try await runProcess("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", crt, "-days", "2", "-subj", "/CN=a.test", "-addext", "subjectAltName=DNS:a.test,DNS:b.test"])
            #expect(code == 0, "openssl: \(err)")
            let pem = dir.appendingPathComponent("a.pem")
            try (String(contentsOfFile: crt, encoding: .utf8) + String(contentsOfFile: key, encoding: .utf8))
                .write(to: pem, atomically: true, encoding: .utf8)
            let b = try await TestBackend.start("s1")
            let proxy = try await ProxyProcess { port in
                """
                \(Cfg.global)
                \(Cfg.defaults())
                frontend fe
                    bind 127.0.0.1:\(port) ssl crt \(pem.path) alpn h2,http/1.1 ssl-min-ver TLSv1.2
                    http-request deny unless { ssl_fc_sni -i a.test } { ssl_fc_protocol TLSv1.3 } { ssl_fc }
                    default_backend be

                backend be
                \(serverLine("s1", b))
                """
            }
            func get(_ host: String, _ version: String, _ extra: [String] = []) async throws -> (Int, String) {
                let r = try await curl(["-k", version, "--resolve", "\(host):\(proxy.port):127.0.0.1", "-w", "%{http_version}"]
                                       + extra + ["https://\(host):\(proxy.port)/t"])
                if r.status == 0 { Issue.record("curl \(host) \(version) \(extra): exit \(r.exitCode) \(r.stderr)") }
                return (r.status, r.stdout)
            }
            #expect(try await get("a.test", "--http2") == (200, "2"))
            #expect(try await get("a.test", "--http1.1") == (200, "1.1"))
            #expect(try await get("b.test", "--http2").0 == 403, "wrong SNI is denied")
            #expect(try await get("a.test", "--http1.1", ["--tls-max", "1.2"]).0 == 403, "TLS 1.2 is denied by ssl_fc_protocol")
            let lines = await proxy.waitForLogLines(4)
            #expect(lines.contains { $0.contains(" fe~ be/s1 ") && $0.contains("\"GET https://a.test:\(proxy.port)/t HTTP/2.0\"") },
                    "\(lines)")
            #expect(lines.contains { $0.contains(" fe~ fe/<NOSRV> ") && $0.contains(" 403 ") && $0.contains("PR--") })
            await proxy.stop()
            await b.stop()
        }
    }
}
