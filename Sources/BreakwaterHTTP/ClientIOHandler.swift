import BreakwaterHTTP1Wire
import DequeModule
import NIOCore
import NIOHTTP1

/// What the proxy handler reads about its client transport: byte counts and request timing.
/// HTTP/1.1 connections and HTTP/2 streams implement it differently.
protocol ClientIO: AnyObject {
    var bytesOut: Int { get }
    var sawRequestBytes: Bool { get }
    var requestStart: NIODeadline { get }
    var requestStartWallMs: Int64 { get }
    var lastReadAt: NIODeadline { get }
    var onFirstRequestByte: (() -> Void)? { get set }
    /// True on an HTTP/2 stream: one request, no connection-level headers.
    var isHTTP2: Bool { get }
    func awaitNextRequest()
    /// Bytes received on the wire (heads and bodies), when the transport can count them; nil on an
    /// HTTP/2 stream, whose frames are counted as body bytes.
    var wireBytesIn: Int? { get }
    /// The next request head the HTTP/1.1 decoder handed over as bytes, in arrival order (one
    /// per `.head` part it fired); nil on an HTTP/2 stream, whose parts carry NIOHTTP1 heads.
    func takeWireHead() -> HTTP1Head?
    /// The HTTP/1.1 response encoder, which writes a server's head as its bytes with edits; nil
    /// on an HTTP/2 stream, which needs NIOHTTP1 heads.
    var responseEncoder: HTTP1ResponseEncoder? { get }
    /// Asks the HTTP/1.1 decoder to pass the chunked body of the request just handed over as
    /// received, framing included; false (nothing changes) when it cannot, or on an HTTP/2 stream.
    func keepChunkFraming() -> Bool
    /// The HTTP/2 stream, which takes a server's head as a header block built from its bytes; nil
    /// on HTTP/1.1.
    var http2Stream: H2Stream? { get }
    /// The response is complete and no request is pending: per-request storage can go back to
    /// the event loop's pool until the next request's first byte.
    func connectionIdle()
}

extension ClientIO {
    var wireBytesIn: Int? { nil }
    func takeWireHead() -> HTTP1Head? { nil }
    var responseEncoder: HTTP1ResponseEncoder? { nil }
    func keepChunkFraming() -> Bool { false }
    var http2Stream: H2Stream? { nil }
    func connectionIdle() {}
}

/// Sits next to the socket on the client side: counts bytes both ways and reports the first byte of
/// each new request, which starts the `timeout http-request` clock and the request's `%tr` date.
///
/// Runs on the connection's event loop only.
final class ClientIOHandler: ChannelDuplexHandler, ClientIO {
    var isHTTP2: Bool { false }
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private(set) var bytesIn = 0
    private(set) var bytesOut = 0
    /// True once any byte has arrived since `awaitNextRequest()`.
    private(set) var sawRequestBytes = false
    private(set) var requestStart: NIODeadline = .now()
    private(set) var requestStartWallMs: Int64 = 0
    /// Time of the last byte received (client inactivity, `timeout client`).
    private(set) var lastReadAt: NIODeadline = .now()
    /// Called once per request on its first byte.
    var onFirstRequestByte: (() -> Void)?
    /// Watches the first line of a request for its version: llhttp takes `GET /v` as HTTP/0.9 and
    /// waits for the timeout, where HAProxy answers 400 at once.
    private var requestLine = RequestLineVersionCheck()
    /// A request line without a version was seen; later bytes are dropped.
    private var refused = false

    var wireBytesIn: Int? { bytesIn }

    /// Heads decoded and not yet taken by the proxy handler, in the order of their `.head` parts:
    /// the next one, then pipelined ones (a queue is allocated only when a client pipelines).
    private var nextWireHead: HTTP1Head?
    private var laterWireHeads: Deque<HTTP1Head>?
    var responseEncoder: HTTP1ResponseEncoder?
    /// Set by the request decoder while it delivers a head: only then, before any byte of that
    /// request's body is read, can its chunk framing be kept.
    var deliveringHead = false
    /// Asked during that delivery: the decoder keeps the body's framing once the head is handled.
    var chunkFramingRequested = false

    func keepChunkFraming() -> Bool {
        guard deliveringHead else { return false }
        chunkFramingRequested = true
        return true
    }

    /// Told when the connection goes idle (it holds this handler too: let go in `handlerRemoved`).
    var requestDecoder: HTTP1RequestDecoder?

    func connectionIdle() {
        requestDecoder?.releaseIdleStorage()
        responseEncoder?.releaseIdleStorage()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        requestDecoder = nil
    }

    func pushWireHead(_ head: HTTP1Head) {
        if nextWireHead == nil {
            nextWireHead = head
        } else {
            laterWireHeads = laterWireHeads ?? Deque()
            laterWireHeads!.append(head)
        }
    }

    func takeWireHead() -> HTTP1Head? {
        guard let head = nextWireHead else { return nil }
        nextWireHead = laterWireHeads?.popFirst()
        if laterWireHeads?.isEmpty == true { laterWireHeads = nil }
        return head
    }

    init() {}

    /// Resets the per-request byte tracking (after a response finishes).
    func awaitNextRequest() {
        sawRequestBytes = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        bytesIn &+= buffer.readableBytes
        lastReadAt = .now()
        if refused { return }
        if !sawRequestBytes && buffer.readableBytes > 0 {
            sawRequestBytes = true
            requestStart = .now()
            requestStartWallMs = currentWallMs()
            requestLine = RequestLineVersionCheck(scanning: true)
            onFirstRequestByte?()
        }
        if requestLine.scanning && !requestLine.feed(buffer.readableBytesView) {
            refused = true
            context.fireErrorCaught(HTTPParserError.invalidVersion)
            return
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let b): bytesOut &+= b.readableBytes
        case .fileRegion(let f): bytesOut &+= f.readableBytes
        }
        context.write(data, promise: promise)
    }
}

/// Counts the spaces on a request's first line: a line ending with fewer than two (no version) is
/// refused. Empty lines before the request line are skipped, as RFC 9112 §2.2 allows.
struct RequestLineVersionCheck {
    var scanning = false
    private var started = false
    private var spaces = 0
    private var length = 0

    init(scanning: Bool = false) { self.scanning = scanning }

    /// False when the line ended without a version.
    mutating func feed(_ bytes: ByteBufferView) -> Bool {
        for b in bytes {
            if !started {
                if b == UInt8(ascii: "\r") || b == UInt8(ascii: "\n") { continue }
                started = true
            }
            length += 1
            if b == UInt8(ascii: " ") {
                spaces += 1
            } else if b == UInt8(ascii: "\n") {
                scanning = false
                return spaces >= 2
            }
            // Longer lines are the decoder's to judge against its limits.
            if length > 65_536 { scanning = false; return true }
        }
        return true
    }
}

@inline(__always)
func currentWallMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
