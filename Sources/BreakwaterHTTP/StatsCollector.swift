#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import BreakwaterBalancing
import BreakwaterConfigModel
import BreakwaterCore
import BreakwaterObservability
import NIOCore

/// A proxy as `show stat` numbers it: a `frontend`, a `backend`, or a `listen` (both sides).
public struct StatsProxy: Sendable {
    public let name: String
    /// Numeric id (CLI-4 `iid`): 1-based in declaration order, 2-based when a stats socket exists.
    public let iid: Int
    public let frontend: FrontendRuntime?
    public let backend: BackendRuntime?
}

/// Reads the runtime's counters into the stats views (`show stat`, Prometheus, the stats page).
/// Read-only: it never changes data-path state.
public struct StatsCollector: Sendable {
    public let runtime: ProxyRuntime
    /// Wall-clock time the snapshot is taken at, ms.
    public let nowMs: Int64

    public init(runtime: ProxyRuntime, nowMs: Int64 = wallClockMs()) {
        self.runtime = runtime
        self.nowMs = nowMs
    }

    /// Prometheus text exposition: frontends, backends (with response-time histograms) and servers.
    public func prometheusText() -> String {
        let all = rows()
        let histograms = runtime.backends.map {
            PrometheusRenderer.BackendHistogram(backend: $0.config.name, snapshot: $0.counters.responseTimes.snapshot)
        }
        let process = PrometheusRenderer.ProcessInfo(
            version: BreakwaterVersion.string, nbthread: runtime.snapshot.global.nbthread ?? System.coreCount,
            uptimeSeconds: uptimeSeconds, startTimeSeconds: Int(runtime.startTimeMs / 1000),
            currentConnections: runtime.process.currentConnections.load(ordering: .relaxed), maxConnections: runtime.maxconn)
        return PrometheusRenderer.render(rows: all, histograms: histograms, process: process)
    }

    /// The HTML stats page (HAProxy's page is the model), auto-refreshing when `refreshMs` is set.
    public func htmlPage(refreshMs: Int?) -> String {
        let info = StatsPageRenderer.ProcessInfo(
            version: BreakwaterVersion.string, pid: Int(getpid()), uptimeSeconds: uptimeSeconds,
            currentConnections: runtime.process.currentConnections.load(ordering: .relaxed),
            maxconn: runtime.maxconn, nodeName: SyslogFramer.localHostname())
        return StatsPageRenderer.render(rows: rows(), info: info, refreshMs: refreshMs)
    }

    var uptimeSeconds: Int { max(0, Int((nowMs - runtime.startTimeMs) / 1000)) }

    // MARK: - Proxies

    /// Every proxy in declaration order with its `iid` (CLI-4). A `listen` section appears once,
    /// with both sides; a frontend and a backend that merely share a name are two proxies.
    public var proxies: [StatsProxy] {
        var entries: [(location: SourceLocation, name: String, fe: FrontendRuntime?, be: BackendRuntime?)] = []
        var listenBackends = Set<Int>()
        for fe in runtime.frontends {
            let be = runtime.backends.first { $0.config.name == fe.config.name && $0.config.location == fe.config.location }
            if let be { listenBackends.insert(be.index) }
            entries.append((fe.config.location, fe.config.name, fe, be))
        }
        for be in runtime.backends where !listenBackends.contains(be.index) {
            entries.append((be.config.location, be.config.name, nil, be))
        }
        // Declaration order: files in order of first appearance, then line numbers.
        var fileOrder: [String: Int] = [:]
        for fe in runtime.snapshot.frontends where fileOrder[fe.location.file] == nil {
            fileOrder[fe.location.file] = fileOrder.count
        }
        for be in runtime.snapshot.backends where fileOrder[be.location.file] == nil {
            fileOrder[be.location.file] = fileOrder.count
        }
        let sorted = entries.enumerated().sorted { a, b in
            let fa = fileOrder[a.element.location.file] ?? 0, fb = fileOrder[b.element.location.file] ?? 0
            if fa != fb { return fa < fb }
            if a.element.location.line != b.element.location.line { return a.element.location.line < b.element.location.line }
            return a.offset < b.offset
        }
        let first = runtime.snapshot.global.statsSockets.isEmpty ? 1 : 2
        return sorted.enumerated().map { i, e in
            StatsProxy(name: e.element.name, iid: first + i, frontend: e.element.fe, backend: e.element.be)
        }
    }

