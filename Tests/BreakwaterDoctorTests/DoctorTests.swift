import BreakwaterConfig
import BreakwaterConfigModel
import BreakwaterDoctor
import Foundation
import Testing

private func report(_ host: FakeHost, _ snapshot: ConfigSnapshot? = nil) throws -> DoctorReport {
    Doctor(host: HostFiles(root: try host.build()), snapshot: snapshot, cpuCount: 1).run()
}

private func finding(_ r: DoctorReport, _ id: String) -> Finding? { r.findings.first { $0.id == id } }

/// A configuration with one frontend and one backend of `servers` servers (each `serverParams`).
private func snapshot(_ text: String) throws -> ConfigSnapshot {
    let r = ConfigParser(environment: [:]).parse([ConfigSource(path: "t.cfg", text: text)])
    guard let s = r.snapshot else { throw DoctorTestError("config invalid: \(r.diagnostics.map(\.description))") }
    return s
}

private func proxyText(global: String = "", serverParams: String = "maxconn 100", reuse: String = "") -> String {
    """
    global
    \(global)
    defaults
      mode http
      timeout connect 5s
      timeout client 30s
      timeout server 30s
    frontend fe
      bind 127.0.0.1:8080
      default_backend be
    backend be
    \(reuse)
      server s1 127.0.0.1:9001 \(serverParams)
      server s2 127.0.0.1:9002 \(serverParams)

    """
}

@Suite struct DoctorFindingTests {
    @Test func healthyHostIsAllOkAndExitsZero() throws {
        let host = try FakeHost()
        let r = try report(host, try snapshot(proxyText(global: "  maxconn 1000")))
        #expect(r.findings.allSatisfy { $0.severity == .ok }, "\(r.table)")
        #expect(r.exitCode == 0)
        let ids = Set(r.findings.map(\.id))
        for id in ["net.ipv4.ip_local_port_range", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_fin_timeout",
                   "net.ipv4.tcp_max_tw_buckets", "net.ipv4.tcp_orphan_retries", "net.core.somaxconn",
                   "net.ipv4.tcp_max_syn_backlog", "vm.vfs_cache_pressure", "vm.swappiness", "nofile", "ephemeral-ports"] {
            #expect(ids.contains(id), "missing \(id)")
        }
        #expect(!ids.contains("cgroup-memory"), "no jobs section: no cgroup check")
        #expect(!ids.contains("ticket-keys-tmpfs"), "no ticket keys: no tmpfs check")
    }

    @Test(arguments: [
        ("net.ipv4.ip_local_port_range", "32768 50000", "10240 65535"),
        ("net.ipv4.tcp_tw_reuse", "2", "1"),
        ("net.ipv4.tcp_fin_timeout", "60", "30"),
        ("net.ipv4.tcp_max_tw_buckets", "4096", "500000"),
        ("net.ipv4.tcp_orphan_retries", "7", "3"),
        ("net.core.somaxconn", "128", "4096"),
        ("net.ipv4.tcp_max_syn_backlog", "1024", "4096"),
        ("vm.vfs_cache_pressure", "20", "100"),
        ("vm.swappiness", "60", "10"),
    ])
    func sysctlOutsideItsRangeIsAWarningWithTheExactFix(name: String, bad: String, recommended: String) throws {
        let host = try FakeHost()
        host.sysctls[name] = bad
        let r = try report(host)
        let f = try #require(finding(r, name))
        #expect(f.severity == .warning)
        #expect(f.current.hasPrefix(bad))
        #expect(f.recommended == recommended)
        let value = recommended.contains(" ") ? "\"\(recommended)\"" : recommended
        #expect(f.fix == "sysctl -w \(name)=\(value) && echo '\(name) = \(recommended)' >> /etc/sysctl.d/90-breakwater.conf")
        #expect(r.findings.first?.id == name, "worst first")
        #expect(r.exitCode == 1)
    }

