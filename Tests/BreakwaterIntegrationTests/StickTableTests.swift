import Foundation
import Testing

/// Stick tables, rate limits and tarpit against live loopback clients with distinct source
/// addresses (curl --interface 127.0.0.N), issue 4.
extension Integration {
    @Suite struct StickTables {
        /// The write-up 2 block, with `timeout tarpit 2s` for speed.
        static func seedConfig(port: Int, backend: TestBackend, socket: String, hogLimit: Int = 52428800) -> String {
            """
            global
                log stdout format raw local0
                stats socket \(socket) level admin

            \(Cfg.defaults())
            backend st_req_rate
                stick-table type ip size 2m expire 30s store http_req_rate(10s),bytes_out_rate(10s)

            frontend https-in
                bind 127.0.0.1:\(port)
                http-request track-sc0 src table st_req_rate
                acl is_abusive sc_http_req_rate(0) gt 50
                acl is_bandwidth_hog sc_bytes_out_rate(0) gt \(hogLimit)
                http-request tarpit if is_abusive || is_bandwidth_hog
                timeout tarpit 2s
                default_backend app

            backend app
            \(serverLine("s1", backend))
            """
        }

        /// `count` requests on one keep-alive connection from `source`; returns the status codes.
        static func burst(_ port: Int, from source: String, count: Int, path: String = "/r") async throws -> [Int] {
            let urls = (0..<count).map { "http://127.0.0.1:\(port)\(path)?\($0)" }
            // `-o` applies to one URL only: give every URL its own, or bodies mix into the codes.
            let args = ["-sS", "--interface", source, "-w", "%{http_code}\\n"] + urls.flatMap { ["-o", "/dev/null", $0] }
            let (_, out, err) = try await runProcess("/usr/bin/curl", args, timeout: 60)
            let codes = out.split(separator: "\n").compactMap { Int($0) }
            if codes.count != count { Issue.record("curl from \(source): \(err)") }
            return codes
        }

        @Test("Seed block: 50 requests pass, the 51st is held ~2 s then 500, others unaffected, flows again after the window")
        func rateLimitAndTarpit() async throws {
            let b = try await TestBackend.start("s1")
            let dir = try makeTempDir("stk")
            let sock = dir.appendingPathComponent("admin.sock").path
            let proxy = try await ProxyProcess { Self.seedConfig(port: $0, backend: b, socket: sock) }
            let first = try await Self.burst(proxy.port, from: "127.0.0.2", count: 50)
            #expect(first == Array(repeating: 200, count: 50), "\(first)")

            let t0 = Date()
            let held = try await Self.burst(proxy.port, from: "127.0.0.2", count: 1)
            let elapsed = Date().timeIntervalSince(t0)
            #expect(held == [500])
            #expect(elapsed >= 1.9 && elapsed < 4, "tarpit hold was \(elapsed) s")
            let line = await proxy.waitForLog(containing: "PT--")
            #expect(line?.contains("https-in/<NOSRV>") == true, "\(line ?? "no PT-- line")")

            // A polite client from another address is not affected.
            let t1 = Date()
            #expect(try await Self.burst(proxy.port, from: "127.0.0.3", count: 3) == [200, 200, 200])
            #expect(Date().timeIntervalSince(t1) < 1.5)

            // show table: the abusive key with its rate, the polite one too.
            let table = try await adminCommand(sock, "show table st_req_rate")
            #expect(table.hasPrefix("# table: st_req_rate, type: ip, size:2097152, used:2"), "\(table)")
            let abusive = table.split(separator: "\n").first { $0.contains("key=127.0.0.2 ") }
            #expect(abusive?.contains("http_req_rate(10000)=51") == true, "\(table)")
            #expect(table.contains("bytes_out_rate(10000)="))

            // After the 10 s period the previous count fades below the limit (STK-4).
            try await Task.sleep(nanoseconds: 11_000_000_000)
            #expect(try await Self.burst(proxy.port, from: "127.0.0.2", count: 1) == [200])
            await proxy.stop()
            await b.stop()
        }

