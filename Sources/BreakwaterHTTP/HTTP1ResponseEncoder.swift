import BreakwaterHTTP1Wire
import NIOCore
import NIOHTTP1

/// Writes response parts to an HTTP/1.1 client, in place of NIOHTTP1's `HTTPResponseEncoder`:
/// header bytes restored from their lossless text (`HTTP1FieldText`), so a server's obs-text
/// reaches the client byte for byte. Framing follows NIOHTTP1's rules; the request decoder
/// records each request's method so answers to HEAD and CONNECT carry no body.
final class HTTP1ResponseEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = IOData

    /// Whether body parts are chunked here; false for a body passed on already chunk-framed.
    private var isChunked = false
    /// Storage for head bytes, reused from one head to the next (no allocation per head).
    private var headBuffer = ReusableHeadBuffer()
    /// The event loop's pool the head buffer goes to while the connection is idle.
    var storagePool: HeadStoragePool?
    private var suppressBody = false
    /// Methods of requests not answered yet (pipelined requests queue here); bounded by the
    /// decoder, which stops reading while requests wait.
    private var methods: [HTTPMethod] = []

    func recordRequestMethod(_ method: HTTPMethod) {
        methods.append(method)
    }

    /// The response is complete and the connection idle: its head buffer goes to the loop's pool.
    func releaseIdleStorage() {
        if let storagePool { headBuffer.giveBack(to: storagePool) }
    }

    /// A server's head to write as its bytes with edits, in `version`, in place of the next
    /// `.head` part (`wireHeadToken`), set by the proxy handler right before it writes that part.
    /// `bodyIsChunkFramed`: the body parts are the server's chunked body as received (framing,
    /// last chunk and trailers included), written as they are with no framing of the encoder's own.
    var nextWireHead: (head: HTTP1Head, edits: HTTP1HeadEdits, version: (major: Int, minor: Int), bodyIsChunkFramed: Bool)?

    static let wireHeadToken = HTTPResponseHead(version: .http1_1, status: .ok)

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head where nextWireHead != nil:
            let wire = nextWireHead!
            nextWireHead = nil
            let status = HTTPResponseStatus(statusCode: wire.head.status)
            let toConnect = startResponse(code: wire.head.status)
            var edits = wire.edits
            let chunked = Self.frame(wire.head, &edits, version: wire.version, hasBody: !toConnect && status.mayHaveResponseBody)
            assert(!wire.bodyIsChunkFramed || (chunked && !suppressBody), "a pre-framed body on a message not sent chunked")
            isChunked = suppressBody || wire.bodyIsChunkFramed ? false : chunked
            var buffer = headBuffer.take(context.channel.allocator, capacity: wire.head.bytes.count + 64, pool: storagePool)
            HTTP1HeadWriter.writeStatusLine(wire.head, version: wire.version, to: &buffer)
            HTTP1HeadWriter.writeFields(wire.head, edits, to: &buffer)
            headBuffer.keep(buffer)
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .head(var head):
            let code = Int(head.status.code)
            let interim = (100..<200).contains(code) && code != 101
            var toConnect = false
            if !interim, !methods.isEmpty {
                let method = methods.removeFirst()
                suppressBody = method == .HEAD || method == .CONNECT
                toConnect = method == .CONNECT
            }
            let chunked = Self.frame(&head, hasBody: !toConnect && head.status.mayHaveResponseBody)
            isChunked = suppressBody ? false : chunked
            var buffer = headBuffer.take(context.channel.allocator, capacity: 256, pool: storagePool)
            buffer.writeStaticString("HTTP/")
            buffer.writeString(String(head.version.major))
            buffer.writeInteger(UInt8(ascii: "."))
            buffer.writeString(String(head.version.minor))
            buffer.writeInteger(UInt8(ascii: " "))
            buffer.writeString(String(code))
            buffer.writeInteger(UInt8(ascii: " "))
            HTTP1RequestEncoder.writeText(head.status.reasonPhrase, to: &buffer)
            buffer.writeStaticString("\r\n")
            HTTP1RequestEncoder.writeFields(head.headers, to: &buffer)
            headBuffer.keep(buffer)
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .body(let body):
            if suppressBody {
                promise?.succeed(())
                return
            }
            HTTP1RequestEncoder.writeBody(body, chunked: isChunked, context: context, promise: promise)
        case .end(let trailers):
            suppressBody = false
            HTTP1RequestEncoder.writeEnd(trailers, chunked: isChunked, context: context, promise: promise)
        }
    }

    /// Pairs a final response with its request's method; true when it answers a CONNECT.
    private func startResponse(code: Int) -> Bool {
        let interim = (100..<200).contains(code) && code != 101
        guard !interim, !methods.isEmpty else { return false }
        let method = methods.removeFirst()
        suppressBody = method == .HEAD || method == .CONNECT
        return method == .CONNECT
    }

    /// `frame(_:hasBody:)` for a server's head and its edits.
    static func frame(_ head: HTTP1Head, _ edits: inout HTTP1HeadEdits, version: (major: Int, minor: Int), hasBody: Bool) -> Bool {
        guard hasBody else {
            edits.remove(name: "content-length", in: head)
            edits.remove(name: "transfer-encoding", in: head)
            return false
        }
        if edits.contains(name: "content-length", in: head) {
            edits.remove(name: "transfer-encoding", in: head)
            return false
        }
        guard version.major == 1 && version.minor >= 1 else {
            // An HTTP/1.0 client gets the body delimited by the close, not chunked: no field says otherwise.
            edits.remove(name: "transfer-encoding", in: head)
            return false
        }
        edits.replaceOrAdd(name: "transfer-encoding", value: "chunked", in: head)
        return true
    }

    /// NIOHTTP1's response framing; returns whether the body is chunked.
    static func frame(_ head: inout HTTPResponseHead, hasBody: Bool) -> Bool {
        guard hasBody else {
            head.headers.remove(name: "content-length")
            head.headers.remove(name: "transfer-encoding")
            return false
        }
        if head.headers.contains(name: "content-length") {
            head.headers.remove(name: "transfer-encoding")
            return false
        }
        guard head.version.major == 1 && head.version.minor >= 1 else {
            head.headers.remove(name: "transfer-encoding")
            return false
        }
        head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
        return true
    }
}
