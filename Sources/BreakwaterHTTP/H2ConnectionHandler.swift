import BreakwaterObservability
import NIOCore
import NIOHTTP1
import NIOHTTP2

/// The streams of one HTTP/2 client connection, as state inside one handler above nio-http2's
/// `NIOHTTP2Handler` in frame mode (no stream multiplexer): nio-http2 keeps the frame codec, HPACK,
/// the connection state machine, its flood defences and outbound flow control; this handler turns
/// each stream's frames into request parts for that stream's `HTTPProxyHandler` and its response
/// parts into frames. A stream costs one `H2Stream` and one proxy handler, no channel or pipeline.
///
/// What the stream pipeline did is done here:
/// - a stream beyond `maxConcurrentStreams` is refused with REFUSED_STREAM (the client may retry);
/// - the request head is checked and normalised (`H2StreamRequestNormalizer`): a refused target
///   resets the stream with PROTOCOL_ERROR and is logged, never forwarded;
/// - the head becomes an HTTP/1 head (`H2MessageHeads`);
/// - inbound flow control: the connection window is refilled as frames arrive (nio-http2 reports
///   it), a stream's window as the proxy handler takes its body without pausing.
///
/// Connection facts (address, TLS) are computed once. Runs on the connection's event loop only.
final class H2ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias InboundOut = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// The inbound window each stream and the connection are kept at (SETTINGS_INITIAL_WINDOW_SIZE,
    /// and the connection's initial window): refilled once half of it is used.
    static let windowTarget = 65535

    private let runtime: ProxyRuntime
    private let frontend: FrontendRuntime
    private let pools: UpstreamPools
    private let isTLS: Bool
    private let maxConcurrentStreams: Int
    private var context: ChannelHandlerContext!
    private var streams: [HTTP2StreamID: H2Stream] = [:]
    private(set) var facts = ClientConnectionFacts(remote: nil, tlsChannel: nil)
    private(set) var localAddress: SocketAddress?
    /// The highest stream a request head opened: a header block on a lower, unknown stream belongs
    /// to one that was refused or has ended.
    private var lastOpenedStream = HTTP2StreamID(0)
    /// Inside one of our writes or flushes to nio-http2 (which reports stream closes at once).
    private var writing = false
    /// A connection WINDOW_UPDATE is written and not yet on the socket.
    private var connectionCreditInFlight = false

    init(runtime: ProxyRuntime, frontend: FrontendRuntime, pools: UpstreamPools, isTLS: Bool, maxConcurrentStreams: Int) {
        self.runtime = runtime
        self.frontend = frontend
        self.pools = pools
        self.isTLS = isTLS
        self.maxConcurrentStreams = maxConcurrentStreams
    }

    var eventLoop: EventLoop { context.eventLoop }
    var allocator: ByteBufferAllocator { context.channel.allocator }
    var isWritable: Bool { context.channel.isWritable }
    /// Streams open now, for tests.
    var openStreams: Int { streams.count }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        facts = ClientConnectionFacts(remote: context.channel.remoteAddress, tlsChannel: isTLS ? context.channel : nil)
        localAddress = context.channel.localAddress
    }

    // MARK: - Inbound frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers(let headers):
            if let stream = streams[frame.streamID] {
                stream.noteRead(now: .now())
                // A second header block is the trailer block: it ends the request.
                stream.received(flowControlled: 0, endStream: true)
                stream.proxy?.receive(.end(nil))
            } else if frame.streamID > lastOpenedStream {
                lastOpenedStream = frame.streamID
                openStream(frame.streamID, headers)
            }
        case .data(let data):
            guard let stream = streams[frame.streamID] else { return }
            stream.noteRead(now: .now())
            let flowControlled = data.data.readableBytes + (data.paddingBytes.map { $0 + 1 } ?? 0)
            stream.received(flowControlled: flowControlled, endStream: data.endStream)
            if case .byteBuffer(let buffer) = data.data, buffer.readableBytes > 0 {
                stream.proxy?.receive(.body(buffer))
            }
            if data.endStream {
                stream.proxy?.receive(.end(nil))
            } else if let proxy = stream.proxy, proxy.shouldPauseReading {
                // Back-pressure: the window stays closed until the proxy handler asks for more.
                proxy.readPending = true
            } else {
                stream.acknowledgeInput()
            }
        default:
            // SETTINGS, PING, WINDOW_UPDATE, GOAWAY, RST_STREAM, PRIORITY: nio-http2 has acted on
            // them; a reset or refused stream ends through `StreamClosedEvent`.
            break
        }
    }

    private func openStream(_ id: HTTP2StreamID, _ frame: HTTP2Frame.FramePayload.Headers) {
        if streams.count >= maxConcurrentStreams {
            // Not logged: a refused stream is flow control the client may retry, and during a
            // stream flood one line per stream would amplify it.
            reset(id, .refusedStream)
            return
        }
        var block = frame.headers
        switch H2StreamRequestNormalizer.normalize(block) {
        case .unchanged:
            break
        case .forward(let normalized):
            block = normalized
        case .refuse(let reason):
            frontend.counters.requestErrors.wrappingIncrement(ordering: .relaxed)
            if let logger = frontend.trafficLogger {
                let line = "\(facts.address):\(facts.port) [\(HTTPLogFormatter.accessDate(currentWallMs()))] "
                    + "\(frontend.config.name): HTTP/2 stream reset: \(reason) (PROTOCOL_ERROR)"
                logger.info("\(line)")
            }
            reset(id, .protocolError)
            return
        }
        guard let head = H2MessageHeads.requestHead(block, endStream: frame.endStream) else {
            reset(id, .protocolError)
            return
        }
        let stream = H2Stream(id: id, connection: self, now: .now())
        let proxy = HTTPProxyHandler(runtime: runtime, frontend: frontend, pools: pools, io: stream, isTLS: isTLS)
        stream.proxy = proxy
        streams[id] = stream
        proxy.start(on: stream)
        if stream.ended { return }
        if frame.endStream { stream.received(flowControlled: 0, endStream: true) }
        proxy.receive(.head(head))
        if frame.endStream { stream.proxy?.receive(.end(nil)) }
    }

    private func reset(_ id: HTTP2StreamID, _ code: HTTP2ErrorCode) {
        writeFrame(.rstStream(code), on: id, promise: nil)
        flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let closed as StreamClosedEvent:
            // A stream our own write closed (its END_STREAM or RST_STREAM) ends once the proxy
            // handler that wrote is out of its call.
            if let stream = streams[closed.streamID] { writing ? endLater(stream) : end(stream) }
        case let window as NIOHTTP2WindowUpdatedEvent where window.streamID == .rootStream:
            // The connection window is refilled as frames arrive (each stream's own window does
            // the back-pressure), as nio-http2's multiplexer does.
            // One update at a time: nio-http2 reports the window it knows, which leaves out an update
            // still buffered behind an unwritable socket.
            if let size = window.inboundWindowSize, size <= Self.windowTarget / 2, !connectionCreditInFlight {
                connectionCreditInFlight = true
                let written = context.eventLoop.makePromise(of: Void.self)
                let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
                written.futureResult.whenComplete { _ in bound.value.connectionCreditInFlight = false }
                writeFrame(.windowUpdate(windowSizeIncrement: Self.windowTarget - size), on: .rootStream, promise: written)
                flush()
            }
        case is ChannelShouldQuiesceEvent:
            for stream in Array(streams.values) { stream.proxy?.quiesce() }
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            for stream in Array(streams.values) { stream.proxy?.clientWritabilityChanged() }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        for stream in Array(streams.values) { end(stream) }
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        for stream in Array(streams.values) { end(stream) }
    }

    // MARK: - Stream end

    /// The stream is closed: its proxy handler sees the client side gone (it logs or aborts the
    /// request as on a closed connection) and the stream is forgotten.
    private func end(_ stream: H2Stream) {
        guard stream.markEnded() else { return }
        streams[stream.id] = nil
        let proxy = stream.proxy
        stream.proxy = nil
        proxy?.clientClosed()
    }

    /// A stream reset by the proxy handler ends after the current call returns (the handler is
    /// in the middle of its own work).
    func endLater(_ stream: H2Stream) {
        let bound = NIOLoopBound((self, stream), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (handler, stream) = bound.value
            if handler.streams[stream.id] === stream { handler.end(stream) }
        }
    }

    // MARK: - Output

    func writeFrame(_ payload: HTTP2Frame.FramePayload, on id: HTTP2StreamID, promise: EventLoopPromise<Void>?) {
        let outer = writing
        writing = true
        context.write(wrapOutboundOut(HTTP2Frame(streamID: id, payload: payload)), promise: promise)
        writing = outer
    }

    /// nio-http2 holds flushes while it reads; the flush coalescer below turns the flushes of one
    /// event-loop tick into one socket write.
    func flush() {
        let outer = writing
        writing = true
        context.flush()
        writing = outer
    }

    /// One promise for two: both complete with the result of the returned one.
    func cascade(_ first: EventLoopPromise<Void>?, _ second: EventLoopPromise<Void>?) -> EventLoopPromise<Void>? {
        guard let first else { return second }
        guard let second else { return first }
        first.futureResult.cascade(to: second)
        return first
    }
}
