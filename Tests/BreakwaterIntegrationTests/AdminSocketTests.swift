import Foundation
import Testing

/// The admin socket over a real UNIX socket and a real client (socat): modes, levels, commands
/// (spec GLB-4, CLI-1..CLI-7), and the metrics and stats page (issue 3).
extension Integration {
    @Suite struct AdminSocket {
        static func proxyWithSockets(_ backends: [TestBackend], dir: URL, extraFrontend: String = "") async throws -> ProxyProcess {
            let admin = dir.appendingPathComponent("admin.sock").path
            let user = dir.appendingPathComponent("user.sock").path
            let group = dir.appendingPathComponent("group.sock").path
            return try await ProxyProcess { port in
                """
                global
                    log stdout format raw local0
                    stats socket \(admin) level admin
                    stats socket \(user) mode 644 level user
                    stats socket \(group) mode 660 level operator

                \(Cfg.defaults())
                frontend fe
                    bind 127.0.0.1:\(port)
                    default_backend be
                \(extraFrontend)

                backend be
                    balance roundrobin
                \(serverLine("s1", backends[0], "check inter 500"))
                \(serverLine("s2", backends[1]))
                """
            }
        }

        @Test("Socket files carry the configured mode (default 0600)")
        func socketModes() async throws {
            let bs = try await echoBackends("s1", "s2")
            let dir = try makeTempDir("admin")
            let proxy = try await Self.proxyWithSockets(bs, dir: dir)
            func mode(_ name: String) throws -> Int {
                let attrs = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)
                return (attrs[.posixPermissions] as? Int ?? -1) & 0o777
            }
            #expect(try mode("admin.sock") == 0o600)
            #expect(try mode("user.sock") == 0o644)
            #expect(try mode("group.sock") == 0o660)
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("help, show info, several commands per line, levels enforced")
        func commandsAndLevels() async throws {
            let bs = try await echoBackends("s1", "s2")
            let dir = try makeTempDir("admin")
            let proxy = try await Self.proxyWithSockets(bs, dir: dir)
            let admin = dir.appendingPathComponent("admin.sock").path
            let user = dir.appendingPathComponent("user.sock").path

            let info = try await adminCommand(user, "show info")
            #expect(info.contains("Name: Breakwater"))
            #expect(info.contains("Pid: \(proxy.pid)"))
            #expect(info.hasSuffix("\n\n"), "output ends with an empty line")

            let two = try await adminCommand(admin, "show info; help")
            #expect(two.contains("Uptime_sec:") && two.contains("show info"))

            let denied = try await adminCommand(user, "disable server be/s1")
            #expect(denied.contains("Permission denied"))
            // Nothing changed: s1 still takes its turn.
            var seen = Set<String>()
            for _ in 0..<4 {
                if let b = try await oneShot(proxy.port, requestText("GET", "/x"))?.header("x-backend") { seen.insert(b) }
            }
            #expect(seen == ["s1", "s2"])

            let unknown = try await adminCommand(user, "frobnicate")
            #expect(!unknown.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("disable/enable server and set server state change where traffic goes (CLI-7)")
        func serverAdminState() async throws {
            let bs = try await echoBackends("s1", "s2")
            let dir = try makeTempDir("admin")
            let proxy = try await Self.proxyWithSockets(bs, dir: dir)
            let admin = dir.appendingPathComponent("admin.sock").path

            #expect(try await adminCommand(admin, "disable server be/s1") == "\n")
            for _ in 0..<4 {
                #expect(try await oneShot(proxy.port, requestText("GET", "/m"))?.header("x-backend") == "s2")
            }
            let state = try await adminCommand(admin, "show servers state be")
            #expect(state.contains("# be_id be_name srv_id srv_name"))
            let s1Line = state.split(separator: "\n").first { $0.contains(" s1 ") }
            #expect(s1Line != nil)
            if let f = s1Line?.split(separator: " ") {
                #expect(f[5] == "0", "srv_op_state stopped while in MAINT: \(s1Line!)")
                #expect(f[6] == "1", "srv_admin_state forced maintenance bit: \(s1Line!)")
            }
            #expect(try await adminCommand(admin, "enable server be/s1") == "\n")
            var seen = Set<String>()
            for _ in 0..<4 {
                if let b = try await oneShot(proxy.port, requestText("GET", "/e"))?.header("x-backend") { seen.insert(b) }
            }
            #expect(seen.contains("s1"))
            #expect(try await adminCommand(admin, "set server be/s2 state drain") == "\n")
            for _ in 0..<3 {
                #expect(try await oneShot(proxy.port, requestText("GET", "/d"))?.header("x-backend") == "s1")
            }
            #expect(try await adminCommand(admin, "set server be/s2 state bogus").contains("expects 'ready', 'drain' and 'maint'"))
            #expect(try await adminCommand(admin, "disable server be").contains("Require 'backend/server'."))
            #expect(try await adminCommand(admin, "disable server nope/s1").contains("No such backend."))
            #expect(try await adminCommand(admin, "disable server be/nope").contains("No such server."))
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("show stat: CSV header with HAProxy's columns and one row per object")
        func showStat() async throws {
            let bs = try await echoBackends("s1", "s2")
            let dir = try makeTempDir("admin")
            let proxy = try await Self.proxyWithSockets(bs, dir: dir)
            for _ in 0..<3 { _ = try await oneShot(proxy.port, requestText("GET", "/s")) }
            let out = try await adminCommand(dir.appendingPathComponent("admin.sock").path, "show stat")
            let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let header = try #require(lines.first)
            #expect(header.hasPrefix("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,"))
            let columns = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(columns.count >= 100)
            #expect(Array(columns.prefix(100)).last == "uweight")
            let rows = lines.dropFirst().filter { !$0.isEmpty }
            let names = rows.map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(2).joined(separator: "/") }
            #expect(names.contains("fe/FRONTEND"))
            #expect(names.contains("be/s1") && names.contains("be/s2") && names.contains("be/BACKEND"))
            let be = try #require(rows.first { $0.hasPrefix("be,BACKEND,") })
            let f = be.split(separator: ",", omittingEmptySubsequences: false)
            let reqTot = columns.firstIndex(of: "req_tot")!
            #expect(Int(f[reqTot]) ?? -1 >= 3)
            #expect(out.hasSuffix("\n\n"))
            await proxy.stop()
            await stopAll(bs)
        }

        @Test("Prometheus exporter and the HTML stats page")
        func metricsAndStatsPage() async throws {
            let bs = try await echoBackends("s1", "s2")
            let dir = try makeTempDir("admin")
            let proxy = try await Self.proxyWithSockets(bs, dir: dir, extraFrontend: """
                    http-request use-service prometheus-exporter if { path /metrics }
                    stats enable
                    stats uri /stats
                    stats refresh 5s
                """)
            for _ in 0..<4 { _ = try await oneShot(proxy.port, requestText("GET", "/traffic")) }
            let metrics = try await curl(["http://127.0.0.1:\(proxy.port)/metrics"])
            #expect(metrics.heads.last?.status == 200)
            let text = metrics.bodyText
            // Every non-comment line is `name{labels} value`.
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 2 && Double(parts[1]) != nil, "bad exposition line: \(line)")
            }
            #expect(text.contains("# TYPE "))
            #expect(text.contains("breakwater_"))
            let page = try await curl(["http://127.0.0.1:\(proxy.port)/stats"])
            #expect(page.heads.last?.status == 200)
            #expect(page.bodyText.contains("<table"))
            #expect(page.bodyText.contains("s1") && page.bodyText.contains("BACKEND"))
            #expect(page.bodyText.contains("http-equiv=\"refresh\""))
            await proxy.stop()
            await stopAll(bs)
        }
    }
}
