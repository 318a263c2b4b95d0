import NIOCore
import NIOPosix

/// The result of a statement run through `MySQLClientConnection.query(_:)`.
public struct MySQLQueryResult: Sendable, Equatable {
    /// Column names; empty when the statement returned no result set.
    public var columns: [String]
    /// Rows as text, NULL as nil (text protocol).
    public var rows: [[String?]]
    public var affectedRows: UInt64
    public var lastInsertID: UInt64
    public var warnings: UInt16
    public var status: MySQLServerStatus

    public var isResultSet: Bool { !columns.isEmpty }
}

/// A small MySQL/MariaDB client on NIO: connect, run text queries, close. Commands are pipelined in order.
///
/// ```swift
/// let conn = try await MySQLClientConnection.connect(
///     to: try SocketAddress(ipAddress: "127.0.0.1", port: 3306), user: "app", password: "secret",
///     database: "telemetry", on: group.next())
/// let result = try await conn.query("SELECT 1")
/// try await conn.close()
/// ```
public final class MySQLClientConnection: Sendable {
    public struct ServerInfo: Sendable {
        public var serverVersion: String
        /// The server's thread id for this connection (what CONNECTION_ID() returns).
        public var connectionID: UInt32
        public var capabilities: MySQLCapabilities
        /// The greeting's scramble (COM_CHANGE_USER answers with it).
        public var scramble: [UInt8] = []
    }

    public let channel: Channel
    public let serverInfo: ServerInfo

    init(channel: Channel, serverInfo: ServerInfo) {
        self.channel = channel
        self.serverInfo = serverInfo
    }

    public static func connect(
        to address: SocketAddress, user: String, password: String, database: String? = nil,
        on eventLoop: EventLoop, connectTimeout: TimeAmount = .seconds(10)
    ) -> EventLoopFuture<MySQLClientConnection> {
        connect(describing: "\(address)", user: user, password: password, database: database, on: eventLoop,
                connectTimeout: connectTimeout) { $0.connect(to: address) }
    }

    /// Connects to a host name or address (resolved by NIO, never blocking the event loop's caller).
    public static func connect(
        host: String, port: Int, user: String, password: String, database: String? = nil,
        on eventLoop: EventLoop, connectTimeout: TimeAmount = .seconds(10)
    ) -> EventLoopFuture<MySQLClientConnection> {
        connect(describing: "\(host):\(port)", user: user, password: password, database: database, on: eventLoop,
                connectTimeout: connectTimeout) { $0.connect(host: host, port: port) }
    }

    private static func connect(
        describing address: String, user: String, password: String, database: String?, on eventLoop: EventLoop,
        connectTimeout: TimeAmount, open: (ClientBootstrap) -> EventLoopFuture<Channel>
    ) -> EventLoopFuture<MySQLClientConnection> {
        let handshake = eventLoop.makePromise(of: ServerInfo.self)
        let auth = MySQLClientAuthStateMachine(username: user, password: password, database: database)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(MySQLPacketDecoder()),
                        MessageToByteHandler(MySQLPacketEncoder()),
                        MySQLClientHandler(auth: auth, handshakePromise: handshake)
                    )
                }
            }
        return open(bootstrap)
            .flatMapErrorThrowing { error in
                handshake.fail(error)
                throw MySQLWireError.connectionClosed("before it opened: connecting to \(address) failed: \(error)")
            }
            .flatMap { channel in
                handshake.futureResult.map { MySQLClientConnection(channel: channel, serverInfo: $0) }
                    .flatMapError { error in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
    }

    public static func connect(
        to address: SocketAddress, user: String, password: String, database: String? = nil,
        on eventLoop: EventLoop, connectTimeout: TimeAmount = .seconds(10)
    ) async throws -> MySQLClientConnection {
        try await connect(
            to: address, user: user, password: password, database: database, on: eventLoop,
            connectTimeout: connectTimeout
        ).get()
    }

    /// Sends one command and collects its whole response.
    public func send(_ payload: ByteBuffer, kind: MySQLResponseTracker.Kind) -> EventLoopFuture<MySQLRawResponse> {
        let promise = channel.eventLoop.makePromise(of: MySQLRawResponse.self)
        channel.writeAndFlush(MySQLClientRequest(payload: payload, kind: kind, promise: promise)).whenFailure {
            promise.fail($0)
        }
        return promise.futureResult
    }

    public func query(_ sql: String) -> EventLoopFuture<MySQLQueryResult> {
        let caps = serverInfo.capabilities
        return send(MySQLCommandPacket.make(.query, sql), kind: .resultSet).flatMapThrowing { raw in
            try Self.textResult(raw, capabilities: caps)
        }
    }

    public func query(_ sql: String) async throws -> MySQLQueryResult { try await query(sql).get() }

    public func ping() async throws { _ = try await send(MySQLCommandPacket.make(.ping), kind: .okOrError).get() }

    /// COM_STMT_PREPARE: the server's statement id and parameter count.
    public func prepare(_ sql: String) async throws -> MySQLPrepareOK {
        let raw = try await send(MySQLCommandPacket.make(.statementPrepare, sql), kind: .prepare).get()
        guard let prep = raw.prepareOK else { throw MySQLWireError.malformed("COM_STMT_PREPARE without PREPARE_OK") }
        return prep
    }

    /// COM_STMT_EXECUTE with every parameter sent as a string (NULL as nil); the raw binary rows come back.
    public func execute(statementID: UInt32, parameters: [String?]) async throws -> MySQLRawResponse {
        let payload = MySQLBinaryProtocol.executePayload(statementID: statementID, parameters: parameters)
        return try await send(payload, kind: .resultSet).get()
    }

    /// COM_CHANGE_USER with mysql_native_password (a server that answers with an auth switch gets an error).
    public func changeUser(user: String, password: String, database: String? = nil) async throws {
        let request = MySQLChangeUser(
            username: user, authResponse: MySQLAuthPlugin.nativePasswordResponse(password: password, scramble: serverInfo.scramble),
            database: database)
        _ = try await send(request.encode(), kind: .okOrError).get()
    }

    public func closeStatement(_ statementID: UInt32) async throws {
        try await channel.writeAndFlush(MySQLClientRequest(
            payload: MySQLCommandPacket.make(.statementClose, statementID: statementID), kind: nil, promise: nil))
    }

    /// Sends COM_QUIT and closes the socket.
    public func close() -> EventLoopFuture<Void> {
        let quit = MySQLClientRequest(payload: MySQLCommandPacket.make(.quit), kind: nil, promise: nil)
        return channel.writeAndFlush(quit).flatMapError { _ in self.channel.eventLoop.makeSucceededVoidFuture() }
            .flatMap { self.channel.close() }
            .flatMapError { _ in self.channel.eventLoop.makeSucceededVoidFuture() }
    }

    public func close() async throws { try await close().get() }

    static func textResult(_ raw: MySQLRawResponse, capabilities: MySQLCapabilities) throws -> MySQLQueryResult {
        let ok = raw.ok ?? MySQLOKPacket()
        let count = raw.columns.count
        let rows = try raw.rows.map { try MySQLTextRow.decode(payload: $0, columnCount: count) }
        return MySQLQueryResult(
            columns: raw.columns.map(\.name), rows: rows, affectedRows: ok.affectedRows,
            lastInsertID: ok.lastInsertID, warnings: ok.warnings, status: raw.status)
    }
}