        @Test("bytes_out_rate variant: a bandwidth hog is tarpitted after crossing the byte limit")
        func bandwidthHog() async throws {
            let b = try await TestBackend.start("big") { _ in .stream(total: 64 * 1024) }
            let dir = try makeTempDir("stk")
            let sock = dir.appendingPathComponent("admin.sock").path
            let proxy = try await ProxyProcess { Self.seedConfig(port: $0, backend: b, socket: sock, hogLimit: 100_000) }
            let codes = try await Self.burst(proxy.port, from: "127.0.0.5", count: 3)
            #expect(codes == [200, 200, 500], "\(codes)")
            #expect(try await Self.burst(proxy.port, from: "127.0.0.6", count: 1) == [200])
            let table = try await adminCommand(sock, "show table st_req_rate key 127.0.0.5")
            let value = table.split(separator: " ").first { $0.hasPrefix("bytes_out_rate(10000)=") }
                .flatMap { Int($0.split(separator: "=").last!.trimmingCharacters(in: .whitespacesAndNewlines)) }
            #expect((value ?? 0) > 131_072, "bytes include both 64 KiB bodies and the 500: \(table)")
            await proxy.stop()
            await b.stop()
        }

        @Test("clear table and levels: user sees no entries; operator clears idle ones")
        func tableAdmin() async throws {
            let b = try await TestBackend.start("s1")
            let dir = try makeTempDir("stk")
            let sock = dir.appendingPathComponent("admin.sock").path
            let proxy = try await ProxyProcess { Self.seedConfig(port: $0, backend: b, socket: sock) }
            _ = try await Self.burst(proxy.port, from: "127.0.0.7", count: 2)
            let all = try await adminCommand(sock, "show table")
            #expect(all.contains("# table: st_req_rate, type: ip, size:2097152, used:1"))
            #expect(try await adminCommand(sock, "show table nope").contains("No such table"))
            #expect(try await adminCommand(sock, "clear table st_req_rate key 127.0.0.7") == "\n")
            #expect(try await adminCommand(sock, "show table st_req_rate").contains("used:0"))
            #expect(try await adminCommand(sock, "set table st_req_rate key 127.0.0.9 data.http_req_rate 60") == "\n")
            // The preset rate makes the next request from that address abusive at once.
            #expect(try await Self.burst(proxy.port, from: "127.0.0.9", count: 1) == [500])
            await proxy.stop()
            await b.stop()
        }

        /// STK-4 differential: the same request sequence through HAProxy 2.6 and Breakwater gives the
        /// same http_req_rate and http_req_cnt in `show table`.
        @Test("Counters match HAProxy 2.6 after the same request sequence")
        func differentialCounters() async throws {
            guard FileManager.default.isExecutableFile(atPath: Differential.haproxyPath) else {
                Issue.record("haproxy is not installed at \(Differential.haproxyPath): scripts/install-test-deps.sh installs it")
                return
            }
            let b = try await TestBackend.start("s1")
            func cfg(_ port: Int, _ sock: String) -> String {
                """
                global
                    stats socket \(sock) level admin
                \(Cfg.defaults())
                backend st
                    stick-table type ip size 1k expire 60s store http_req_rate(10s),http_req_cnt,http_err_cnt
                frontend fe
                    bind 127.0.0.1:\(port)
                    http-request track-sc0 src table st
                    http-request deny if { path_beg /deny }
                    default_backend app
                backend app
                \(serverLine("s1", b))

                """
            }
            let dir = try makeTempDir("stk-diff")
            let hsock = dir.appendingPathComponent("h.sock").path
            let bsock = dir.appendingPathComponent("b.sock").path
            let hport = Ports.free()
            let hcfg = dir.appendingPathComponent("haproxy.cfg")
            try cfg(hport, hsock).write(to: hcfg, atomically: true, encoding: .utf8)
            let haproxy = try ManagedProcess(executable: Differential.haproxyPath, arguments: ["-f", hcfg.path, "-db"], dir: dir)
            try await ProxyProcess.waitForPort(hport, proc: haproxy, name: "haproxy")
            let proxy = try await ProxyProcess { cfg($0, bsock) }
            for port in [hport, proxy.port] {
                _ = try await Self.burst(port, from: "127.0.0.8", count: 7)
                _ = try await Self.burst(port, from: "127.0.0.8", count: 2, path: "/deny")
            }
            func fields(_ text: String) -> [String: String] {
                var out: [String: String] = [:]
                for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.contains("=") {
                    let kv = word.split(separator: "=", maxSplits: 1)
                    out[String(kv[0])] = String(kv[1])
                }
                return out
            }
            let h = fields(try await adminCommand(hsock, "show table st key 127.0.0.8"))
            let w = fields(try await adminCommand(bsock, "show table st key 127.0.0.8"))
            #expect(h["http_req_cnt"] == "9")
            for k in ["http_req_rate(10000)", "http_req_cnt", "http_err_cnt"] {
                #expect(h[k] != nil && h[k] == w[k], "\(k): haproxy \(h[k] ?? "-") breakwater \(w[k] ?? "-")")
            }
            await haproxy.stop()
            await proxy.stop()
            await b.stop()
        }
    }
}
