import NIOCore

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

    init() {}

    /// Resets the per-request byte tracking (after a response finishes).
    func awaitNextRequest() {
        sawRequestBytes = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        bytesIn &+= buffer.readableBytes
        lastReadAt = .now()
        if !sawRequestBytes && buffer.readableBytes > 0 {
            sawRequestBytes = true
            requestStart = .now()
            requestStartWallMs = currentWallMs()
            onFirstRequestByte?()
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