    @Test func writeUpValuesThatAreRiskySaySo() throws {
        let host = try FakeHost()
        host.sysctls["net.ipv4.tcp_orphan_retries"] = "1"
        host.sysctls["vm.vfs_cache_pressure"] = "500"
        var r = try report(host)
        #expect(finding(r, "net.ipv4.tcp_orphan_retries")?.severity == .warning)
        #expect(finding(r, "net.ipv4.tcp_orphan_retries")?.why.contains("write-up's 1") == true)
        #expect(finding(r, "vm.vfs_cache_pressure")?.why.contains("evicts hot dentries") == true)
        host.sysctls["net.ipv4.tcp_orphan_retries"] = "0"
        r = try report(host)
        #expect(finding(r, "net.ipv4.tcp_orphan_retries")?.severity == .warning)
        #expect(finding(r, "net.ipv4.tcp_orphan_retries")?.why.contains("kernel's default of 8") == true)
        host.sysctls["net.ipv4.tcp_orphan_retries"] = "2"
        r = try report(host)
        #expect(finding(r, "net.ipv4.tcp_orphan_retries")?.severity == .ok)
    }

    @Test func unreadableSysctlIsAWarningNamingThePath() throws {
        let host = try FakeHost()
        host.sysctls.removeValue(forKey: "vm.swappiness")
        let r = try report(host)
        let f = try #require(finding(r, "vm.swappiness"))
        #expect(f.severity == .warning)
        #expect(f.current.contains("unreadable") && f.current.contains("proc/sys/vm/swappiness"))
    }

    @Test func narrowPortRangeForTheServerConnectionsIsAWarning() throws {
        let host = try FakeHost()
        host.sysctls["net.ipv4.ip_local_port_range"] = "20000 50000"  // 30,001 ports: ≥ 28,000 but < 2 × 20,000
        let r = try report(host, try snapshot(proxyText(global: "  maxconn 20000", serverParams: "maxconn 10000")))
        #expect(finding(r, "net.ipv4.ip_local_port_range")?.severity == .warning)
        #expect(finding(r, "ephemeral-ports")?.severity == .warning)
        #expect(finding(r, "ephemeral-ports")?.current == "30001 ports for 20000 server connections")
    }

    @Test func portsFewerThanServerConnectionsIsCritical() throws {
        let host = try FakeHost()
        host.sysctls["net.ipv4.ip_local_port_range"] = "32768 60999"  // 28,232 ports
        let r = try report(host, try snapshot(proxyText(global: "  maxconn 40000", serverParams: "maxconn 20000")))
        let f = try #require(finding(r, "ephemeral-ports"))
        #expect(f.severity == .critical)
        #expect(f.why.contains("EADDRNOTAVAIL"))
        #expect(r.exitCode == 2)
        #expect(r.findings.first?.severity == .critical)
    }

    @Test func noReuseWithoutTWReuseWarnsAboutTimeWaitChurn() throws {
        let host = try FakeHost()
        host.sysctls["net.ipv4.tcp_tw_reuse"] = "0"
        let r = try report(host, try snapshot(proxyText(global: "  maxconn 1000", reuse: "  http-reuse never")))
        let f = try #require(finding(r, "ephemeral-ports"))
        #expect(f.severity == .warning)
        #expect(f.why.contains("http-reuse never in be"))
        #expect(f.fix.contains("sysctl -w net.ipv4.tcp_tw_reuse=1"))
    }

    @Test func nofileAgainstMaxconn() throws {
        let host = try FakeHost()
        let cfg = try snapshot(proxyText(global: "  maxconn 10000"))
        host.nofileSoft = "21000"  // = 2 × 10000 + 1000
        #expect(finding(try report(host, cfg), "nofile")?.severity == .ok)
        host.nofileSoft = "15000"
        var r = try report(host, cfg)
        var f = try #require(finding(r, "nofile"))
        #expect(f.severity == .warning)
        #expect(f.recommended == "≥ 21000")
        #expect(f.fix == "ulimit -n 21000 (shell) or LimitNOFILE=21000 (systemd unit [Service])")
        host.nofileSoft = "9999"
        r = try report(host, cfg)
        f = try #require(finding(r, "nofile"))
        #expect(f.severity == .critical)
        #expect(f.current == "9999 (hard 1048576)")
        #expect(r.exitCode == 2)
    }

