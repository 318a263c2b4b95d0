import BreakwaterCore

/// Descriptors, ephemeral ports, the jobs' memory cgroup and the ticket keys' file system.
struct ResourceChecks {
    let host: HostFiles
    let needs: ConfigNeeds

    /// Soft and hard `Max open files` from `/proc/self/limits` (nil = unreadable; Int.max = unlimited).
    static func nofile(_ host: HostFiles) -> (soft: Int, hard: Int)? {
        guard let text = host.read("/proc/self/limits") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Max open files") {
            let fields = line.dropFirst("Max open files".count).split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2 else { return nil }
            func value(_ s: Substring) -> Int? { s == "unlimited" ? Int.max : Int(s) }
            guard let soft = value(fields[0]), let hard = value(fields[1]) else { return nil }
            return (soft, hard)
        }
        return nil
    }

    func nofile() -> Finding {
        let need = 2 * needs.maxconn + 1000
        let source = needs.maxconnConfigured ? "maxconn \(needs.maxconn)" : "automatic maxconn \(needs.maxconn)"
        let why = "descriptor exhaustion (accept EMFILE): each proxied connection needs two descriptors (\(source)), "
            + "plus \(needs.listeners) listeners, \(needs.checkedServers) checks and the idle pools"
        let fix = "ulimit -n \(need) (shell) or LimitNOFILE=\(need) (systemd unit [Service])"
        guard let limit = Self.nofile(host) else {
            return Finding(id: "nofile", severity: .warning, current: "unreadable (\(host.resolve("/proc/self/limits")))",
                           recommended: "≥ \(need)", why: why, fix: fix)
        }
        let severity: FindingSeverity = limit.soft >= need ? .ok : (limit.soft < needs.maxconn ? .critical : .warning)
        let hard = limit.hard == Int.max ? "unlimited" : "\(limit.hard)"
        let soft = limit.soft == Int.max ? "unlimited" : "\(limit.soft)"
        return Finding(id: "nofile", severity: severity, current: "\(soft) (hard \(hard))", recommended: "≥ \(need)",
                       why: why, fix: severity == .ok ? "" : fix)
    }

    func ephemeralPorts() -> Finding {
        let conns = needs.serverConnections
        let twReuse = host.sysctl("net.ipv4.tcp_tw_reuse").flatMap { Int($0) } ?? 0
        guard let r = SysctlChecks.portRangeWidth(host) else {
            return Finding(id: "ephemeral-ports", severity: .warning, current: "port range unreadable",
                           recommended: "≥ \(2 * conns) ports", why: "cannot compare the port range with the server connections",
                           fix: SysctlChecks.fix("net.ipv4.ip_local_port_range", "10240 65535"))
        }
        // A closed connection keeps its port in TIME_WAIT for 60 s (TCP_TIMEWAIT_LEN) unless tw_reuse lets a connect take it.
        let sustainable = r.width / 60
        var severity: FindingSeverity = .ok
        var why = "the config can hold \(conns) server connections at once; \(r.width) ports"
        if r.width < conns {
            severity = .critical
            why += " cannot hold them: connects fail with EADDRNOTAVAIL (503s) before maxconn is reached"
        } else if r.width < 2 * conns {
            severity = .warning
            why += " leave less than half free for TIME_WAIT churn"
        }
        if !needs.noReuseBackends.isEmpty && twReuse != 1 {
            severity = max(severity, .warning)
            why += "; http-reuse never in \(needs.noReuseBackends.joined(separator: ", ")) closes a server connection per request: "
                + "without tcp_tw_reuse only ~\(sustainable) new connections/s per server address are sustainable (TIME_WAIT 60 s)"
        } else {
            why += "; TIME_WAIT churn: ~\(sustainable) new connections/s per server address\(twReuse == 1 ? ", more with tcp_tw_reuse 1" : "")"
        }
        var fix = ""
        if severity != .ok {
            var parts: [String] = []
            if r.width < 2 * conns { parts.append("set server maxconn (each server's share) or widen: " + SysctlChecks.fix("net.ipv4.ip_local_port_range", "1024 65535")) }
            if !needs.noReuseBackends.isEmpty && twReuse != 1 {
                parts.append("http-reuse safe in \(needs.noReuseBackends.joined(separator: ", ")); " + SysctlChecks.fix("net.ipv4.tcp_tw_reuse", "1"))
            }
            fix = parts.joined(separator: "; ")
        }
        return Finding(id: "ephemeral-ports", severity: severity, current: "\(r.width) ports for \(conns) server connections",
                       recommended: "≥ \(2 * conns) ports, connection reuse on", why: why, fix: fix)
    }

    /// The `jobs` sections run workers under a memory ceiling: cgroup v2 with a memory controller the
    /// process may write beneath its own cgroup.
    func cgroupMemory() -> Finding {
        let id = "cgroup-memory"
        let recommended = "cgroup v2, memory controller writable in the process's cgroup"
        let why = "jobs run workers under a memory ceiling (the write-up's 512 MB image workers): without a memory controller "
            + "a leaking worker grows until the OOM killer takes the host's processes"
        let fix = "systemd: Delegate=memory in the breakwater unit [Service] (or as root: echo +memory > /sys/fs/cgroup/<parent>/cgroup.subtree_control)"
        guard let own = host.read("/proc/self/cgroup") else {
            return Finding(id: id, severity: .critical, current: "unreadable (\(host.resolve("/proc/self/cgroup")))",
                           recommended: recommended, why: why, fix: fix)
        }
        let lines = own.split(separator: "\n")
        if let v2 = lines.first(where: { $0.hasPrefix("0::") }), host.exists("/sys/fs/cgroup/cgroup.controllers") {
            var path = String(v2.dropFirst(3))
            if path == "/" { path = "" }
            let dir = "/sys/fs/cgroup" + path
            let controllers = host.read(dir + "/cgroup.controllers")?.split(whereSeparator: \.isWhitespace) ?? []
            guard controllers.contains("memory") else {
                return Finding(id: id, severity: .critical, current: "cgroup v2, no memory controller in \(dir)",
                               recommended: recommended, why: why, fix: fix)
            }
            guard host.isWritable(dir) else {
                return Finding(id: id, severity: .critical, current: "cgroup v2, \(dir) not writable",
                               recommended: recommended, why: why, fix: fix)
            }
            return Finding(id: id, severity: .ok, current: "cgroup v2, memory controller in \(dir)", recommended: recommended,
                           why: why, fix: "")
        }
        if host.exists("/sys/fs/cgroup/memory") {
            return Finding(id: id, severity: .warning, current: "cgroup v1 (memory hierarchy)", recommended: recommended,
                           why: why + "; v1 memory.limit_in_bytes does not count kernel memory reliably",
                           fix: "boot with systemd.unified_cgroup_hierarchy=1, then " + fix)
        }
        return Finding(id: id, severity: .critical, current: "no cgroup file system", recommended: recommended, why: why,
                       fix: "mount -t cgroup2 none /sys/fs/cgroup; " + fix)
    }

    /// One finding per `tls-ticket-keys` file: it must live on tmpfs so the keys never reach a disk.
    func ticketKeys() -> [Finding] {
        let mounts = host.read("/proc/mounts").map { MountTable(procMounts: $0) }
        return needs.ticketKeyFiles.map { file in
            let why = "ticket keys on a persistent disk survive in its blocks: whoever reads them later decrypts every recorded "
                + "session they protected (forward secrecy lost)"
            let fix = "mount -t tmpfs -o size=1m,mode=0700 tmpfs \(parentDirectory(file)) (fstab: tmpfs \(parentDirectory(file)) tmpfs size=1m,mode=0700 0 0)"
            guard let mounts else {
                return Finding(id: "ticket-keys-tmpfs", severity: .warning, current: "\(file): /proc/mounts unreadable",
                               recommended: "tmpfs", why: why, fix: fix)
            }
            guard let m = mounts.mount(containing: file) else {
                return Finding(id: "ticket-keys-tmpfs", severity: .warning, current: "\(file): no mount holds it",
                               recommended: "tmpfs", why: why, fix: fix)
            }
            let ok = m.isRAM
            return Finding(id: "ticket-keys-tmpfs", severity: ok ? .ok : .warning,
                           current: "\(file) on \(m.fsType) (\(m.mountPoint))", recommended: "tmpfs", why: why, fix: ok ? "" : fix)
        }
    }

    private func parentDirectory(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }
}
