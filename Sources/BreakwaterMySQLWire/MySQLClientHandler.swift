import DequeModule
import NIOCore

/// A command for `MySQLClientHandler`: the payload to send and, unless it gets no answer, a promise for the response.
public struct MySQLClientRequest: Sendable {
    public var payload: ByteBuffer
    public var kind: MySQLResponseTracker.Kind?
    public var promise: EventLoopPromise<MySQLRawResponse>?
}

/// A whole response, collected (the client API's view; the mux forwards packets instead).
public struct MySQLRawResponse: Sendable {
    public var ok: MySQLOKPacket?
    public var columns: [MySQLColumnDefinition] = []
    public var rows: [ByteBuffer] = []
    public var prepareOK: MySQLPrepareOK?
    public var statistics: String?
    public var status: MySQLServerStatus = []
}

/// Drives the connection phase, then runs commands in order (pipelined), collecting each response.
public final class MySQLClientHandler: ChannelDuplexHandler {
    public typealias InboundIn = MySQLPacket
    public typealias OutboundIn = MySQLClientRequest
    public typealias OutboundOut = MySQLPacket

    private struct InFlight {
        var tracker: MySQLResponseTracker
        var response = MySQLRawResponse()
        var promise: EventLoopPromise<MySQLRawResponse>?
    }

    private var auth: MySQLClientAuthStateMachine
    private let handshakePromise: EventLoopPromise<MySQLClientConnection.ServerInfo>
    private var capabilities: MySQLCapabilities = []
    private var inFlight: Deque<InFlight> = []
    private var failure: MySQLWireError?

    public convenience init(
        username: String, password: String, database: String?,
        handshakePromise: EventLoopPromise<MySQLClientConnection.ServerInfo>
    ) {
        self.init(
            auth: MySQLClientAuthStateMachine(username: username, password: password, database: database),
            handshakePromise: handshakePromise)
    }

    init(auth: MySQLClientAuthStateMachine, handshakePromise: EventLoopPromise<MySQLClientConnection.ServerInfo>) {
        self.auth = auth
        self.handshakePromise = handshakePromise
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let packet = unwrapInboundIn(data)
        guard auth.isAuthenticated else {
            switch auth.packet(packet) {
            case .send(let reply): context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            case .authenticated(let greeting, let caps):
                capabilities = caps
                handshakePromise.succeed(.init(
                    serverVersion: greeting.serverVersion, connectionID: greeting.connectionID, capabilities: caps,
                    scramble: greeting.scramble))
            case .fail(let error): fail(context: context, error)
            case .none: break
            }
            return
        }
        guard var current = inFlight.popFirst() else {
            fail(context: context, .malformed("the server sent a packet no command asked for"))
            return
        }
        do {
            let (event, done) = try current.tracker.packet(packet)
            switch event {
            case .ok(let ok):
                if current.response.ok == nil { current.response.ok = ok }
                current.response.status = ok.status
            case .error(let err):
                inFlight.prepend(current)
                complete(.failure(MySQLWireError.server(err)))
                return
            case .columnDefinition:
                if current.response.rows.isEmpty, current.response.ok == nil, !resultSetClosed(current) {
                    current.response.columns.append(try MySQLColumnDefinition(payload: packet.payload))
                }
            case .row:
                if current.response.ok == nil, !resultSetClosed(current) { current.response.rows.append(packet.payload) }
            case .resultSetEnd(let status):
                current.response.status = status
                if current.response.ok == nil { current.response.ok = MySQLOKPacket(status: status) }
            case .prepareOK(let prep): current.response.prepareOK = prep
            case .statistics(let text): current.response.statistics = text
            case .columnCount, .parameterDefinition, .intermediateEOF: break
            }
            inFlight.prepend(current)
            if done { complete(.success(current.response)) }
        } catch {
            fail(context: context, error)
        }
    }

    /// Only the first result set of a multi-result response is kept.
    private func resultSetClosed(_ f: InFlight) -> Bool { f.response.ok != nil }

    private func complete(_ result: Result<MySQLRawResponse, Error>) {
        guard let done = inFlight.popFirst() else { return }
        done.promise?.completeWith(result)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise?.fail(failure)
            promise?.fail(failure)
            return
        }
        if let kind = request.kind {
            inFlight.append(InFlight(tracker: MySQLResponseTracker(kind: kind, capabilities: capabilities), promise: request.promise))
        }
        context.write(wrapOutboundOut(MySQLPacket(sequenceID: 0, payload: request.payload)), promise: promise)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        failAll(failure ?? .connectionClosed("by the server"))
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(context: context, error as? MySQLWireError ?? .connectionClosed("after a network error: \(error)"))
    }

    private func fail(context: ChannelHandlerContext, _ error: MySQLWireError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: MySQLWireError) {
        if failure == nil { failure = error }
        handshakePromise.fail(error)
        while let f = inFlight.popFirst() { f.promise?.fail(error) }
    }
}
