import BreakwaterHTTP1Wire
import NIOCore
import NIOHTTP1

/// Decodes a server's bytes with the byte-level scanner into NIOHTTP1 response parts, in place
/// of NIOHTTP1's `HTTPResponseDecoder`: header bytes (obs-text included) are kept losslessly
/// (`HTTP1FieldText`), and the request heads written out (observed through the
/// `ByteToMessageHandler`) tell it which responses cannot have a body. Interim 1xx responses
/// other than 101 are dropped, as NIOHTTP1 does by default.
final class HTTP1ResponseDecoder: WriteObservingByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart

    private var scanner = HTTP1MessageScanner(kind: .response)
    /// Methods of requests written and not answered yet (the proxy sends one at a time).
    private var methods: [HTTPMethod] = []
    private var answering: HTTPMethod?
    private var inInterim = false
    /// When set, a final response head is kept for `takeWireHead()` and the part fired is
    /// `wireHeadToken`: no NIOHTTP1 head is built (the `UpstreamHandler` sets it).
    var handsOverHeads = false
    private var wireHead: HTTP1Head?

    static let wireHeadToken = HTTPResponseHead(version: .http1_1, status: .ok)

    /// For the response whose head was just fired: a chunked body goes on as received, framing
    /// included (`HTTP1MessageScanner.keepChunkFraming()`), for a client that takes it chunked.
    func keepChunkFraming() {
        scanner.keepChunkFraming()
    }

    /// The head behind the `.head` part just fired, when `handsOverHeads` is set.
    func takeWireHead() -> HTTP1Head? {
        defer { wireHead = nil }
        return wireHead
    }

    func write(data: HTTPClientRequestPart) {
        if case .head(let head) = data {
            methods.append(head.method)
            if answering == nil && scanner.isIdle { startAnswer() }
        }
    }

    private func startAnswer() {
        guard !methods.isEmpty else { return }
        let method = methods.removeFirst()
        answering = method
        scanner.expectResponse(toHEAD: method == .HEAD, toCONNECT: method == .CONNECT)
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        while true {
            let (event, body) = scanner.next(consuming: &buffer)
            switch event {
            case .needMore:
                return .needMoreData
            case .head(let head):
                inInterim = (100..<200).contains(head.status) && head.status != 101
                if inInterim { continue }
                if handsOverHeads {
                    wireHead = head
                    context.fireChannelRead(wrapInboundOut(.head(Self.wireHeadToken)))
                } else {
                    context.fireChannelRead(wrapInboundOut(.head(Self.responseHead(head))))
                }
            case .body:
                if !inInterim { context.fireChannelRead(wrapInboundOut(.body(body!))) }
            case .framing:
                continue
            case .end:
                if inInterim {
                    inInterim = false
                } else {
                    answering = nil
                    startAnswer()
                    context.fireChannelRead(wrapInboundOut(.end(nil)))
                }
            case .error(let reason):
                throw HTTPParserError(reason)
            }
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if buffer.readableBytes > 0 { _ = try decode(context: context, buffer: &buffer) }
        if seenEOF, try scanner.closeInput() {
            answering = nil
            context.fireChannelRead(wrapInboundOut(.end(nil)))
        }
        return .needMoreData
    }

    static func responseHead(_ head: HTTP1Head) -> HTTPResponseHead {
        HTTPResponseHead(version: head.nioVersion,
                         status: HTTPResponseStatus(statusCode: head.status, reasonPhrase: HTTP1FieldText.string(head.bytes[head.reason])),
                         headers: head.nioHeaders)
    }
}
