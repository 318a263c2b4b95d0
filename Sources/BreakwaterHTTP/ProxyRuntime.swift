import Atomics
import BreakwaterACL
import BreakwaterBalancing
import BreakwaterConfigModel
import BreakwaterObservability
import BreakwaterStickTables
import Logging
import NIOCore
import Synchronization

/// Process-wide counters (`show info`).
public final class ProcessCounters: Sendable {
    public let currentConnections = ManagedAtomic<Int>(0)
    public let cumulativeConnections = ManagedAtomic<Int>(0)
    public let cumulativeRequests = ManagedAtomic<Int>(0)
    public let totalBytesOut = ManagedAtomic<Int>(0)
    public init() {}
}

/// Counters of one proxy (frontend or backend side), read by `show stat` and metrics.
public final class ProxyCounters: Sendable {
    public let currentSessions = ManagedAtomic<Int>(0)
    public let totalSessions = ManagedAtomic<Int>(0)
    public let requests = ManagedAtomic<Int>(0)
    public let deniedRequests = ManagedAtomic<Int>(0)
    /// Connections refused by `tcp-request connection reject` (`dcon`).
    public let deniedConnections = ManagedAtomic<Int>(0)
    public let requestErrors = ManagedAtomic<Int>(0)
    public let connectErrors = ManagedAtomic<Int>(0)
    public let responseErrors = ManagedAtomic<Int>(0)
    public let retries = ManagedAtomic<Int>(0)
    public let redispatches = ManagedAtomic<Int>(0)
    public let bytesIn = ManagedAtomic<Int>(0)
    public let bytesOut = ManagedAtomic<Int>(0)
    /// Responses by status class: index 0 = other, 1 = 1xx … 5 = 5xx.
    public let responsesByClass: [ManagedAtomic<Int>] = (0..<6).map { _ in ManagedAtomic<Int>(0) }
    /// Highest concurrent sessions seen (`smax` of frontends and backends); see `noteSessions`.
    public let maxSessions = ManagedAtomic<Int>(0)
    /// Server response times (Tr), for the Prometheus histogram.
    public let responseTimes = ResponseTimeHistogram()
    public init() {}

    /// Raises `maxSessions` to `current` if it is higher (call after incrementing a session gauge).
    public func noteSessions(_ current: Int) {
        var seen = maxSessions.load(ordering: .relaxed)
        while current > seen {
            let (exchanged, original) = maxSessions.compareExchange(expected: seen, desired: current, ordering: .relaxed)
            if exchanged { return }
            seen = original
        }
    }

    func countResponse(status: Int) {
        let cls = (100...599).contains(status) ? status / 100 : 0
        responsesByClass[cls].wrappingIncrement(ordering: .relaxed)
    }
}

/// A compiled `http-request` rule.
struct CompiledHTTPRequestRule: Sendable {
    let action: HTTPRequestRule.Action
    let condition: CompiledCondition?
}

/// A compiled `tcp-request connection` rule.
struct CompiledTCPConnectionRule: Sendable {
    let action: TCPConnectionRule.Action
    let condition: CompiledCondition?
}

/// A frontend ready for the data path: config, compiled rules, counters and its traffic logger.
public final class FrontendRuntime: Sendable {
    public let config: FrontendConfig
    public let counters = ProxyCounters()
    let rules: [CompiledHTTPRequestRule]
    let tcpConnectionRules: [CompiledTCPConnectionRule]
    /// Tables reachable from this frontend's rules and fetches, by name.
    let tables: [String: StickTable]
    let useBackend: [(backend: BackendRuntime, condition: CompiledCondition?)]
    let defaultBackend: BackendRuntime?
    let trafficLogger: Logger?

    init(config: FrontendConfig, backends: [String: BackendRuntime], trafficLogger: Logger?, tables: [String: StickTable]) {
        self.config = config
        self.tables = tables
        tcpConnectionRules = config.tcpConnectionRules.map {
            CompiledTCPConnectionRule(action: $0.action, condition: $0.condition.map(CompiledCondition.init))
        }
        rules = config.httpRequestRules.map { CompiledHTTPRequestRule(action: $0.action, condition: $0.condition.map(CompiledCondition.init)) }
        useBackend = config.useBackendRules.compactMap { rule in
            backends[rule.backend].map { ($0, rule.condition.map(CompiledCondition.init)) }
        }
        defaultBackend = config.defaultBackend.flatMap { backends[$0] }
        self.trafficLogger = trafficLogger
    }
}

/// A server's resolved address, counters and health.
public final class ServerRuntime: Sendable {
    public let config: ServerConfig
    public let index: Int
    public let address: SocketAddress
    public let counters = ProxyCounters()
    /// nil when the server has no `check` (always UP, `no check`).
    public let health: ServerHealth?
    let checkLoop: Mutex<ServerCheckLoop?> = Mutex(nil)
    /// Server connections carrying a request right now, closed by `on-marked-down shutdown-sessions`.
    private let sessions: Mutex<[ObjectIdentifier: Channel]> = Mutex([:])
    /// Bumped when sessions are shut down, so aborted requests log `D` (LOG-4).
    let shutdownGeneration = ManagedAtomic<Int>(0)

