import BreakwaterConfigModel
@testable import BreakwaterTLS
import Foundation
import Testing

@Suite(.serialized) struct HandshakeTests {
    @Test func sClientHandshakeAndResumptionAcrossTwoServersSharingAKeyFile() async throws {
        let dir = try makeTempDir("hs")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: ["a.test"])
        let keys = dir.appendingPathComponent("tickets.key")
        _ = try keyFile(at: keys)
        let config = TLSBindConfig(certificates: [pem], alpn: ["h2", "http/1.1"], ticketKeysFile: keys.path)
        let a = try await TinyTLSServer(context: TLSServerContext(config: config, ticketRing: TicketKeyRing(loading: keys.path, id: 0)))
        let b = try await TinyTLSServer(context: TLSServerContext(config: config, ticketRing: TicketKeyRing(loading: keys.path, id: 0)))
        defer { Task { await a.stop(); await b.stop() } }
        let sess = dir.appendingPathComponent("sess").path
        let first = try await sClient(port: a.port, args: ["-tls1_3", "-alpn", "http/1.1,h2", "-servername", "a.test", "-sess_out", sess])
        #expect(first.contains("New, TLSv1.3"))
        #expect(first.contains("proto=TLSv1.3 alpn=h2 sni=a.test resumed=0"))
        let second = try await sClient(port: b.port, args: ["-tls1_3", "-sess_in", sess])
        #expect(isReused(second), "\(second)")
        #expect(second.contains("resumed=1"))
    }
}

@Suite(.serialized) struct HandshakeBehaviourTests {
    /// TLS-8 timeline: after one rotation a ticket still resumes (its key is now previous); after
    /// three rotations its key is gone and the handshake is full.
    @Test func rotationsRetireOldTickets() async throws {
        let dir = try makeTempDir("rot")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: ["a.test"])
        let keys = dir.appendingPathComponent("tickets.key")
        _ = try keyFile(at: keys)
        let ring = try TicketKeyRing(loading: keys.path, id: 0)
        let server = try await TinyTLSServer(context: TLSServerContext(config: TLSBindConfig(certificates: [pem]), ticketRing: ring))
        defer { Task { await server.stop() } }
        let registry = TicketKeyRegistry(rings: [ring])
        func newKey() -> String { Data((0..<48).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }
        for version in ["-tls1_3", "-tls1_2"] {
            let sess = dir.appendingPathComponent("s\(version)").path
            #expect(try await sClient(port: server.port, args: [version, "-sess_out", sess]).contains("New, TLS"))
            #expect(registry.set(["#0", newKey()]) == "TLS ticket key updated!\n")
            #expect(isReused(try await sClient(port: server.port, args: [version, "-sess_in", sess])), "one rotation: still resumes")
            #expect(registry.set(["#0", newKey()]) == "TLS ticket key updated!\n")
            #expect(registry.set(["#0", newKey()]) == "TLS ticket key updated!\n")
            let after = try await sClient(port: server.port, args: [version, "-sess_in", sess])
            #expect(!isReused(after) && after.contains("New, TLS"), "three rotations: full handshake")
        }
        #expect(ring.statistics.resumedOther >= 2)
    }

    /// TLS-2: exact name, wildcard (one label only), default = first file in name order.
    @Test func sniSelectsAcrossCertificatesInADirectory() async throws {
        let dir = try makeTempDir("sni")
        defer { try? FileManager.default.removeItem(at: dir) }
        let certs = dir.appendingPathComponent("certs")
        try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
        try await makeCertificate(in: certs, file: "10-default.pem", cn: "default.test", sans: ["default.test"])
        try await makeCertificate(in: certs, file: "20-shop.pem", cn: "shop.test", sans: ["shop.test", "*.shop.test"], separateKey: true)
        try "ignored".write(to: certs.appendingPathComponent(".hidden"), atomically: true, encoding: .utf8)
        let ctx = try TLSServerContext(config: TLSBindConfig(certificates: [certs.path + "/"]), ticketRing: nil)
        #expect(ctx.certificateFiles.map { ($0 as NSString).lastPathComponent } == ["10-default.pem", "20-shop.pem"])
        #expect(ctx.certificateFile(forServerName: "SHOP.test").hasSuffix("20-shop.pem"))
        #expect(ctx.certificateFile(forServerName: "www.shop.test").hasSuffix("20-shop.pem"))
        #expect(ctx.certificateFile(forServerName: "a.b.shop.test").hasSuffix("10-default.pem"))
        #expect(ctx.certificateFile(forServerName: "other.test").hasSuffix("10-default.pem"))
        let server = try await TinyTLSServer(context: ctx)
        defer { Task { await server.stop() } }
        let shop = try await sClient(port: server.port, args: ["-servername", "www.shop.test"])
        #expect(shop.contains("subject=CN = shop.test"), "\(shop)")
        let other = try await sClient(port: server.port, args: ["-servername", "nothing.test"])
        #expect(other.contains("subject=CN = default.test"))
    }

