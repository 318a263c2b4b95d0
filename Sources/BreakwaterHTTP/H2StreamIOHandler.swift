import NIOCore
import NIOHTTP2

/// The `ClientIO` of one HTTP/2 stream: sits at the head of the stream channel (frame payloads)
/// and counts what the client sent and received on this stream (`%B`, `bytes_out_*`). Header
/// blocks count as their field sizes, since HPACK hides the wire size.
final class H2StreamIOHandler: ChannelDuplexHandler, ClientIO {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private(set) var bytesOut = 0
    private(set) var sawRequestBytes = false
    private(set) var requestStart: NIODeadline = .now()
    private(set) var requestStartWallMs: Int64 = currentWallMs()
    private(set) var lastReadAt: NIODeadline = .now()
    var onFirstRequestByte: (() -> Void)?
    var isHTTP2: Bool { true }

    func awaitNextRequest() {}

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastReadAt = .now()
        if !sawRequestBytes {
            sawRequestBytes = true
            requestStart = .now()
            requestStartWallMs = currentWallMs()
            onFirstRequestByte?()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .data(let d):
            if case .byteBuffer(let b) = d.data { bytesOut &+= b.readableBytes }
        case .headers(let h):
            for (name, value, _) in h.headers { bytesOut &+= name.utf8.count + value.utf8.count + 4 }
        default:
            break
        }
        context.write(data, promise: promise)
    }
}