    @Test func nofileWithoutMaxconnUsesTheAutomaticValue() throws {
        let host = try FakeHost()
        host.nofileSoft = "1024"
        let f = try #require(finding(try report(host), "nofile"))
        #expect(f.severity == .warning, "automatic maxconn 512 needs 2024 descriptors")
        #expect(f.why.contains("automatic maxconn 512"))
    }

    private func jobsSnapshot() -> ConfigSnapshot {
        var s = ConfigSnapshot()
        s.jobSections = [JobsConfig(name: "images", location: SourceLocation(file: "t.cfg", line: 1))]
        return s
    }

    @Test func cgroupMemoryIsCheckedOnlyWithAJobsSection() throws {
        let host = try FakeHost()
        var r = try report(host, jobsSnapshot())
        #expect(finding(r, "cgroup-memory")?.severity == .ok, "\(r.table)")
        host.cgroupV2Controllers = "cpu io pids"
        r = try report(host, jobsSnapshot())
        #expect(finding(r, "cgroup-memory")?.severity == .critical)
        #expect(finding(r, "cgroup-memory")?.fix.contains("Delegate=memory") == true)
        #expect(r.exitCode == 2)
        host.cgroupV2Controllers = nil
        host.procCgroup = "12:memory:/breakwater\n"
        host.cgroupV1Memory = true
        r = try report(host, jobsSnapshot())
        #expect(finding(r, "cgroup-memory")?.severity == .warning)
        #expect(finding(r, "cgroup-memory")?.current == "cgroup v1 (memory hierarchy)")
        host.cgroupV1Memory = false
        r = try report(host, jobsSnapshot())
        #expect(finding(r, "cgroup-memory")?.severity == .critical)
        #expect(finding(r, "cgroup-memory")?.current == "no cgroup file system")
    }

    private func ticketSnapshot(_ file: String) -> ConfigSnapshot {
        var fe = FrontendConfig(name: "fe", location: SourceLocation(file: "t.cfg", line: 1))
        var bind = BindConfig(host: "127.0.0.1", port: 8443, location: SourceLocation(file: "t.cfg", line: 2))
        bind.tls = TLSBindConfig(certificates: ["/etc/ssl/site.pem"], ticketKeysFile: file)
        fe.binds = [bind]
        return ConfigSnapshot(frontends: [fe])
    }

    @Test func ticketKeysMustBeOnTmpfs() throws {
        let host = try FakeHost()
        var r = try report(host, ticketSnapshot("/run/haproxy/tickets.key"))
        var f = try #require(finding(r, "ticket-keys-tmpfs"))
        #expect(f.severity == .ok)
        #expect(f.current == "/run/haproxy/tickets.key on tmpfs (/run)")
        r = try report(host, ticketSnapshot("/etc/haproxy/tickets.key"))
        f = try #require(finding(r, "ticket-keys-tmpfs"))
        #expect(f.severity == .warning)
        #expect(f.current == "/etc/haproxy/tickets.key on ext4 (/)")
        #expect(f.fix.hasPrefix("mount -t tmpfs -o size=1m,mode=0700 tmpfs /etc/haproxy"))
        // A later mount over the same point hides the earlier one.
        host.mounts += "/dev/sdb1 /run ext4 rw 0 0\n"
        r = try report(host, ticketSnapshot("/run/haproxy/tickets.key"))
        #expect(finding(r, "ticket-keys-tmpfs")?.severity == .warning)
    }

