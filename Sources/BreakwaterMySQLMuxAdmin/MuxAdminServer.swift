#if canImport(Glibc)
import Glibc
#endif
import BreakwaterConfigModel
import BreakwaterMySQLMux
import BreakwaterMySQLWire
import NIOCore
import NIOPosix

/// The MySQL-protocol admin interface: tables in SQLite, LOAD/SAVE commands that drive the mux.
public final class MuxAdminServer: @unchecked Sendable {
    enum Answer: Sendable {
        case ok(changes: Int)
        case rows(columns: [String], rows: [[String?]])
    }

    static let capabilities = MySQLCapabilities.breakwaterDefault.subtracting([.deprecateEOF, .connectAttributes])
        .union(.multiStatements)

    let user: String
    let password: String
    private let store: MuxAdminStore
    private let mux: MySQLMuxServer
    private let group: EventLoopGroup
    private var channel: Channel?

    public init(config: MySQLMuxConfig, store: MuxAdminStore, mux: MySQLMuxServer, group: EventLoopGroup) {
        user = config.admin?.user ?? "admin"
        password = config.admin?.password ?? "admin"
        self.store = store
        self.mux = mux
        self.group = group
    }

    /// Applies the admin tables to the running mux (used at start and by LOAD … TO RUNTIME).
    public func applyToRuntime(on eventLoop: EventLoop) -> EventLoopFuture<Void> {
        store.async(on: eventLoop) { try self.store.runtimeConfig() }.flatMap { self.mux.apply($0) }.hop(to: eventLoop)
    }

    public func start(host: String, port: Int) -> EventLoopFuture<SocketAddress?> {
        ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A reloading successor binds beside the old process.
            .serverChannelOption(
                ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_REUSEPORT)),
                value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(MySQLPacketDecoder()), MessageToByteHandler(MySQLPacketEncoder()),
                        MuxAdminHandler(admin: self))
                }
            }
            .bind(host: host, port: port)
            .map { channel in
                self.channel = channel
                return channel.localAddress
            }
    }

    public func stop() -> EventLoopFuture<Void> {
        channel?.close().flatMapError { _ in self.group.next().makeSucceededVoidFuture() }
            ?? group.next().makeSucceededVoidFuture()
    }

    func run(_ command: MuxAdminCommand, on eventLoop: EventLoop) -> EventLoopFuture<Answer> {
        switch command {
        case .ok: return eventLoop.makeSucceededFuture(.ok(changes: 0))
        case .row(let column, let value): return eventLoop.makeSucceededFuture(.rows(columns: [column], rows: [[value]]))
        case .loadToRuntime: return applyToRuntime(on: eventLoop).map { .ok(changes: 0) }
        case .saveToDisk(let t): return store.async(on: eventLoop) { try self.store.save(t.rawValue); return .ok(changes: 0) }
        case .loadFromDisk(let t):
            return store.async(on: eventLoop) { try self.store.loadFromDisk(t.rawValue); return .ok(changes: 0) }
        case .sql(let sql):
            let lower = sql.lowercased()
            if MuxAdminSchema.liveTableMarkers.contains(where: { lower.contains($0) }) {
                if !lower.hasPrefix("select") {
                    return eventLoop.makeFailedFuture(MuxAdminError(
                        "the stats_mysql_*, runtime_mysql_servers and monitor.* tables are read-only"))
                }
                return liveState().hop(to: eventLoop).flatMap { live in
                    self.store.async(on: eventLoop) {
                        try self.store.refreshLiveTables(live)
                        return try self.sqlAnswer(sql)
                    }
                }
            }
            return store.async(on: eventLoop) { try self.sqlAnswer(sql) }
        }
    }

    private func liveState() -> EventLoopFuture<MuxAdminStore.LiveState> {
        mux.connectionPoolStats().and(mux.processList()).and(mux.globalStats()).and(mux.runtimeServers())
            .and(mux.monitorLogs()).map { first, logs in
                let (((pool, processes), globals), servers) = first
                return .init(pool: pool, processes: processes, globals: globals, servers: servers,
                             pingLog: logs.ping, connectLog: logs.connect)
            }
    }

    private func sqlAnswer(_ sql: String) throws -> Answer {
        do {
            let r = try store.execute(sql)
            return r.columns.isEmpty ? .ok(changes: r.changes) : .rows(columns: r.columns, rows: r.rows)
        } catch {
            throw MuxAdminError("\(error)")
        }
    }
}
