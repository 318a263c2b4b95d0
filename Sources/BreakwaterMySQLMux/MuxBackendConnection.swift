import BreakwaterMySQLWire
import NIOCore
import NIOPosix

/// What a backend connection hands its borrower: packets of the current response, or its death.
protocol MuxBackendSink: AnyObject {
    func backendPacket(_ packet: MySQLPacket)
    func backendClosed(_ backend: MuxBackendConnection)
}

/// One pooled connection to a MySQL server, authenticated as a mux user with a schema. Loop-confined.
final class MuxBackendConnection {
    let channel: Channel
    let server: MuxRuntimeConfig.Server
    let user: String
    var schema: String?
    let threadID: UInt32
    weak var sink: MuxBackendSink?
    var isClosed = false
    var lastUsed: NIODeadline = .now()
    /// Session variables set on this connection by the sessions that borrowed it (see `MuxSessionVariables`).
    var variables = MuxSessionVariables()
    /// Statement text → the server's statement id, for the statements prepared on this connection.
    var statements: [String: UInt32] = [:]

    init(channel: Channel, server: MuxRuntimeConfig.Server, user: String, schema: String?, threadID: UInt32) {
        self.channel = channel
        self.server = server
        self.user = user
        self.schema = schema
        self.threadID = threadID
    }

    var poolKey: MuxPoolKey { MuxPoolKey(hostgroup: server.hostgroup, user: user, schema: schema) }

    func send(_ packet: MySQLPacket) {
        channel.writeAndFlush(packet, promise: nil)
    }

    func send(_ packets: [MySQLPacket]) {
        for p in packets { channel.write(p, promise: nil) }
        channel.flush()
    }

    func close() {
        isClosed = true
        channel.close(promise: nil)
    }

    /// Connects and authenticates on `eventLoop` with the same capabilities the mux offers clients, so packets pass through unchanged.
    static func connect(
        server: MuxRuntimeConfig.Server, user: MuxRuntimeConfig.User, schema: String?, eventLoop: EventLoop,
        timeout: TimeAmount, onClose: @escaping (MuxBackendConnection) -> Void
    ) -> EventLoopFuture<MuxBackendConnection> {
        let handshake = eventLoop.makePromise(of: UInt32.self)
        let relay = MuxBackendRelay(
            auth: MySQLClientAuthStateMachine(
                username: user.name, password: user.password, database: schema,
                capabilities: MuxSessionStateMachine.serverCapabilities),
            handshake: handshake)
        return ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(MySQLPacketDecoder()), MessageToByteHandler(MySQLPacketEncoder()), relay)
                }
            }
            .connect(host: server.host, port: server.port)
            .flatMap { channel in
                handshake.futureResult.map { threadID in
                    let conn = MuxBackendConnection(channel: channel, server: server, user: user.name, schema: schema, threadID: threadID)
                    relay.connection = conn
                    relay.onClose = onClose
                    return conn
                }.flatMapError { error in
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .flatMapErrorThrowing { error in
                handshake.fail(error)
                throw error
            }
    }
}

/// The backend channel's handler: authenticates, then relays every packet to the borrower.
final class MuxBackendRelay: ChannelInboundHandler {
    typealias InboundIn = MySQLPacket
    typealias OutboundOut = MySQLPacket

    private var auth: MySQLClientAuthStateMachine
    private let handshake: EventLoopPromise<UInt32>
    private var greetingThreadID: UInt32 = 0
    var connection: MuxBackendConnection?
    var onClose: ((MuxBackendConnection) -> Void)?

    init(auth: MySQLClientAuthStateMachine, handshake: EventLoopPromise<UInt32>) {
        self.auth = auth
        self.handshake = handshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let packet = unwrapInboundIn(data)
        guard auth.isAuthenticated else {
            switch auth.packet(packet) {
            case .send(let reply): context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            case .authenticated(let greeting, _): handshake.succeed(greeting.connectionID)
            case .fail(let error):
                handshake.fail(error)
                context.close(promise: nil)
            case .none: break
            }
            return
        }
        connection?.sink?.backendPacket(packet)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(MySQLWireError.connectionClosed("by the backend during the handshake"))
        if let connection {
            connection.isClosed = true
            connection.sink?.backendClosed(connection)
            onClose?(connection)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