    @Test func jsonAndTableRenderWorstFirst() throws {
        let host = try FakeHost()
        host.sysctls["vm.swappiness"] = "60"
        host.nofileSoft = "100"
        let r = try report(host, try snapshot(proxyText(global: "  maxconn 1000")))
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.json.utf8)) as? [String: Any])
        #expect(obj["exit"] as? Int == 2)
        let list = try #require(obj["findings"] as? [[String: String]])
        #expect(list.first?["id"] == "nofile" && list.first?["severity"] == "critical")
        #expect(list[1]["id"] == "vm.swappiness")
        #expect(list.allSatisfy { Set($0.keys) == ["id", "severity", "current", "recommended", "why", "fix"] })
        let lines = r.table.split(separator: "\n")
        #expect(lines[0].hasPrefix("SEVERITY"))
        #expect(lines[1].hasPrefix("CRITICAL") && lines[1].contains("nofile"))
        #expect(lines[2].hasPrefix("    fix: ulimit -n 3000"))
        #expect(lines.last?.hasSuffix("(exit 2)") == true)
    }
}

/// The `breakwater doctor` command itself: exit codes on fake trees and one run against the real host.
@Suite struct DoctorCommandTests {
    private func doctor(_ args: [String]) throws -> (Int32, [String: Any], String) {
        let (code, out, err) = try run(try breakwaterBinary(), ["doctor", "--json"] + args)
        let obj = try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any]
        return (code, obj ?? [:], out + err)
    }

    @Test func exitCodesFollowTheWorstFinding() throws {
        let host = try FakeHost()
        let root = try host.build()
        let cfg = host.root.appendingPathComponent("t.cfg")
        try proxyText(global: "  maxconn 1000").write(to: cfg, atomically: true, encoding: .utf8)
        var (code, obj, text) = try doctor(["--root", root, "-f", cfg.path])
        #expect(code == 0, "\(text)")
        #expect(obj["exit"] as? Int == 0)
        host.sysctls["vm.swappiness"] = "60"
        try host.build()
        (code, obj, text) = try doctor(["--root", root, "-f", cfg.path])
        #expect(code == 1, "\(text)")
        #expect(obj["exit"] as? Int == 1)
        host.nofileSoft = "900"  // below maxconn 1000
        try host.build()
        (code, obj, text) = try doctor(["--root", root, "-f", cfg.path])
        #expect(code == 2, "\(text)")
        #expect(obj["exit"] as? Int == 2)
    }

    @Test func readsTheConfigGivenWithF() throws {
        let host = try FakeHost()
        host.nofileSoft = "5000"
        let root = try host.build()
        let cfg = host.root.appendingPathComponent("t.cfg")
        try proxyText(global: "  maxconn 10000").write(to: cfg, atomically: true, encoding: .utf8)
        let (code, obj, text) = try doctor(["--root", root, "-f", cfg.path])
        #expect(code == 2, "maxconn 10000 with 5000 descriptors is critical: \(text)")
        let list = obj["findings"] as? [[String: String]] ?? []
        #expect(list.first?["id"] == "nofile")
        // An invalid configuration is reported and is exit 2.
        try "frontend fe\n  bogus-keyword 1\n".write(to: cfg, atomically: true, encoding: .utf8)
        let (badCode, badOut, badErr) = try run(try breakwaterBinary(), ["doctor", "--root", root, "-f", cfg.path])
        #expect(badCode == 2)
        #expect(badErr.contains("t.cfg:2: error:"), "\(badOut)\(badErr)")
    }

    @Test func runsAgainstTheRealHost() throws {
        let (code, out, err) = try run(try breakwaterBinary(), ["doctor", "--json"])
        #expect((0...2).contains(code), "\(err)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "\(out)")
        #expect(obj["exit"] as? Int == Int(code))
        let list = try #require(obj["findings"] as? [[String: String]])
        #expect(list.contains { $0["id"] == "net.ipv4.tcp_tw_reuse" })
        #expect(list.contains { $0["id"] == "nofile" })
        let (tableCode, table, _) = try run(try breakwaterBinary(), ["doctor"])
        #expect(tableCode == code)
        #expect(table.hasPrefix("SEVERITY"))
    }
}
