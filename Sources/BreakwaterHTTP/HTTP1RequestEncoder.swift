import BreakwaterHTTP1Wire
import NIOCore
import NIOHTTP1

/// Writes request parts towards a server, in place of NIOHTTP1's `HTTPRequestEncoder`: the
/// method exactly as the client spelled it and header bytes restored from their lossless text
/// (`HTTP1FieldText`), so obs-text reaches the server byte for byte. Framing follows the same
/// rules as NIOHTTP1's encoder (a length wins; a body-bearing method without one is chunked on
/// HTTP/1.1), which the proxy's HTTP/2 and FastCGI-less paths rely on.
final class HTTP1RequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    /// Whether body parts are chunked here; false for a body passed on already chunk-framed.
    private var isChunked = false
    /// Storage for head bytes, reused from one head to the next (no allocation per head).
    private var headBuffer = ReusableHeadBuffer()
    /// A received head to write as its bytes with edits in place of the next `.head` part, which
    /// then only carries the method for the response decoder (`UpstreamHandler.writeWireHead`).
    /// `bodyIsChunkFramed`: the body parts are the client's chunked body as received (framing,
    /// last chunk and trailers included), written as they are with no framing of the encoder's own.
    var nextWireHead: (head: HTTP1Head, edits: HTTP1HeadEdits, bodyIsChunkFramed: Bool)?

    /// The `.head` part written with a wire head: what the response decoder needs of it.
    static func wireHeadToken(for head: HTTP1Head) -> HTTPRequestHead {
        head.methodIs("HEAD") ? headToken : head.methodIs("CONNECT") ? connectToken : HTTP1RequestDecoder.wireHeadToken
    }
    private static let headToken = HTTPRequestHead(version: .http1_1, method: .HEAD, uri: "")
    private static let connectToken = HTTPRequestHead(version: .http1_1, method: .CONNECT, uri: "")

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            if let wire = nextWireHead {
                nextWireHead = nil
                var edits = wire.edits
                let chunked = Self.frame(wire.head, &edits)
                if wire.bodyIsChunkFramed && !chunked {
                    // A rule changed the framing fields after the body was taken framed: it still
                    // goes chunked, so the head says so.
                    edits.remove(name: "content-length", in: wire.head)
                    edits.replaceOrAdd(name: "transfer-encoding", value: "chunked", in: wire.head)
                }
                isChunked = chunked && !wire.bodyIsChunkFramed
                var buffer = headBuffer.take(context.channel.allocator, capacity: wire.head.bytes.count + 64)
                HTTP1HeadWriter.writeRequestLine(wire.head, version: edits.version, to: &buffer)
                HTTP1HeadWriter.writeFields(wire.head, edits, to: &buffer)
                headBuffer.keep(buffer)
                context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
                return
            }
            isChunked = Self.frame(&head)
            var buffer = headBuffer.take(context.channel.allocator, capacity: 256)
            Self.writeStartLine(head, to: &buffer)
            Self.writeFields(head.headers, to: &buffer)
            headBuffer.keep(buffer)
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        case .body(let body):
            Self.writeBody(body, chunked: isChunked, context: context, promise: promise)
        case .end(let trailers):
            Self.writeEnd(trailers, chunked: isChunked, context: context, promise: promise)
        }
    }

    /// Header lines and the empty line ending the head.
    static func writeFields(_ headers: HTTPHeaders, to buffer: inout ByteBuffer) {
        for (name, value) in headers {
            writeText(name, to: &buffer)
            buffer.writeStaticString(": ")
            writeText(value, to: &buffer)
            buffer.writeStaticString("\r\n")
        }
        buffer.writeStaticString("\r\n")
    }

    static func writeBody(_ body: IOData, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        // An empty chunk would end the body: written as nothing, in order.
        guard chunked && body.readableBytes > 0 else {
            context.write(NIOAny(body), promise: promise)
            return
        }
        var size = context.channel.allocator.buffer(capacity: 18)
        size.writeString(String(body.readableBytes, radix: 16))
        size.writeStaticString("\r\n")
        context.write(NIOAny(IOData.byteBuffer(size)), promise: nil)
        context.write(NIOAny(body), promise: nil)
        context.write(NIOAny(IOData.byteBuffer(ByteBuffer(staticCRLF: ()))), promise: promise)
    }

    static func writeEnd(_ trailers: HTTPHeaders?, chunked: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard chunked else {
            // Nothing to write, but the promise completes in order behind earlier writes.
            if let promise { context.write(NIOAny(IOData.byteBuffer(ByteBuffer())), promise: promise) }
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: 8)
        buffer.writeStaticString("0\r\n")
        writeFields(trailers ?? [:], to: &buffer)
        context.write(NIOAny(IOData.byteBuffer(buffer)), promise: promise)
    }

    /// NIOHTTP1's framing rules; returns whether the body is chunked.
    static func frame(_ head: inout HTTPRequestHead) -> Bool {
        let http11 = head.version.major == 1 && head.version.minor >= 1
        switch head.method {
        case .TRACE:
            head.headers.remove(name: "content-length")
            head.headers.remove(name: "transfer-encoding")
            return false
        case .POST, .PUT, .PATCH:
            if head.headers.contains(name: "content-length") {
                head.headers.remove(name: "transfer-encoding")
                return false
            }
            guard http11 else { return false }
            head.headers.replaceOrAdd(name: "transfer-encoding", value: "chunked")
            return true
        default:
            if head.headers.contains(name: "content-length") {
                head.headers.remove(name: "transfer-encoding")
                return false
            }
            // Coding names are case-insensitive: `Chunked` frames a body too (NIOHTTP1 compares
            // exactly and would forward such a body unframed).
            return http11 && head.headers["transfer-encoding"].last.map { $0.lowercased().hasSuffix("chunked") } == true
        }
    }

    /// `frame(_:)` for a received head and its edits: the same rules, on the same (edited) fields.
    static func frame(_ head: HTTP1Head, _ edits: inout HTTP1HeadEdits) -> Bool {
        let version = edits.version ?? (head.versionMajor, head.versionMinor)
        let http11 = version.major == 1 && version.minor >= 1
        if head.methodIs("TRACE") {
            edits.remove(name: "content-length", in: head)
            edits.remove(name: "transfer-encoding", in: head)
            return false
        }
        if edits.contains(name: "content-length", in: head) {
            edits.remove(name: "transfer-encoding", in: head)
            return false
        }
        if head.methodIs("POST") || head.methodIs("PUT") || head.methodIs("PATCH") {
            guard http11 else { return false }
            edits.replaceOrAdd(name: "transfer-encoding", value: "chunked", in: head)
            return true
        }
        guard http11 else { return false }
        return lastTransferEncoding(head, edits).map { $0.lowercased().hasSuffix("chunked") } == true
    }

    /// The last forwarded `Transfer-Encoding` value (added fields come after received ones).
    private static func lastTransferEncoding(_ head: HTTP1Head, _ edits: HTTP1HeadEdits) -> String? {
        if let added = edits.added.last(where: { HTTP1HeadEdits.AddedField.named($0, "transfer-encoding") }) { return added.value }
        for (i, field) in head.fields.enumerated().reversed()
        where !edits.isRemoved(i) && head.nameEquals(field, lowercase: "transfer-encoding") {
            return HTTP1FieldText.string(head.bytes[field.value])
        }
        return nil
    }

    static func writeStartLine(_ head: HTTPRequestHead, to buffer: inout ByteBuffer) {
        buffer.writeString(head.method.rawValue)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.uri)
        buffer.writeStaticString(" HTTP/")
        buffer.writeString(String(head.version.major))
        buffer.writeInteger(UInt8(ascii: "."))
        buffer.writeString(String(head.version.minor))
        buffer.writeStaticString("\r\n")
    }

    @inline(__always) static func writeText(_ text: String, to buffer: inout ByteBuffer) {
        if let bytes = HTTP1FieldText.wireBytes(text) { buffer.writeBytes(bytes) } else { buffer.writeString(text) }
    }
}

extension ByteBuffer {
    init(staticCRLF: Void) {
        self.init()
        writeStaticString("\r\n")
    }
}
