#if canImport(Glibc)
import Glibc
#endif
import BreakwaterMySQLWire
import NIOCore
import NIOPosix

/// One row of stats_mysql_processlist.
public struct MuxProcess: Sendable {
    public var sessionID: UInt32
    public var user: String?
    public var database: String?
    public var clientHost: String
    public var clientPort: Int
    public var command: String
    public var info: String?
    public var backendThreadID: UInt32?
    public var pinnedReason: String
}

/// Counters for stats_mysql_global beyond the pool's.
public struct MuxGlobalStats: Sendable {
    /// Combined SETs sent to bring a borrowed connection to a session's variables.
    public var sessionVariableReplays = 0
    public init() {}
}

/// The MySQL-protocol listener towards clients and its backend pool. Everything runs on one event loop,
/// so the pool's per-server limits and the session table need no locks.
public final class MySQLMuxServer: @unchecked Sendable {
    public let eventLoop: EventLoop
    let pool: MuxPool
    private var monitor: MuxMonitor!
    private var globals = MuxGlobalStats()
    /// Errors sent to clients by code, for the dashboard's gauges (MySQLMuxServer+Gauges.swift).
    public let errorCounters = MuxErrorCounters()
    private var sessions: [UInt32: MuxClientHandler] = [:]
    private var nextSessionID: UInt32 = 0
    private var channel: Channel?
    private let logger: @Sendable (String) -> Void

    public init(eventLoop: EventLoop, config: MuxRuntimeConfig, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.eventLoop = eventLoop
        self.pool = MuxPool(eventLoop: eventLoop, config: config)
        self.logger = log
        let pool = self.pool
        monitor = MuxMonitor(eventLoop: eventLoop) { hostPort, isShunned in
            pool.setShunned(hostPort, isShunned)
            log("monitor: server \(hostPort) is \(isShunned ? "SHUNNED (pings failed)" : "ONLINE again (ping answered)")")
        }
    }

    func log(_ message: String) { logger(message) }

    /// Binds the client listener (SO_REUSEPORT, so a reloading successor can bind beside it).
    public func start(host: String, port: Int) -> EventLoopFuture<SocketAddress?> {
        ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_REUSEPORT)), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    self.nextSessionID &+= 1
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(MySQLPacketDecoder()), MessageToByteHandler(MySQLPacketEncoder()),
                        MuxClientHandler(server: self, sessionID: self.nextSessionID))
                }
            }
            .bind(host: host, port: port)
            .map { channel in
                self.channel = channel
                self.monitor.apply(servers: self.pool.config.servers, settings: self.pool.config.monitor)
                return channel.localAddress
            }
    }

    /// Stops accepting; existing sessions finish or are closed after `grace`.
    public func stop(grace: TimeAmount = .seconds(5)) -> EventLoopFuture<Void> {
        let closed = channel?.close() ?? eventLoop.makeSucceededVoidFuture()
        return closed.flatMapError { _ in self.eventLoop.makeSucceededVoidFuture() }.flatMap {
            self.monitor.stop()
            return self.eventLoop.scheduleTask(in: self.sessions.isEmpty ? .zero : grace) {
                for s in self.sessions.values { s.closeFromServer() }
                self.pool.closeAll()
            }.futureResult
        }
    }

    /// LOAD … TO RUNTIME: atomic on the loop, no client dropped.
    public func apply(_ config: MuxRuntimeConfig) -> EventLoopFuture<Void> {
        eventLoop.submit {
            self.pool.apply(config)
            if self.channel != nil { self.monitor.apply(servers: config.servers, settings: config.monitor) }
        }
    }

    /// runtime_mysql_servers: the servers with the monitor's SHUNNED applied.
    public func runtimeServers() -> EventLoopFuture<[MuxRuntimeConfig.Server]> {
        eventLoop.submit { self.pool.runtimeServers() }
    }

    /// monitor.mysql_server_ping_log and monitor.mysql_server_connect_log, oldest first.
    public func monitorLogs() -> EventLoopFuture<(ping: [MuxMonitorLogRow], connect: [MuxMonitorLogRow])> {
        eventLoop.submit { (Array(self.monitor.pingLog), Array(self.monitor.connectLog)) }
    }

    public func globalStats() -> EventLoopFuture<MuxGlobalStats> {
        eventLoop.submit { self.globals }
    }

    func countSessionVariableReplay() { globals.sessionVariableReplays += 1 }

    public func connectionPoolStats() -> EventLoopFuture<[MuxServerStats]> {
        eventLoop.submit { self.pool.snapshot() }
    }

    public func processList() -> EventLoopFuture<[MuxProcess]> {
        eventLoop.submit {
            self.sessions.values.sorted { $0.sessionID < $1.sessionID }.map { s in
                MuxProcess(
                    sessionID: s.sessionID, user: s.userName, database: s.database,
                    clientHost: s.remoteHost, clientPort: s.remotePort, command: s.stateDescription, info: s.query,
                    backendThreadID: s.backendThreadID,
                    pinnedReason: s.pinReasons.sorted().map(\.rawValue).joined(separator: ","))
            }
        }
    }

    func registerSession(_ s: MuxClientHandler) -> Bool {
        guard sessions.count < pool.config.maxClientConnections else { return false }
        sessions[s.sessionID] = s
        return true
    }

    func unregisterSession(_ s: MuxClientHandler) {
        sessions[s.sessionID] = nil
    }
}
