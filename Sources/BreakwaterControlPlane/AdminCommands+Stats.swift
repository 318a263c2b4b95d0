import BreakwaterConfigModel
import BreakwaterHTTP
import BreakwaterObservability
import NIOCore

/// Read-only commands: `show stat` (CLI-4), `show servers state` (CLI-5), `show sess`.
extension AdminCommands {
    var statsCommands: [AdminCommand] {
        [
            AdminCommand(words: ["show", "stat"], level: .user,
                         help: "show stat [<px> <type> <sid>] [up|no-maint] : report counters for each proxy and server (CSV)") { _, args in
                self.showStat(Array(args.dropFirst(2)))
            },
            AdminCommand(words: ["show", "servers", "state"], level: .user,
                         help: "show servers state [<be>]   : dump volatile server information (all or one backend)") { _, args in
                self.showServersState(args.count > 3 ? args[3] : nil)
            },
            AdminCommand(words: ["show", "sess"], level: .user,
                         help: "show sess                   : list client connections (one line each) and a per-proxy summary") { _, _ in
                self.showSess()
            },
        ]
    }

    static let showStatUsage = "Usage: show stat [{<proxy-id>|<proxy-name>} <type-mask> <server-id>] [up|no-maint]\n"

    /// `show stat [{<px>|<id>} <type-mask> <sid>] [up|no-maint]` (CLI-4).
    func showStat(_ args: [String]) -> String {
        let collector = StatsCollector(runtime: runtime)
        var filter = StatsCollector.RowFilter()
        var positional: [String] = []
        for arg in args {
            switch arg {
            case "up": filter.hideDown = true
            case "no-maint": filter.hideMaint = true
            case "typed", "json": return "show stat: only the CSV output format is supported.\n"
            default: positional.append(arg)
            }
        }
        guard positional.count <= 3 else { return Self.showStatUsage }
        if let px = positional.first, px != "-1" {
            let found = collector.proxy(px)
            guard !found.isEmpty else { return "No such proxy.\n" }
            filter.proxies = found
        }
        if positional.count > 1 {
            guard let mask = Int(positional[1]) else { return Self.showStatUsage }
            filter.typeMask = mask
        }
        if positional.count > 2 {
            guard let sid = Int(positional[2]) else { return Self.showStatUsage }
            filter.serverID = sid
        }
        return StatCSVRenderer.render(collector.rows(filter))
    }

    /// `show servers state [<backend>]` (CLI-5).
    func showServersState(_ backend: String?) -> String {
        let collector = StatsCollector(runtime: runtime)
        var proxies: [StatsProxy]?
        if let backend {
            guard let proxy = collector.backendProxy(backend) else { return "Can't find backend.\n" }
            proxies = [proxy]
        }
        return collector.serversState(proxies) { be, server in
            server.config.disabled && !self.adminChanges.changed(backend: be.index, server: server.index)
        }
    }

    /// `show sess`: Breakwater has no per-stream table like HAProxy's; it lists the open client
    /// connections (one line each) and then a summary per frontend and backend.
    func showSess() -> String {
        var out = ""
        let sessions = server.sessions.sorted { ($0.remote?.description ?? "") < ($1.remote?.description ?? "") }
        for s in sessions {
            let id = String(UInt(bitPattern: s.id), radix: 16)
            out += "0x\(id): proto=\(Self.proto(s.remote)) src=\(Self.text(s.remote)) "
                + "fe=\(s.frontend ?? "<NONE>") dst=\(Self.text(s.local))\n"
        }
        let p = runtime.process
        out += "total: \(sessions.count) client connections "
            + "(CurrConns \(p.currentConnections.load(ordering: .relaxed)), "
            + "CumConns \(p.cumulativeConnections.load(ordering: .relaxed)), "
            + "CumReq \(p.cumulativeRequests.load(ordering: .relaxed)))\n"
        for fe in runtime.frontends {
            let c = fe.counters
            out += "frontend \(fe.config.name): cur=\(c.currentSessions.load(ordering: .relaxed)) "
                + "tot=\(c.totalSessions.load(ordering: .relaxed)) req=\(c.requests.load(ordering: .relaxed))\n"
        }
        for be in runtime.backends {
            let load = be.balancer.load()
            out += "backend \(be.config.name): active=\(be.activeRequests.load(ordering: .relaxed)) "
                + "queued=\(load.queued) serving=\(load.servers.reduce(0) { $0 + $1.served }) "
                + "served=\(be.servers.reduce(0) { $0 + $1.counters.totalSessions.load(ordering: .relaxed) })\n"
        }
        return out
    }

    static func proto(_ address: SocketAddress?) -> String {
        switch address {
        case .v4: return "tcpv4"
        case .v6: return "tcpv6"
        case .unixDomainSocket: return "unix_stream"
        case nil: return "?"
        }
    }

    static func text(_ address: SocketAddress?) -> String {
        guard let address else { return "?" }
        switch address {
        case .v4, .v6:
            let ip = address.ipAddress ?? "?"
            let port = address.port.map(String.init) ?? "?"
            return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
        case .unixDomainSocket:
            return address.pathname ?? "unix"
        }
    }
}