    /// curl over TLS 1.3 with ALPN: server preference among what is configured.
    @Test func curlHTTP11OverTLS13WithALPN() async throws {
        let dir = try makeTempDir("curl")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: ["a.test"])
        let server = try await TinyTLSServer(context: TLSServerContext(config: TLSBindConfig(certificates: [pem], alpn: ["h2", "http/1.1"]), ticketRing: nil))
        defer { Task { await server.stop() } }
        let (code, out, err) = try await run("/usr/bin/curl", ["-sS", "--insecure", "--http1.1", "--tlsv1.3", "-v",
            "--resolve", "a.test:\(server.port):127.0.0.1", "https://a.test:\(server.port)/"])
        #expect(code == 0, "\(err)")
        #expect(out.contains("proto=TLSv1.3 alpn=http/1.1 sni=a.test"), "\(out)")
        #expect(err.contains("ALPN: server accepted http/1.1") || err.contains("ALPN, server accepted to use http/1.1"))
        // Without alpn on the bind, nothing is negotiated.
        let plain = try await TinyTLSServer(context: TLSServerContext(config: TLSBindConfig(certificates: [pem]), ticketRing: nil))
        defer { Task { await plain.stop() } }
        let (_, out2, _) = try await run("/usr/bin/curl", ["-sS", "--insecure", "--http1.1", "https://127.0.0.1:\(plain.port)/"])
        #expect(out2.contains("alpn=-"))
    }

    /// Handshake failures map to the LOG-6 messages.
    @Test func failuresMapToLogMessages() async throws {
        let dir = try makeTempDir("fail")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: ["a.test"])
        let config = TLSBindConfig(certificates: [pem], minVersion: .tls13)
        let server = try await TinyTLSServer(context: TLSServerContext(config: config, ticketRing: nil), handshakeTimeout: .milliseconds(300))
        defer { Task { await server.stop() } }
        _ = try await sClient(port: server.port, args: ["-tls1_2"])
        // Plain HTTP on a TLS port.
        _ = try await run("/usr/bin/curl", ["-sS", "--max-time", "2", "http://127.0.0.1:\(server.port)/"])
        // Connect, send nothing, wait past the handshake timeout.
        _ = try await run("/usr/bin/openssl", ["s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_3"], input: "", holdStdin: 0)
        _ = try await run("/bin/bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(server.port); sleep 0.6"])
        _ = try await run("/bin/bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(server.port); printf '\\x16\\x03\\x01' >&3; exec 3>&-"])
        try await Task.sleep(nanoseconds: 300_000_000)
        let messages = Set(server.recorder.errors.withLockedValue { $0 }.compactMap(\.logMessage))
        #expect(messages == ["SSL handshake failure", "Timeout during SSL handshake", "Connection closed during SSL handshake"])
    }

    @Test func configurationErrorsAreClear() async throws {
        let dir = try makeTempDir("cfg")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: [])
        let b = try await makeCertificate(in: dir, file: "b.pem", cn: "b.test", sans: [], separateKey: true)
        // key/cert mismatch: a's certificate with b's key.
        let aText = try String(contentsOfFile: a, encoding: .utf8)
        let cert = String(aText[..<aText.range(of: "-----BEGIN PRIVATE KEY-----")!.lowerBound])
        let mismatch = dir.appendingPathComponent("mismatch.pem").path
        try (cert + String(contentsOfFile: b + ".key", encoding: .utf8)).write(toFile: mismatch, atomically: true, encoding: .utf8)
        let nokey = dir.appendingPathComponent("nokey.pem").path
        try cert.write(toFile: nokey, atomically: true, encoding: .utf8)
        let garbage = dir.appendingPathComponent("garbage.pem").path
        try "not a pem".write(toFile: garbage, atomically: true, encoding: .utf8)
        let empty = dir.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)

        func error(_ c: TLSBindConfig) -> TLSConfigError? {
            do { _ = try TLSServerContext(config: c, ticketRing: nil); return nil } catch { return error }
        }
        #expect(error(TLSBindConfig(certificates: [b])) == nil)  // companion .key file
        #expect(error(TLSBindConfig(certificates: [dir.path + "/missing.pem"])) == .certificateNotFound(path: dir.path + "/missing.pem"))
        #expect(error(TLSBindConfig(certificates: [mismatch])) == .keyMismatch(path: mismatch))
        #expect(error(TLSBindConfig(certificates: [nokey])) == .noPrivateKey(path: nokey))
        if case .unreadableCertificate = error(TLSBindConfig(certificates: [garbage])) {} else { Issue.record("garbage PEM accepted") }
        #expect(error(TLSBindConfig(certificates: [empty.path])) == .noCertificateInDirectory(path: empty.path))
        #expect(error(TLSBindConfig(certificates: [a], ciphers: "NOPE-CIPHER")) == .invalidSetting("unable to set SSL cipher list to 'NOPE-CIPHER'"))
        #expect(error(TLSBindConfig(certificates: [a], curves: "nocurve")) == .invalidSetting("unable to set SSL curves list to 'nocurve'"))
        #expect(TLSConfigError.certificateNotFound(path: "/x").description.hasPrefix("unable to stat SSL certificate from file '/x'"))
    }
}
