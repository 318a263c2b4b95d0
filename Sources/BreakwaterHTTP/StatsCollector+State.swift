import BreakwaterBalancing
import BreakwaterConfigModel
import BreakwaterObservability
import NIOCore

extension StatsCollector {
    /// Header line of `show servers state` (CLI-5), without the leading version line.
    public static let serversStateHeader = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
        + "srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
        + "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord "
        + "srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port"

    /// `show servers state` lines (CLI-5) of the given backends (all when nil): version `1`, the
    /// header, one line per server. `configMaint` tells whether a server in MAINT is still there
    /// because of `disabled` in the configuration (admin bit 0x04, with 0x01 as HAProxy sets both).
    public func serversState(_ proxies: [StatsProxy]? = nil,
                             configMaint: (BackendRuntime, ServerRuntime) -> Bool) -> String {
        var out = "1\n" + Self.serversStateHeader + "\n"
        for proxy in proxies ?? self.proxies {
            guard let be = proxy.backend else { continue }
            let load = be.balancer.load()
            for server in be.servers {
                out += serverStateLine(server, in: be, load: load, beID: proxy.iid,
                                       configMaint: configMaint(be, server)) + "\n"
            }
        }
        return out
    }

    func serverStateLine(_ server: ServerRuntime, in be: BackendRuntime, load: BackendLoad, beID: Int,
                         configMaint: Bool) -> String {
        let cfg = server.config
        let sl = load.servers[server.index]
        let snap = server.health?.snapshot
        // Operational state: 0 stopped (DOWN or MAINT), 2 running.
        let up = sl.adminState != .maint && (snap?.state.isUp ?? true)
        var admin = 0
        switch sl.adminState {
        case .maint: admin = configMaint ? 0x05 : 0x01
        case .drain: admin = 0x08
        case .ready: admin = 0
        }
        let checkStatus: Int
        let checkResult: Int
        let checkHealth: Int
        var checkState = 0
        let changedMs: Int64
        if let snap {
            checkStatus = snap.lastStatus.code
            checkResult = Self.checkResult(snap.lastStatus)
            checkHealth = sl.adminState == .maint ? 0 : snap.state.health
            checkState = 0x02 | 0x04
            if snap.checkRunning { checkState |= 0x01 }
            if sl.adminState == .maint { checkState |= 0x08 }
            changedMs = snap.lastChangeMs
        } else {
            checkStatus = CheckStatus.initialising.code
            checkResult = 0
            checkHealth = sl.adminState == .maint ? 0 : cfg.health.rise
            changedMs = runtime.startTimeMs
        }
        let fields: [String] = [
            String(beID), be.config.name, String(server.index + 1), cfg.name, cfg.host,
            up ? "2" : "0", String(admin), String(sl.weight), String(cfg.weight), String(seconds(since: changedMs)),
            String(checkStatus), String(checkResult), String(checkHealth), String(checkState), "0",
            "0", "0", "-", String(cfg.port), "-", "0",
            String(snap == nil ? 0 : (cfg.health.port ?? cfg.port)),
            snap == nil ? "-" : (cfg.health.address ?? "-"), "-", "0",
        ]
        return fields.map { $0.isEmpty ? "-" : $0 }.joined(separator: " ")
    }

    /// HC-8 check result number: 0 unknown, 2 failed, 3 passed.
    static func checkResult(_ status: CheckStatus) -> Int {
        switch status {
        case .unknown, .initialising: return 0
        case .l4ok, .l7ok: return 3
        case .healthAnalyze, .socketError, .l4timeout, .l4connect, .l7timeout, .l7response, .l7status: return 2
        }
    }
}

extension ProxyServer {
    /// One live client connection, for `show sess`.
    public struct SessionInfo: Sendable {
        public var id: ObjectIdentifier
        public var remote: SocketAddress?
        public var local: SocketAddress?
        public var frontend: String?
    }

    /// The client connections open right now, with the frontend whose bind accepted each (by local
    /// port). Read-only snapshot of the connection registry.
    public var sessions: [SessionInfo] {
        var byPort: [Int: String] = [:]
        for fe in runtime.frontends {
            for bind in fe.config.binds where byPort[bind.port] == nil { byPort[bind.port] = fe.config.name }
        }
        return registry.all.map { channel in
            let local = channel.localAddress
            return SessionInfo(id: ObjectIdentifier(channel), remote: channel.remoteAddress, local: local,
                               frontend: local?.port.flatMap { byPort[$0] })
        }
    }
}
