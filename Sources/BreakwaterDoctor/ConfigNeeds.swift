import BreakwaterConfigModel

/// What a configuration asks of the host: descriptors, server connections, listen backlogs.
public struct ConfigNeeds: Sendable, Equatable {
    /// The process-wide client-connection ceiling (`global maxconn`, else the automatic value).
    public var maxconn: Int
    /// True when `maxconn` was written in the configuration.
    public var maxconnConfigured: Bool
    public var listeners: Int
    /// Servers with `check` (one descriptor each while a probe runs).
    public var checkedServers: Int
    /// Server connections the configuration can hold open at once: the sum of server `maxconn` (a server
    /// without one can take every client connection) plus what the idle pools of the other event loops keep
    /// (a pool holds connections opened at an earlier peak, so on one loop it adds nothing).
    public var serverConnections: Int
    /// The largest listen backlog of any listener.
    public var listenBacklog: Int
    /// Backends with `http-reuse never` (every request closes its server connection: TIME_WAIT churn).
    public var noReuseBackends: [String]
    /// `tls-ticket-keys` files, as written.
    public var ticketKeyFiles: [String]
    public var hasJobs: Bool
    public var threads: Int

    /// The backlog Breakwater's listeners ask `listen()` for (ProxyServer, ListenerSockets).
    public static let listenerBacklog = 1024

    /// Without a configuration: the automatic maxconn for the given descriptor limit and nothing else.
    public init(snapshot: ConfigSnapshot?, nofileSoftLimit: Int?, threads: Int) {
        let auto = min((nofileSoftLimit ?? 1024) / 2, 100_000)
        let global = snapshot?.global
        maxconn = global?.maxconn ?? auto
        maxconnConfigured = global?.maxconn != nil
        self.threads = global?.nbthread ?? threads
        let frontends = snapshot?.frontends ?? []
        let backends = snapshot?.backends ?? []
        listeners = frontends.reduce(0) { $0 + $1.binds.count } + (global?.statsSockets.count ?? 0)
        let servers = backends.flatMap(\.servers)
        checkedServers = servers.filter(\.health.enabled).count
        let idleElsewhere = (global?.maxIdleConnectionsPerServer ?? 0) * max(self.threads - 1, 0)
        let mc = maxconn
        serverConnections = servers.reduce(0) { sum, s in
            guard s.unixSocketPath == nil else { return sum }
            let active = s.maxconn > 0 ? s.maxconn : mc
            return sum + active + min(idleElsewhere, active)
        }
        listenBacklog = frontends.isEmpty ? 0 : Self.listenerBacklog
        noReuseBackends = backends.filter { $0.httpReuse == .never && !$0.servers.isEmpty }.map(\.name)
        ticketKeyFiles = frontends.flatMap(\.binds).compactMap { $0.tls?.ticketKeysFile }
        hasJobs = !(snapshot?.jobSections.isEmpty ?? true)
    }
}