    /// Finds a proxy by name or numeric id (`show stat <proxy>`); a `#` prefix is accepted.
    public func proxy(_ key: String) -> [StatsProxy] {
        let all = proxies
        let digits = key.hasPrefix("#") ? String(key.dropFirst()) : key
        if let id = Int(digits) { return all.filter { $0.iid == id } }
        return all.filter { $0.name == key }
    }

    /// Finds a proxy with backend capability by name or `#id`.
    public func backendProxy(_ key: String) -> StatsProxy? {
        let all = proxies.filter { $0.backend != nil }
        if key.hasPrefix("#"), let id = Int(key.dropFirst()) { return all.first { $0.iid == id } }
        return all.first { $0.name == key }
    }

    // MARK: - Rows

    /// `show stat` filters (CLI-4).
    public struct RowFilter: Sendable {
        /// nil = every proxy.
        public var proxies: [StatsProxy]?
        /// OR of 1 frontends, 2 backends, 4 servers; -1 all.
        public var typeMask = -1
        /// Server id; -1 all.
        public var serverID = -1
        /// `up`: hide servers that are not UP (DOWN or MAINT).
        public var hideDown = false
        /// `no-maint`: hide servers in maintenance.
        public var hideMaint = false
        public init() {}
    }

    /// The rows of `show stat`, in CLI-4 order.
    public func rows(_ filter: RowFilter = RowFilter()) -> [StatsRow] {
        var out: [StatsRow] = []
        let mask = filter.typeMask < 0 ? 7 : filter.typeMask
        for proxy in filter.proxies ?? proxies {
            if let fe = proxy.frontend, mask & 1 != 0 {
                out.append(frontendRow(fe, iid: proxy.iid))
            }
            guard let be = proxy.backend else { continue }
            let load = be.balancer.load()
            if mask & 4 != 0 {
                for server in be.servers where filter.serverID < 0 || filter.serverID == server.index + 1 {
                    let row = serverRow(server, in: be, load: load, iid: proxy.iid)
                    if filter.hideMaint && row.displayState == .maint { continue }
                    if filter.hideDown && [.down, .goingUp, .maint].contains(row.displayState) { continue }
                    out.append(row)
                }
            }
            if mask & 2 != 0 {
                out.append(backendRow(be, load: load, iid: proxy.iid))
            }
        }
        return out
    }

    public func frontendRow(_ fe: FrontendRuntime, iid: Int) -> StatsRow {
        let c = fe.counters
        var row = StatsRow(type: .frontend, proxy: fe.config.name, name: "FRONTEND")
        let scur = c.currentSessions.load(ordering: .relaxed)
        row.set(.scur, scur)
        row.set(.smax, max(scur, c.maxSessions.load(ordering: .relaxed)))
        row.set(.slim, fe.config.maxconn ?? runtime.maxconn)
        row.set(.stot, c.totalSessions.load(ordering: .relaxed))
        row.set(.bin, c.bytesIn.load(ordering: .relaxed))
        row.set(.bout, c.bytesOut.load(ordering: .relaxed))
        row.set(.dreq, c.deniedRequests.load(ordering: .relaxed))
        row.set(.dresp, 0)
        row.set(.ereq, c.requestErrors.load(ordering: .relaxed))
        row[.status] = "OPEN"
        row.set(.pid, 1)
        row.set(.iid, iid)
        row.set(.sid, 0)
        if fe.config.mode == .http {
            fillResponses(&row, c)
            row.set(.req_tot, c.requests.load(ordering: .relaxed))
        }
        row[.mode] = fe.config.mode.rawValue
        row.set(.conn_tot, c.totalSessions.load(ordering: .relaxed))
        return row
    }

