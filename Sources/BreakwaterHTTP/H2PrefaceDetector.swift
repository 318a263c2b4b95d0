import NIOCore

/// Tells HTTP/1.1 from HTTP/2 with prior knowledge (h2c) by a connection's first bytes, as HAProxy
/// does on every HTTP bind: the HTTP/2 client preface (RFC 9113 §3.4) cannot start an HTTP/1.1
/// request that any server would accept.
struct PrefaceMatch {
    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum Decision: Equatable {
        case needMore
        case http1
        case http2
    }

    private var matched = 0

    /// Feeds the next received bytes.
    mutating func received(_ bytes: ByteBufferView) -> Decision {
        for byte in bytes {
            guard byte == Self.preface[matched] else { return .http1 }
            matched += 1
            if matched == Self.preface.count { return .http2 }
        }
        return .needMore
    }
}

/// The first handler of a connection on a plain HTTP bind: holds the first bytes until they show
/// the protocol, then installs the HTTP/1.1 or HTTP/2 pipeline behind itself, hands it the bytes
/// and leaves. A client silent for `waitLimit` gets the HTTP/1.1 pipeline, whose request timer
/// (counted from accept) answers it.
///
/// Runs on the connection's event loop only.
final class H2PrefaceDetector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private var match = PrefaceMatch()
    private var held: ByteBuffer?
    private var timer: Scheduled<Void>?
    private var decided = false
    private let waitLimit: TimeAmount?
    private let install: (_ http2: Bool, _ context: ChannelHandlerContext) throws -> Void

    init(waitLimit: TimeAmount?, install: @escaping (_ http2: Bool, _ context: ChannelHandlerContext) throws -> Void) {
        self.waitLimit = waitLimit
        self.install = install
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { armTimer(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        armTimer(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        var buffer = unwrapInboundIn(data)
        let decision = match.received(buffer.readableBytesView)
        if held == nil {
            held = buffer
        } else {
            held!.writeBuffer(&buffer)
        }
        switch decision {
        case .needMore: return
        case .http1: decide(http2: false, context: context)
        case .http2: decide(http2: true, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        // A client gone before its first byte is an HTTP/1.1 connection that sent nothing: the
        // HTTP/1.1 handler logs it (`<BADREQ>`, unless `option dontlognull`).
        guard !decided else {
            context.fireChannelInactive()
            return
        }
        decide(http2: false, context: context) { $0.fireChannelInactive() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if !decided, case ChannelEvent.inputClosed = event {
            // A client that half-closes before it has shown HTTP/2 is an HTTP/1.1 client (e.g. a short
            // request piped through `nc -N`): the HTTP/1.1 handler answers what it sent, then closes.
            decide(http2: false, context: context) { $0.fireUserInboundEventTriggered(event) }
            return
        }
        if !decided && event is ChannelShouldQuiesceEvent {
            // Draining: a connection that has not sent a byte has no request to finish.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, let waitLimit else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: waitLimit) { [weak self] in
            guard let self, !self.decided else { return }
            self.decide(http2: false, context: context)
        }
    }

    /// Installs the chosen pipeline, hands it the held bytes (and `then`, an event to pass on
    /// while this handler is still in the pipeline) and leaves.
    private func decide(http2: Bool, context: ChannelHandlerContext, then: ((ChannelHandlerContext) -> Void)? = nil) {
        decided = true
        timer?.cancel()
        do {
            try install(http2, context)
        } catch {
            context.close(promise: nil)
            return
        }
        if let held {
            self.held = nil
            context.fireChannelRead(wrapInboundOut(held))
            context.fireChannelReadComplete()
        }
        then?(context)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
