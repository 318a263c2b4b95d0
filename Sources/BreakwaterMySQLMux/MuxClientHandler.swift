import BreakwaterMySQLWire
import NIOCore

/// Translates a client channel's events into `MuxSessionStateMachine` events and runs its actions.
/// Results stream: each backend packet is written as it arrives, and the backend stops reading while the
/// client's socket is not writable (back-pressure, nothing buffered whole).
final class MuxClientHandler: ChannelInboundHandler, MuxBackendSink {
    typealias InboundIn = MySQLPacket
    typealias OutboundOut = MySQLPacket

    private let server: MySQLMuxServer
    private var machine: MuxSessionStateMachine
    private let scramble: [UInt8]
    let sessionID: UInt32
    private var backend: MuxBackendConnection?
    private var context: ChannelHandlerContext?

    init(server: MySQLMuxServer, sessionID: UInt32) {
        self.server = server
        self.sessionID = sessionID
        scramble = MySQLAuthPlugin.makeScramble()
        machine = MuxSessionStateMachine(scramble: scramble, multiplexing: server.pool.config.multiplexing)
    }

    var pinReasons: Set<MuxPinReason> { machine.pins }
    var stateDescription: String { machine.state.description }
    var userName: String? { machine.user?.name }
    var database: String? { machine.database }
    var query: String? { machine.currentQuery }
    var backendThreadID: UInt32? { backend?.threadID }

    private(set) var remoteHost = ""
    private(set) var remotePort = 0

    func closeFromServer() { context?.close(promise: nil) }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        remoteHost = context.remoteAddress?.ipAddress ?? ""
        remotePort = context.remoteAddress?.port ?? 0
        guard server.registerSession(self) else {
            let err = MySQLErrorPacket(code: 1040, sqlState: "08004", message: "Too many connections")
            server.errorCounters.count(err.code)
            context.writeAndFlush(wrapOutboundOut(MySQLPacket(sequenceID: 0, payload: err.encode())))
                .whenComplete { _ in context.close(promise: nil) }
            return
        }
        let greeting = MySQLHandshakeV10(
            serverVersion: "10.11.0-Breakwater", connectionID: sessionID, scramble: scramble,
            capabilities: MuxSessionStateMachine.serverCapabilities)
        context.writeAndFlush(wrapOutboundOut(MySQLPacket(sequenceID: 0, payload: greeting.encode())), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let packet = unwrapInboundIn(data)
        let pool = server.pool
        run(machine.clientPacket(packet, lookupUser: { pool.config.user(named: $0) }), context: context)
    }

    private func run(_ action: MuxSessionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none: break
        case .reply(let packets):
            for p in packets { context.write(wrapOutboundOut(p), promise: nil) }
            context.flush()
        case .replyAndClose(let packets):
            for p in packets.dropLast() { context.write(wrapOutboundOut(p), promise: nil) }
            if let last = packets.last {
                context.writeAndFlush(wrapOutboundOut(last)).whenComplete { _ in context.close(promise: nil) }
            } else {
                context.close(promise: nil)
            }
        case .authenticated:
            context.writeAndFlush(wrapOutboundOut(MySQLPacket(sequenceID: 2, payload: MySQLOKPacket().encode())), promise: nil)
        case .acquireBackend:
            guard let user = machine.user else { return }
            server.pool.acquire(user: user, schema: machine.database).whenComplete { [weak self] result in
                guard let self, let context = self.context else {
                    if case .success(let conn) = result { self?.server.pool.release(conn) }
                    return
                }
                switch result {
                case .success(let conn):
                    guard context.channel.isActive else {
                        self.server.pool.release(conn)
                        return
                    }
                    self.backend = conn
                    conn.sink = self
                    try? conn.channel.syncOptions?.setOption(.autoRead, value: context.channel.isWritable)
                    self.run(self.machine.backendAcquired(variables: conn.variables, statements: conn.statements), context: context)
                case .failure(let error):
                    let packet = error as? MySQLErrorPacket
                        ?? MySQLErrorPacket(code: 9001, message: "Breakwater could not reach a backend: \(error)")
                    self.server.errorCounters.count(packet.code)
                    self.run(self.machine.backendUnavailable(packet), context: context)
                }
            }
        case .forwardToBackend(let p):
            guard let backend, !backend.isClosed else {
                run(machine.backendLost("closed the connection"), context: context)
                return
            }
            backend.send(p)
        case .sendToBackend(let packets, let replay):
            guard let backend, !backend.isClosed else {
                run(machine.backendLost("closed the connection"), context: context)
                return
            }
            if replay { server.countSessionVariableReplay() }
            backend.send(packets)
        case .preparationFailed(let p, let closeBackend):
            context.writeAndFlush(wrapOutboundOut(p), promise: nil)
            if closeBackend {
                backend?.close()
                backend = nil
            } else if !machine.hasBackend {
                returnBackend()
            }
        case .changedUser(let reply, let closeBackend):
            if closeBackend {
                backend?.close()
                backend = nil
            }
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
        case .forwardToClient(let p, let done, let release):
            if done {
                context.writeAndFlush(wrapOutboundOut(p), promise: nil)
            } else {
                context.write(wrapOutboundOut(p), promise: nil)
            }
            if release { returnBackend() }
        case .close:
            context.close(promise: nil)
        }
    }

    /// Back to the pool, carrying the session variables the connection now has.
    private func returnBackend(_ conn: MuxBackendConnection? = nil) {
        guard let backend = conn ?? backend else { return }
        self.backend = nil
        backend.variables = machine.backendVariables
        backend.statements = machine.backendStatements
        try? backend.channel.syncOptions?.setOption(.autoRead, value: true)
        server.pool.release(backend)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !context.channel.isWritable { context.flush() }
        try? backend?.channel.syncOptions?.setOption(.autoRead, value: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    // MARK: MuxBackendSink (called on the same event loop: the whole mux runs on one loop)

    func backendPacket(_ packet: MySQLPacket) {
        guard let context else { return }
        run(machine.backendPacket(packet), context: context)
    }

    func backendClosed(_ conn: MuxBackendConnection) {
        guard conn === backend, let context else { return }
        backend = nil
        run(machine.backendLost("\(conn.server.host):\(conn.server.port) closed the connection"), context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        server.unregisterSession(self)
        if let backend {
            self.backend = nil
            // Session state (transactions, variables) dies with the client: a pinned connection is not reused.
            if machine.isPinned || machine.state.description != "Sleep" { backend.close() } else { returnBackend(backend) }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        server.log("client session \(sessionID): \(error); closing it")
        context.close(promise: nil)
    }
}