    public func serverRow(_ server: ServerRuntime, in be: BackendRuntime, load: BackendLoad, iid: Int) -> StatsRow {
        let c = server.counters
        let cfg = server.config
        let sl = load.servers[server.index]
        var row = StatsRow(type: .server, proxy: be.config.name, name: cfg.name)
        row.set(.qcur, 0)  // no per-server queue: waiting requests are in the backend queue
        row.set(.qmax, 0)
        row.set(.scur, sl.served)
        row.set(.smax, sl.maxServed)
        row.set(.slim, cfg.maxconn > 0 ? cfg.maxconn : nil)
        row.set(.stot, c.totalSessions.load(ordering: .relaxed))
        row.set(.bin, c.bytesIn.load(ordering: .relaxed))
        row.set(.bout, c.bytesOut.load(ordering: .relaxed))
        row.set(.dresp, 0)
        row.set(.econ, c.connectErrors.load(ordering: .relaxed))
        row.set(.eresp, c.responseErrors.load(ordering: .relaxed))
        row.set(.wretr, c.retries.load(ordering: .relaxed))
        row.set(.wredis, c.redispatches.load(ordering: .relaxed))
        row[.status] = Self.serverStatus(server, adminState: sl.adminState)
        row.set(.weight, sl.weight)
        row.set(.act, cfg.backup ? 0 : 1)
        row.set(.bck, cfg.backup ? 1 : 0)
        row.set(.qlimit, cfg.maxqueue > 0 ? cfg.maxqueue : nil)
        row.set(.pid, 1)
        row.set(.iid, iid)
        row.set(.sid, server.index + 1)
        row.set(.lbtot, sl.totalSelected)
        if let health = server.health {
            let snap = health.snapshot
            row.set(.chkfail, snap.state.checkFailures)
            row.set(.chkdown, snap.state.downTransitions)
            row.set(.lastchg, seconds(since: snap.lastChangeMs))
            row.set(.downtime, Self.downtimeMs(snap, nowMs: nowMs) / 1000)
            row[.check_status] = (snap.checkRunning ? "* " : "") + snap.lastStatus.rawValue
            if snap.lastStatus != .initialising && snap.lastStatus != .unknown {
                row.set(.check_duration, snap.lastDurationMs)
            }
            row.set(.hanafail, snap.state.passiveFailures)
            row[.last_chk] = snap.lastInfo ?? ""
            row[.check_desc] = snap.lastStatus.reason
            row.set(.check_rise, snap.state.rise)
            row.set(.check_fall, snap.state.fall)
            row.set(.check_health, sl.adminState == .maint ? 0 : snap.state.health)
        } else {
            row.set(.lastchg, uptimeSeconds)
        }
        if be.config.mode == .http { fillResponses(&row, c) }
        row[.addr] = Self.address(cfg.host, cfg.port)
        row[.mode] = be.config.mode.rawValue
        row.set(.uweight, sl.weight)
        return row
    }

