import Foundation
import Testing

/// The dashboard's TLS resumption ratio comes from the TLS layer's handshake counters: a full handshake
/// with `openssl s_client -sess_out`, then resumed ones with `-sess_in`, and the frontend's `tls_resumed`
/// in the `/events` snapshot is above zero (a frontend without TLS stays null, shown as "n/a").
@Suite(.serialized) struct TLSResumptionRatioTests {
    @Test(.timeLimit(.minutes(2)))
    func resumedHandshakesShowInTheSnapshot() throws {
        for tool in ["/usr/bin/openssl", "/usr/bin/curl"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/install-test-deps.sh")
        }
        let binary = DashboardBrowserTests.binary()
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build breakwater first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bw-tlsratio-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let crt = dir.appendingPathComponent("a.crt").path, key = dir.appendingPathComponent("a.key").path
        let made = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                                                "-keyout", key, "-out", crt, "-days", "2", "-subj", "/CN=a.test"])
        try #require(made.status == 0, "openssl req: \(made.output)")
        let pem = dir.appendingPathComponent("a.pem").path
        try (String(contentsOfFile: crt, encoding: .utf8) + String(contentsOfFile: key, encoding: .utf8)).write(toFile: pem, atomically: true, encoding: .utf8)
        let tlsPort = try freePort(), statsPort = try freePort()
        let cfg = dir.appendingPathComponent("tls.cfg")
        try """
        defaults
            mode http
            timeout connect 2s
            timeout client 10s
            timeout server 10s
            timeout http-request 5s
        frontend https-in
            bind 127.0.0.1:\(tlsPort) ssl crt \(pem)
            default_backend be
        frontend admin
            bind 127.0.0.1:\(statsPort)
            stats enable
            stats uri /stats
            default_backend be
        backend be
            server s1 127.0.0.1:\(try freePort())

        """.write(to: cfg, atomically: true, encoding: .utf8)
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: binary)
        proxy.arguments = ["proxy", "-f", cfg.path]
        let log = dir.appendingPathComponent("proxy.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        proxy.standardOutput = try FileHandle(forWritingTo: log)
        proxy.standardError = proxy.standardOutput
        try proxy.run()
        defer {
            kill(proxy.processIdentifier, SIGTERM)
            proxy.waitUntilExit()
        }
        let deadline = Date().addingTimeInterval(20)
        while !canConnect(statsPort) || !canConnect(tlsPort) {
            try #require(proxy.isRunning && Date() < deadline, "breakwater did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            usleep(100_000)
        }
        let sess = dir.appendingPathComponent("sess.pem").path
        let first = try sClient(tlsPort, ["-sess_out", sess])
        #expect(first.contains("New, TLS"), "a full handshake first: \(first.suffix(600))")
        for _ in 0..<3 {
            let again = try sClient(tlsPort, ["-sess_in", sess])
            #expect(again.contains("Reused, TLS"), "resumed with the saved session: \(again.suffix(600))")
        }
        // One snapshot from the event stream (curl stops after --max-time; exit 28 is expected).
        let events = try run("/usr/bin/curl", ["-s", "-N", "--max-time", "2", "http://127.0.0.1:\(statsPort)/stats/events"])
        let line = try #require(events.output.split(separator: "\n").first { $0.hasPrefix("data: ") }, "no snapshot: \(events.output)")
        let snapshot = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any])
        let frontends = try #require(snapshot["frontends"] as? [[String: Any]])
        let https = try #require(frontends.first { $0["name"] as? String == "https-in" }, "\(frontends)")
        let ratio = try #require((https["tls_resumed"] as? NSNumber)?.doubleValue, "tls_resumed is null: \(https)")
        #expect(ratio > 0 && abs(ratio - 0.75) < 0.001, "3 of 4 handshakes resumed: \(ratio)")
        let admin = try #require(frontends.first { $0["name"] as? String == "admin" })
        #expect(admin["tls_resumed"] is NSNull, "a frontend without TLS has no ratio: \(admin)")
    }

    private func sClient(_ port: Int, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "a.test", "-ign_eof"] + args
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        p.standardError = output
        try p.run()
        input.fileHandleForWriting.write(Data("GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n".utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    private func run(_ tool: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(ok, "no free loopback port")
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private func canConnect(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