    init(config: ServerConfig, index: Int) throws {
        self.config = config
        self.index = index
        address = try config.unixSocketPath.map { try SocketAddress(unixDomainSocketPath: $0) } ?? SocketAddress(ipAddress: config.host, port: config.port)
        health = config.health.enabled ? ServerHealth(config: config.health, nowMs: wallClockMs()) : nil
    }

    func sessionStarted(_ channel: Channel) {
        guard config.health.shutdownSessionsOnDown else { return }
        sessions.withLock { $0[ObjectIdentifier(channel)] = channel }
    }

    func sessionEnded(_ channel: Channel) {
        guard config.health.shutdownSessionsOnDown else { return }
        sessions.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    func shutdownSessions() {
        shutdownGeneration.wrappingIncrement(ordering: .relaxed)
        let all = sessions.withLock { s -> [Channel] in
            let out = Array(s.values)
            s.removeAll()
            return out
        }
        for channel in all { channel.close(promise: nil) }
    }
}

/// A backend ready for the data path.
public final class BackendRuntime: Sendable {
    public let config: BackendConfig
    /// Position among backends; keys the per-event-loop connection pools.
    public let index: Int
    public let balancer: BackendBalancer
    public let servers: [ServerRuntime]
    public let counters = ProxyCounters()
    /// Requests assigned to this backend right now, including queued ones (`%bc`).
    public let activeRequests = ManagedAtomic<Int>(0)
    let rules: [CompiledHTTPRequestRule]
    /// Server state changes go to the backend's log targets (HC-9).
    let stateLogger: Logger?
    /// `use-fcgi-app`, compiled (spec §12); nil for HTTP backends.
    let fastCGI: FastCGIBackend?

    /// Writes an HC-9 message to the backend's targets and the process log.
    func logStateChange(_ message: String, severity: Int, processLogger: Logger) {
        stateLogger?.log(level: severity <= 3 ? .error : .notice, "\(message)", metadata: ["syslog.severity": "\(severity)"])
        processLogger.log(level: severity <= 3 ? .warning : .notice, "\(message)")
    }

    init(config: BackendConfig, index: Int, stateLogger: Logger? = nil, fastCGI: FastCGIBackend? = nil) throws {
        self.stateLogger = stateLogger
        self.fastCGI = fastCGI
        self.config = config
        self.index = index
        balancer = BackendBalancer(backend: config)
        servers = try config.servers.enumerated().map { try ServerRuntime(config: $0.element, index: $0.offset) }
        rules = config.httpRequestRules.map { CompiledHTTPRequestRule(action: $0.action, condition: $0.condition.map(CompiledCondition.init)) }
    }
}

/// Everything the data path needs from one configuration generation.
public final class ProxyRuntime: Sendable {
    public let snapshot: ConfigSnapshot
    public let frontends: [FrontendRuntime]
    public let backends: [BackendRuntime]
    public let process = ProcessCounters()
    public let logWriter: LogWriter
    public let startTimeMs: Int64 = wallClockMs()
    /// Effective global maxconn.
    public let maxconn: Int
    /// Stick tables by proxy name (spec STK-1), shared by every event loop.
    public let tables: [String: StickTable]
    /// Set once the health checker exists; the data path reports passive observations to it.
    let healthChecker: Mutex<HealthChecker?> = Mutex(nil)

    public init(snapshot: ConfigSnapshot, logWriter: LogWriter, framer: SyslogFramer) throws {
        self.snapshot = snapshot
        self.logWriter = logWriter
        var byName: [String: BackendRuntime] = [:]
        var backends: [BackendRuntime] = []
        for (i, b) in snapshot.backends.enumerated() {
            let stateLogger: Logger? = b.logTargets.isEmpty ? nil : Logger(label: "breakwater.state.\(b.name)") { _ in
                SyslogLogHandler(targets: b.logTargets, framer: framer, writer: logWriter)
            }
            let fastCGI = try b.fastCGIApp.map { try FastCGIBackend(config: $0, framer: framer, writer: logWriter) }
            let runtime = try BackendRuntime(config: b, index: i, stateLogger: stateLogger, fastCGI: fastCGI)
            byName[b.name] = runtime
            backends.append(runtime)
        }
        self.backends = backends
        var tables: [String: StickTable] = [:]
        for b in snapshot.backends {
            if let t = b.stickTable { tables[b.name] = StickTable(name: b.name, config: t) }
        }
        for f in snapshot.frontends where tables[f.name] == nil {
            if let t = f.stickTable { tables[f.name] = StickTable(name: f.name, config: t) }
        }
        self.tables = tables
        frontends = snapshot.frontends.map { fe in
            let logger: Logger? = fe.logTargets.isEmpty ? nil : Logger(label: "breakwater.traffic.\(fe.name)") { _ in
                SyslogLogHandler(targets: fe.logTargets, framer: framer, writer: logWriter)
            }
            return FrontendRuntime(config: fe, backends: byName, trafficLogger: logger, tables: tables)
        }
        maxconn = snapshot.global.maxconn ?? ProxyRuntime.automaticMaxconn()
    }

    /// `min(rlimit_nofile / 2, 100000)` (spec GLB-2).
    public static func automaticMaxconn() -> Int {
        var limit = rlimit()
        #if canImport(Glibc)
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        #else
        getrlimit(RLIMIT_NOFILE, &limit)
        #endif
        let soft = Int(clamping: limit.rlim_cur)
        return max(1, min(soft / 2, 100_000))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