    public func backendRow(_ be: BackendRuntime, load: BackendLoad, iid: Int) -> StatsRow {
        let c = be.counters
        var row = StatsRow(type: .backend, proxy: be.config.name, name: "BACKEND")
        row.set(.qcur, load.queued)
        row.set(.qmax, load.maxQueued)
        let scur = be.activeRequests.load(ordering: .relaxed)
        let serverMax = load.servers.map(\.maxServed).max() ?? 0
        row.set(.scur, scur)
        row.set(.smax, max(scur, c.maxSessions.load(ordering: .relaxed), serverMax, load.maxQueued))
        row.set(.slim, fullconn(be))
        row.set(.stot, c.totalSessions.load(ordering: .relaxed))
        row.set(.bin, c.bytesIn.load(ordering: .relaxed))
        row.set(.bout, c.bytesOut.load(ordering: .relaxed))
        row.set(.dreq, c.deniedRequests.load(ordering: .relaxed))
        row.set(.dresp, 0)
        row.set(.econ, c.connectErrors.load(ordering: .relaxed))
        row.set(.eresp, c.responseErrors.load(ordering: .relaxed))
        row.set(.wretr, c.retries.load(ordering: .relaxed))
        row.set(.wredis, c.redispatches.load(ordering: .relaxed))

        // Usable servers as the balancer sees them (BE-3): UP, ready, weight > 0.
        let usable = load.servers.indices.filter { i in
            let s = load.servers[i]
            return s.isUp && s.adminState == .ready && s.weight > 0
        }
        let active = usable.filter { !be.servers[$0].config.backup }
        let backup = usable.filter { be.servers[$0].config.backup }
        row[.status] = load.servers.isEmpty || !usable.isEmpty ? "UP" : "DOWN"
        let weighted = active.isEmpty ? backup : active
        row.set(.weight, weighted.reduce(0) { $0 + load.servers[$1].weight })
        row.set(.act, active.count)
        row.set(.bck, backup.count)
        // The backend's own UP/DOWN transitions are not recorded: lastchg is the most recent server
        // health change (or the start); chkdown and downtime stay empty.
        let changes = be.servers.compactMap { $0.health?.snapshot.lastChangeMs }
        row.set(.lastchg, seconds(since: max(changes.max() ?? runtime.startTimeMs, runtime.startTimeMs)))
        row.set(.pid, 1)
        row.set(.iid, iid)
        row.set(.sid, 0)
        row.set(.lbtot, load.servers.reduce(0) { $0 + $1.totalSelected })
        if be.config.mode == .http {
            fillResponses(&row, c)
            row.set(.req_tot, c.requests.load(ordering: .relaxed))
        }
        row[.mode] = be.config.mode.rawValue
        row[.algo] = be.config.balance.rawValue
        row.set(.uweight, weighted.reduce(0) { $0 + load.servers[$1].weight })
        return row
    }

    // MARK: - Helpers

    /// The `status` column of a server (HC-3 display, CLI-7 admin states).
    public static func serverStatus(_ server: ServerRuntime, adminState: ServerAdminState) -> String {
        if let health = server.health { return health.statusText(adminState: adminState) }
        switch adminState {
        case .maint: return "MAINT"
        case .drain: return "DRAIN"
        case .ready: return "no check"
        }
    }

    /// Total ms spent DOWN, including a current DOWN period.
    static func downtimeMs(_ snap: ServerHealth.Snapshot, nowMs: Int64) -> Int {
        let current = snap.state.isUp ? 0 : max(0, nowMs - snap.lastChangeMs)
        return Int(snap.downtimeMs + current)
    }

    func seconds(since ms: Int64) -> Int { max(0, Int((nowMs - ms) / 1000)) }

    /// `fullconn` (CLI-4 `slim` of a backend): ceil(Σ maxconn of the frontends that can route to
    /// it ÷ 10), at least 1.
    public func fullconn(_ be: BackendRuntime) -> Int {
        var total = 0
        for fe in runtime.frontends {
            let routes = fe.config.defaultBackend == be.config.name
                || fe.config.useBackendRules.contains { $0.backend == be.config.name }
                || (fe.config.name == be.config.name && fe.config.location == be.config.location)
            if routes { total += fe.config.maxconn ?? runtime.maxconn }
        }
        return max(1, (total + 9) / 10)
    }

    private func fillResponses(_ row: inout StatsRow, _ c: ProxyCounters) {
        let r = c.responsesByClass.map { $0.load(ordering: .relaxed) }
        row.set(.hrsp_1xx, r[1])
        row.set(.hrsp_2xx, r[2])
        row.set(.hrsp_3xx, r[3])
        row.set(.hrsp_4xx, r[4])
        row.set(.hrsp_5xx, r[5])
        row.set(.hrsp_other, r[0])
    }

    static func address(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
