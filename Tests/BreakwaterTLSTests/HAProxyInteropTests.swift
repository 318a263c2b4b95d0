import BreakwaterConfigModel
@testable import BreakwaterTLS
import Foundation
import Testing

/// HAProxy 2.6 started with `-db` on a free port; stopped by PID.
final class HAProxyInstance {
    let process = Process()
    let port: Int
    let socket: String
    let logPath: String

    init(dir: URL, pem: String, keys: String, alpn: String = "h2,http/1.1") throws {
        port = Int.random(in: 20000...40000)
        socket = dir.appendingPathComponent("haproxy-\(port).sock").path
        let cfg = """
        global
            stats socket \(socket) level admin
        defaults
            mode http
            timeout client 5s
            timeout connect 5s
            timeout server 5s
        frontend f
            bind 127.0.0.1:\(port) ssl crt \(pem) tls-ticket-keys \(keys) alpn \(alpn)
            http-request return status 200 content-type text/plain string ok
        """
        let path = dir.appendingPathComponent("haproxy-\(port).cfg")
        try (cfg + "\n").write(to: path, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/haproxy")
        process.arguments = ["-f", path.path, "-db"]
        process.standardOutput = FileHandle.nullDevice
        logPath = dir.appendingPathComponent("haproxy-\(port).log").path
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
    }

    func waitReady() async throws {
        for _ in 0..<100 {
            if FileManager.default.fileExists(atPath: socket) { return }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw TestFailure("haproxy did not start: " + ((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""))
    }

    func cli(_ command: String) async throws -> String {
        try await run("/usr/bin/socat", ["stdio", "UNIX-CONNECT:\(socket)"], input: command + "\n").1
    }

    func stop() {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}

@Suite(.serialized)
struct HAProxyInteropTests {
    /// A fleet mid-migration: a ticket issued by HAProxy resumes on Breakwater and vice versa (TLS-8),
    /// for TLS 1.3 and TLS 1.2, with 48- and 80-byte keys.
    @Test(arguments: [("-tls1_3", 48), ("-tls1_2", 48), ("-tls1_3", 80), ("-tls1_2", 80)])
    func crossResumptionBothWays(version: String, keySize: Int) async throws {
        let dir = try makeTempDir("hap")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: ["a.test"])
        let keys = dir.appendingPathComponent("tickets.key")
        _ = try keyFile(at: keys, count: 4, size: keySize)
        let haproxy = try HAProxyInstance(dir: dir, pem: pem, keys: keys.path)
        defer { haproxy.stop() }
        try await haproxy.waitReady()
        let config = TLSBindConfig(certificates: [pem], alpn: ["h2", "http/1.1"], ticketKeysFile: keys.path)
        let bw = try await TinyTLSServer(context: TLSServerContext(config: config, ticketRing: TicketKeyRing(loading: keys.path, id: 0)))
        defer { Task { await bw.stop() } }

        let s1 = dir.appendingPathComponent("s1").path
        let fromHAProxy = try await sClient(port: haproxy.port, args: [version, "-sess_out", s1])
        #expect(fromHAProxy.contains("New, TLS"), "\(fromHAProxy)")
        let onBreakwater = try await sClient(port: bw.port, args: [version, "-sess_in", s1])
        #expect(isReused(onBreakwater), "HAProxy ticket not resumed by Breakwater: \(onBreakwater)")

        let s2 = dir.appendingPathComponent("s2").path
        let fromBreakwater = try await sClient(port: bw.port, args: [version, "-sess_out", s2])
        #expect(fromBreakwater.contains("New, TLS"))
        let onHAProxy = try await sClient(port: haproxy.port, args: [version, "-sess_in", s2])
        #expect(isReused(onHAProxy), "Breakwater ticket not resumed by HAProxy: \(onHAProxy)")
    }

    /// `show tls-keys` and `set ssl tls-key` print what HAProxy 2.6 prints for the same ring.
    @Test func adminTextMatchesHAProxy() async throws {
        let dir = try makeTempDir("hapcli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: ["a.test"])
        let keys = dir.appendingPathComponent("tickets.key")
        _ = try keyFile(at: keys, count: 5)
        let haproxy = try HAProxyInstance(dir: dir, pem: pem, keys: keys.path)
        defer { haproxy.stop() }
        try await haproxy.waitReady()
        let registry = try TicketKeyRegistry.load(paths: [keys.path])
        let newKey = Data((0..<48).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let commands: [[String]] = [
            ["show", "tls-keys"], ["show", "tls-keys", "#0"], ["show", "tls-keys", keys.path], ["show", "tls-keys", "*"],
            ["show", "tls-keys", "0"], ["show", "tls-keys", "#x"],
            ["set", "ssl", "tls-key"], ["set", "ssl", "tls-key", "#0"], ["set", "ssl", "tls-key", "#0", "zz"],
            ["set", "ssl", "tls-key", "#0", "AAAA"], ["set", "ssl", "tls-key", "/nope", newKey],
            ["set", "ssl", "tls-key", "#0", newKey], ["show", "tls-keys", "#0"],
        ]
        for c in commands {
            let theirs = try await haproxy.cli(c.joined(separator: " "))
            let ours: String
            if c[0] == "show" { ours = registry.show(Array(c.dropFirst(2))) } else { ours = registry.set(Array(c.dropFirst(3))) }
            #expect(ours + "\n" == theirs, "\(c.joined(separator: " "))")
        }
    }
}
