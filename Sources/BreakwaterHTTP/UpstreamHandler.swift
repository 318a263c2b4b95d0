import BreakwaterHTTP1Wire
import NIOCore
import NIOHTTP1

/// Receives what a server connection says while a request is bound to it.
protocol UpstreamDelegate: AnyObject {
    func upstreamResponsePart(_ part: HTTPClientResponsePart)
    /// A response head from an HTTP/1.1 server, as its received bytes. True when a chunked body
    /// is to come as received, chunk framing included (the client takes it chunked as it is).
    func upstreamResponseHead(wire: HTTP1Head) -> Bool
    func upstreamReadComplete()
    func upstreamClosed()
    func upstreamError(_ error: Error)
    func upstreamWritabilityChanged(writable: Bool)
}

/// Identifies a pool of idle connections: one server of one backend.
struct UpstreamKey: Hashable {
    let backend: Int
    let server: Int
}

/// The last handler of a server-side connection. While a request is bound it forwards everything to
/// the delegate; while idle in the pool any byte or close from the server retires the connection.
///
/// Runs on the event loop of the client connection that opened it.
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let key: UpstreamKey
    /// The HTTP/1.1 codec below, which passes heads as bytes both ways (nil on FastCGI).
    struct WireCodec {
        let encoder: HTTP1RequestEncoder
        let decoder: HTTP1ResponseDecoder
    }
    private let wireCodec: WireCodec?
    weak var delegate: UpstreamDelegate?
    private(set) var context: ChannelHandlerContext?
    private var readPaused = false
    private var readPending = false
    private(set) var isActive = true
    /// Set while parked in the pool.
    var idleSince: NIODeadline?
    /// Called when an idle connection dies so the pool forgets it.
    var onIdleClose: ((UpstreamHandler) -> Void)?
    var requestsServed = 0

    init(key: UpstreamKey, wireCodec: WireCodec? = nil) {
        self.key = key
        self.wireCodec = wireCodec
    }

    /// Whether `writeWireHead` is available (an HTTP/1.1 server, not FastCGI).
    var forwardsWireHeads: Bool { wireCodec != nil }

    /// Writes a received request head as its bytes with `edits`. The `.head` part that goes down
    /// the pipeline only tells the response decoder the method; the encoder takes the head itself.
    /// `bodyIsChunkFramed`: the body parts that follow are the client's chunked body as received.
    func writeWireHead(_ head: HTTP1Head, _ edits: HTTP1HeadEdits, bodyIsChunkFramed: Bool) {
        guard let context, let wireCodec else { return }
        wireCodec.encoder.nextWireHead = (head, edits, bodyIsChunkFramed)
        context.write(wrapOutboundOut(.head(HTTP1RequestEncoder.wireHeadToken(for: head))), promise: nil)
    }

    var channel: Channel? { context?.channel }
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if let delegate {
            if case .head = part, let wire = wireCodec?.decoder.takeWireHead() {
                if delegate.upstreamResponseHead(wire: wire) { wireCodec?.decoder.keepChunkFraming() }
                return
            }
            delegate.upstreamResponsePart(part)
        } else {
            // Unsolicited data on an idle connection: it cannot be reused safely.
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        if let delegate {
            self.delegate = nil
            delegate.upstreamClosed()
        } else {
            onIdleClose?(self)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let delegate {
            self.delegate = nil
            delegate.upstreamError(error)
        }
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(writable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if readPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    /// Back-pressure from a slow client: stop reading the server until it drains.
    func pauseReading() {
        readPaused = true
    }

    func resumeReading() {
        guard readPaused else { return }
        readPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func write(_ part: HTTPClientRequestPart, promise: EventLoopPromise<Void>? = nil) {
        guard let context else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        context.write(wrapOutboundOut(part), promise: promise)
    }

    func flush() {
        context?.flush()
    }

    func close() {
        delegate = nil
        context?.close(promise: nil)
    }
}
