/// The kernel settings the write-ups tuned, each with its `ok` range (issue 14) and the reason.
/// The recommendations follow the write-ups where they are right and say so where a write-up's value is risky.
struct SysctlChecks {
    let host: HostFiles
    let needs: ConfigNeeds

    static let sysctlFile = "/etc/sysctl.d/90-breakwater.conf"

    /// `sysctl -w NAME=VALUE` and the persistent line.
    static func fix(_ name: String, _ value: String) -> String {
        let quoted = value.contains(" ") ? "\"\(value)\"" : value
        return "sysctl -w \(name)=\(quoted) && echo '\(name) = \(value)' >> \(sysctlFile)"
    }

    func all() -> [Finding] {
        [portRange(), twReuse(), finTimeout(), maxTWBuckets(), orphanRetries(),
         backlog("net.core.somaxconn", what: "accept queue"),
         backlog("net.ipv4.tcp_max_syn_backlog", what: "SYN queue"),
         vfsCachePressure(), swappiness()]
    }

    /// A finding for a value that could not be read (a container without the file, or a bad tree).
    private func unreadable(_ name: String, recommended: String, why: String) -> Finding {
        Finding(id: name, severity: .warning, current: "unreadable (\(host.resolve("/proc/sys/" + name.replacingOccurrences(of: ".", with: "/"))))",
                recommended: recommended, why: why, fix: Self.fix(name, recommended))
    }

    private func integer(_ name: String) -> Int? {
        host.sysctl(name).flatMap { Int($0) }
    }

    /// The width of `ip_local_port_range`, nil when unreadable.
    static func portRangeWidth(_ host: HostFiles) -> (low: Int, high: Int, width: Int)? {
        guard let text = host.sysctl("net.ipv4.ip_local_port_range") else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { Int($0) }
        guard parts.count == 2, parts[1] >= parts[0] else { return nil }
        return (parts[0], parts[1], parts[1] - parts[0] + 1)
    }

    func portRange() -> Finding {
        let name = "net.ipv4.ip_local_port_range"
        let need = max(28_000, 2 * needs.serverConnections)
        // 10240-65535 (55,296 ports) keeps clear of the ports local services listen on; the write-up's
        // 1024-65535 lets an outgoing connection take a port a service (9000, 3306, 6379…) needs at restart.
        let recommended = need <= 55_296 ? "10240 65535" : "1024 65535"
        let why = "ephemeral-port exhaustion: every server connection holds one port (and 60 s of TIME_WAIT after it closes); "
            + "needs ≥ \(need) ports (28,000, and twice the \(needs.serverConnections) server connections the config can hold)"
            + (recommended == "1024 65535" ? "; 1024 65535 (the write-up's) is needed here, reserve service ports with net.ipv4.ip_local_reserved_ports" : "; the write-up's 1024 65535 collides with service ports")
        guard let r = Self.portRangeWidth(host) else { return unreadable(name, recommended: recommended, why: why) }
        let severity: FindingSeverity = r.width >= need ? .ok : .warning
        return Finding(id: name, severity: severity, current: "\(r.low) \(r.high) (\(r.width) ports)",
                       recommended: recommended, why: why, fix: severity == .ok ? "" : Self.fix(name, recommended))
    }

    func twReuse() -> Finding {
        let name = "net.ipv4.tcp_tw_reuse"
        let why = "TIME_WAIT exhaustion: at 20k new server connections/s a port stays in TIME_WAIT 60 s, 1.2M > 64k ports; "
            + "1 lets outgoing connects reuse a TIME_WAIT port safely (timestamps), 2 (default) only on loopback"
        guard let v = integer(name) else { return unreadable(name, recommended: "1", why: why) }
        return finding(name, ok: v == 1, current: "\(v)", recommended: "1", why: why)
    }

    func finTimeout() -> Finding {
        let name = "net.ipv4.tcp_fin_timeout"
        let why = "orphaned FIN_WAIT_2 sockets hold ports and memory for the whole timeout (default 60 s); "
            + "≤ 30 s frees them (the write-up's 10 is fine)"
        guard let v = integer(name) else { return unreadable(name, recommended: "30", why: why) }
        return finding(name, ok: v <= 30, current: "\(v)", recommended: "30", why: why)
    }

    func maxTWBuckets() -> Finding {
        let name = "net.ipv4.tcp_max_tw_buckets"
        let why = "above this many TIME_WAIT sockets the kernel kills new ones early (\"time wait bucket table overflow\"), "
            + "so late segments hit a reused port; ≥ 262,144 (the write-up's 500000 is fine)"
        guard let v = integer(name) else { return unreadable(name, recommended: "500000", why: why) }
        return finding(name, ok: v >= 262_144, current: "\(v)", recommended: "500000", why: why)
    }

    func orphanRetries() -> Finding {
        let name = "net.ipv4.tcp_orphan_retries"
        var why = "FIN retransmissions for sockets no process holds; 2-4 frees them within seconds yet survives a lost packet"
        guard let v = integer(name) else { return unreadable(name, recommended: "3", why: why) }
        if v == 1 { why = "the write-up's 1 gives up after one FIN retransmission: on a lossy link peers keep half-open connections; " + why }
        if v == 0 { why = "0 means the kernel's default of 8 retries (~100 s of orphans at 20k conn/s); " + why }
        return finding(name, ok: (2...4).contains(v), current: "\(v)", recommended: "3", why: why)
    }

    func backlog(_ name: String, what: String) -> Finding {
        let need = max(4096, needs.listenBacklog)
        let why = "a full \(what) drops new connections during bursts (ListenOverflows, SYN drops at 20k conn/s); "
            + "≥ 4,096 and ≥ every listener's backlog (\(needs.listenBacklog))"
        guard let v = integer(name) else { return unreadable(name, recommended: "\(need)", why: why) }
        return finding(name, ok: v >= need, current: "\(v)", recommended: "\(need)", why: why)
    }

    func vfsCachePressure() -> Finding {
        let name = "vm.vfs_cache_pressure"
        var why = "dentry/inode cache reclaim: 50-200 keeps hot path lookups cached while slab stays bounded"
        guard let v = integer(name) else { return unreadable(name, recommended: "100", why: why) }
        if v > 200 { why = "the write-up's 500 evicts hot dentries too, turning every include/stat into a file-system lookup; " + why }
        if v < 50 { why = "below 50 the dentry slab grows until it pressures page cache and containers (the write-up's 14 GB slab); " + why }
        return finding(name, ok: (50...200).contains(v), current: "\(v)", recommended: "100", why: why)
    }

    func swappiness() -> Finding {
        let name = "vm.swappiness"
        let why = "swapping the proxy's or FPM workers' pages turns sub-ms requests into disk waits; ≤ 10 (the write-up's 10)"
        guard let v = integer(name) else { return unreadable(name, recommended: "10", why: why) }
        return finding(name, ok: v <= 10, current: "\(v)", recommended: "10", why: why)
    }

    private func finding(_ name: String, ok: Bool, current: String, recommended: String, why: String) -> Finding {
        Finding(id: name, severity: ok ? .ok : .warning, current: current, recommended: recommended, why: why,
                fix: ok ? "" : Self.fix(name, recommended))
    }
}
