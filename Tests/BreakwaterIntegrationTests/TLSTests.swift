import Foundation
import Testing

/// TLS termination end to end (issue 5, spec §11, CLI-9, CLI-10): real clients (curl, openssl
/// s_client), two Breakwater instances sharing one ticket-key file, and HAProxy 2.6 in the same
/// fleet. Enabled once the parser accepts `bind … ssl` (probe below).
extension Integration {
    @Suite(.serialized)
    struct TLS {
        @Test("curl --http1.1 over TLS 1.3 with ALPN; the backend answers")
        func curlOverTLS13() async throws {
            let env = try await TLSSupport.make()
            let bs = try await echoBackends("s1")
            let proxy = try await TLSSupport.proxy(env, backend: bs[0])
            let r = try await curl(["--insecure", "--http1.1", "--tlsv1.3", "-v", "--resolve", "a.test:\(proxy.port):127.0.0.1",
                                    "https://a.test:\(proxy.port)/x"])
            #expect(r.status == 200)
            #expect(r.stderr.contains("ALPN: server accepted http/1.1") || r.stderr.contains("server accepted to use http/1.1"))
            #expect(r.stderr.contains("TLSv1.3"))
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("A ticket from instance A resumes on instance B (same key file)")
        func resumptionAcrossInstances() async throws {
            let env = try await TLSSupport.make()
            let bs = try await echoBackends("s1")
            let a = try await TLSSupport.proxy(env, backend: bs[0])
            let b = try await TLSSupport.proxy(env, backend: bs[0])
            let sess = env.dir.appendingPathComponent("sess").path
            #expect(try await TLSSupport.sClient(a.port, ["-tls1_3", "-sess_out", sess]).contains("New, TLSv1.3"))
            #expect(try await TLSSupport.sClient(b.port, ["-tls1_3", "-sess_in", sess]).contains("Reused, TLSv1.3"))
            await a.stop(); await b.stop(); await stopAll(bs)
        }

        @Test("HAProxy 2.6 and Breakwater sharing one key file resume each other's sessions")
        func haproxyInterop() async throws {
            let env = try await TLSSupport.make()
            let bs = try await echoBackends("s1")
            let bw = try await TLSSupport.proxy(env, backend: bs[0])
            let hp = try await TLSSupport.haproxy(env, backend: bs[0])
            for v in ["-tls1_3", "-tls1_2"] {
                let s1 = env.dir.appendingPathComponent("h\(v)").path, s2 = env.dir.appendingPathComponent("b\(v)").path
                _ = try await TLSSupport.sClient(hp.port, [v, "-sess_out", s1])
                #expect(try await TLSSupport.sClient(bw.port, [v, "-sess_in", s1]).contains("Reused"))
                _ = try await TLSSupport.sClient(bw.port, [v, "-sess_out", s2])
                #expect(try await TLSSupport.sClient(hp.port, [v, "-sess_in", s2]).contains("Reused"))
            }
            await hp.stop(); await bw.stop(); await stopAll(bs)
        }

        @Test("After three 'set ssl tls-key' rotations on B the old ticket no longer resumes")
        func rotationRetiresTickets() async throws {
            let env = try await TLSSupport.make()
            let bs = try await echoBackends("s1")
            let a = try await TLSSupport.proxy(env, backend: bs[0])
            let b = try await TLSSupport.proxy(env, backend: bs[0])
            let sess = env.dir.appendingPathComponent("sess").path
            _ = try await TLSSupport.sClient(a.port, ["-tls1_3", "-sess_out", sess])
            let show = try await adminCommand(b.socket, "show tls-keys")
            #expect(show == "# id (file)\n0 (\(env.keys))\n\n")
            let key = Data((0..<48).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
            #expect(try await adminCommand(b.socket, "set ssl tls-key \(env.keys) \(key)") == "TLS ticket key updated!\n\n")
            #expect(try await TLSSupport.sClient(b.port, ["-tls1_3", "-sess_in", sess]).contains("Reused"))
            for _ in 0..<2 {
                let k = Data((0..<48).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
                #expect(try await adminCommand(b.socket, "set ssl tls-key #0 \(k)") == "TLS ticket key updated!\n\n")
            }
            let after = try await TLSSupport.sClient(b.port, ["-tls1_3", "-sess_in", sess])
            #expect(after.contains("New, TLSv1.3"))
            // Still resumes on A, which was not rotated.
            #expect(try await TLSSupport.sClient(a.port, ["-tls1_3", "-sess_in", sess]).contains("Reused"))
            await a.stop(); await b.stop(); await stopAll(bs)
        }

        @Test("SNI picks exact, then wildcard, else the first certificate of the directory")
        func sniSelection() async throws {
            let env = try await TLSSupport.make(extraCert: true)
            let bs = try await echoBackends("s1")
            let proxy = try await TLSSupport.proxy(env, backend: bs[0], crt: env.certDir + "/")
            #expect(try await TLSSupport.sClient(proxy.port, ["-servername", "www.shop.test"]).contains("subject=CN = shop.test"))
            #expect(try await TLSSupport.sClient(proxy.port, ["-servername", "shop.test"]).contains("subject=CN = shop.test"))
            #expect(try await TLSSupport.sClient(proxy.port, ["-servername", "x.y.shop.test"]).contains("subject=CN = a.test"))
            #expect(try await TLSSupport.sClient(proxy.port, []).contains("subject=CN = a.test"))
            await proxy.stop(); await stopAll(bs)
        }

        @Test("A bad key file, a missing certificate and a key/certificate mismatch are clear config errors")
        func configErrors() async throws {
            let env = try await TLSSupport.make()
            let bad = env.dir.appendingPathComponent("bad.key").path
            try "not-base64!\n".write(toFile: bad, atomically: true, encoding: .utf8)
            let mismatch = env.dir.appendingPathComponent("mismatch.pem").path
            let certOnly = try String(contentsOfFile: env.certDir + "/10-a.pem", encoding: .utf8).components(separatedBy: "-----BEGIN PRIVATE KEY-----")[0]
            let otherKey = try String(contentsOfFile: env.dir.appendingPathComponent("other.key").path, encoding: .utf8)
            try (certOnly + otherKey).write(toFile: mismatch, atomically: true, encoding: .utf8)
            let cases: [(String, String)] = [
                ("crt \(env.certDir)/10-a.pem tls-ticket-keys \(bad)", "unable to decode base64 key on line 1"),
                ("crt \(env.dir.path)/missing.pem", "unable to stat SSL certificate"),
                ("crt \(mismatch)", "inconsistencies between private key and certificate"),
            ]
            for (options, message) in cases {
                let cfg = env.dir.appendingPathComponent("err.cfg")
                let text = "\(Cfg.global)\(Cfg.defaults())frontend fe\n    bind 127.0.0.1:\(Ports.free()) ssl \(options)\n"
                try text.write(to: cfg, atomically: true, encoding: .utf8)
                let bindLine = (text.components(separatedBy: "\n").firstIndex { $0.contains("    bind ") } ?? -1) + 1
                let (code, out, err) = try await runProcess(try breakwaterBinary(), ["check", "-f", cfg.path])
                #expect(code != 0)
                #expect((out + err).contains("\(cfg.path):\(bindLine): error:"), "\(out)\(err)")
                #expect((out + err).contains(message), "\(out)\(err)")
            }
        }
    }
}

/// Certificates, key file and instances for the TLS suite.
enum TLSSupport {
    struct Env {
        let dir: URL
        let certDir: String
        let keys: String
    }

    /// True when `breakwater check` accepts a `bind … ssl crt` line (the parser part of issue 5).

    static func openssl(_ args: [String]) async throws {
        let (code, _, err) = try await runProcess("/usr/bin/openssl", args)
        if code != 0 { throw HarnessError.message("openssl \(args.first ?? ""): \(err)") }
    }

    static func make(extraCert: Bool = false) async throws -> Env {
        let dir = try makeTempDir("tls")
        let certs = dir.appendingPathComponent("certs")
        try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
        func cert(_ file: String, cn: String, sans: String) async throws {
            let c = dir.appendingPathComponent("\(file).crt").path, k = dir.appendingPathComponent("\(file).key").path
            try await openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                               "-keyout", k, "-out", c, "-days", "30", "-subj", "/CN=\(cn)", "-addext", "subjectAltName=\(sans)"])
            try (String(contentsOfFile: c, encoding: .utf8) + String(contentsOfFile: k, encoding: .utf8))
                .write(toFile: certs.appendingPathComponent("\(file).pem").path, atomically: true, encoding: .utf8)
        }
        try await cert("10-a", cn: "a.test", sans: "DNS:a.test")
        if extraCert { try await cert("20-shop", cn: "shop.test", sans: "DNS:shop.test,DNS:*.shop.test") }
        try await openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", dir.appendingPathComponent("other.key").path])
        let keys = dir.appendingPathComponent("tickets.key").path
        let lines = (0..<3).map { _ in Data((0..<48).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }
        try (lines.joined(separator: "\n") + "\n").write(toFile: keys, atomically: true, encoding: .utf8)
        return Env(dir: dir, certDir: certs.path, keys: keys)
    }

    final class Instance: @unchecked Sendable {
        let port: Int
        let socket: String
        let stopper: () async -> Void
        init(port: Int, socket: String, stopper: @escaping () async -> Void) {
            self.port = port
            self.socket = socket
            self.stopper = stopper
        }
        func stop() async { await stopper() }
    }

    /// Breakwater with the issue's bind line (paths adapted) and an admin socket.
    static func proxy(_ env: Env, backend: TestBackend, crt: String? = nil) async throws -> Instance {
        let socket = env.dir.appendingPathComponent("bw-\(UUID().uuidString.prefix(6)).sock").path
        let p = try await ProxyProcess { port in
            """
            global
                log stdout format raw local0
                stats socket \(socket) level admin
            \(Cfg.defaults())
            frontend https-in
                bind 127.0.0.1:\(port) ssl crt \(crt ?? env.certDir + "/10-a.pem") alpn h2,http/1.1 tls-ticket-keys \(env.keys)
                default_backend be
            backend be
            \(serverLine("s1", backend))
            """
        }
        return Instance(port: p.port, socket: socket) { await p.stop() }
    }

    /// HAProxy 2.6 with the same certificate and key file; stopped by PID.
    static func haproxy(_ env: Env, backend: TestBackend) async throws -> Instance {
        let port = Ports.free()
        let cfg = env.dir.appendingPathComponent("haproxy.cfg")
        try """
        global
            stats socket \(env.dir.appendingPathComponent("hap.sock").path) level admin
        defaults
            mode http
            timeout connect 2s
            timeout client 10s
            timeout server 10s
        frontend https-in
            bind 127.0.0.1:\(port) ssl crt \(env.certDir)/10-a.pem alpn h2,http/1.1 tls-ticket-keys \(env.keys)
            default_backend be
        backend be
        \(serverLine("s1", backend))

        """.write(to: cfg, atomically: true, encoding: .utf8)
        let proc = try ManagedProcess(executable: "/usr/sbin/haproxy", arguments: ["-f", cfg.path, "-db"], dir: env.dir)
        try await ProxyProcess.waitForPort(port, proc: proc, name: "haproxy")
        return Instance(port: port, socket: "") { await proc.stop() }
    }

    static func sClient(_ port: Int, _ args: [String]) async throws -> String {
        let (_, out, err) = try await runProcess("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(port)", "-ign_eof"] + args,
                                                 timeout: 20, stdinFeeder: { h in
            try? h.write(contentsOf: Data("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n".utf8))
        })
        return out + err
    }
}
