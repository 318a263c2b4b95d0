import BreakwaterConfigModel
import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Speaks FastCGI to an application server where the HTTP client codec would otherwise sit: the
/// proxy writes `HTTPClientRequestPart`s and reads `HTTPClientResponsePart`s exactly as for an HTTP
/// server (spec §12).
///
/// Outbound: `.head` → BEGIN_REQUEST (+ `FCGI_KEEP_CONN` with `option keep-conn`) and FCGI_PARAMS
/// built per FCGI-4…FCGI-7; `.body` → STDIN records (no copy, back-pressure through the channel's
/// writability); `.end` → the empty STDIN record. A chunked request body (unknown length) is buffered
/// up to `maxBufferedBody` so CONTENT_LENGTH can be sent, as PHP needs it.
///
/// Inbound: STDOUT parsed as a CGI response (`Status:`, `Location` → 302, `Date` added), a
/// `content-length` added when the whole body is known when the head is forwarded, otherwise
/// `transfer-encoding: chunked` so the proxy frames the client response; STDERR → `onStderr`;
/// END_REQUEST → `.end`. Protocol errors are fired as `FastCGIError` (the proxy answers 502 `PH--`).
///
/// One request at a time per connection, request id 1: `option mpxs-conns` / `max-reqs` are
/// accepted by the model but not used for multiplexing (spec FCGI-10 allows one request per
/// connection; server `maxconn` still bounds concurrent requests).
public final class FastCGIClientHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = FastCGIRecord
    public typealias InboundOut = HTTPClientResponsePart
    public typealias OutboundIn = HTTPClientRequestPart
    public typealias OutboundOut = ByteBuffer

    public static let requestID: UInt16 = 1
    /// CGI response header block limit.
    public static let maxHeaderBytes = 64 * 1024
    /// Body bytes held before the response head is forwarded (to learn the total length).
    public static let maxHeldBody = 64 * 1024

    public let app: FastCGIApplication
    /// Called on the event loop with each STDERR record's text (FCGI-9).
    public var onStderr: ((String) -> Void)?
    public let maxBufferedBody: Int

    private enum RequestSide {
        case idle
        /// BEGIN_REQUEST and PARAMS sent; body parts go out as STDIN.
        case streaming
        /// Chunked body of unknown length: held until `.end`.
        case buffering(head: HTTPRequestHead, parts: [ByteBuffer], total: Int)
        /// The empty STDIN record went out; waiting for END_REQUEST.
        case sent
        /// The response ended before the request: drop the rest of the body.
        case draining
    }

    private enum ResponseSide {
        case idle
        case headers(ByteBuffer)
        /// Head parsed; `head` is non-nil until it has been forwarded.
        case body(head: HTTPResponseHead?, held: [ByteBuffer], heldBytes: Int, appGaveLength: Bool)
    }

    private var requestSide = RequestSide.idle
    private var responseSide = ResponseSide.idle
    private var prepared: FastCGIRequestContext?
    private var preparedParams: [FastCGINameValuePair]?
    private var requestMethod: HTTPMethod = .GET
    private var context: ChannelHandlerContext?

    public init(app: FastCGIApplication, maxBufferedBody: Int = 64 * 1024 * 1024, onStderr: ((String) -> Void)? = nil) {
        self.app = app
        self.maxBufferedBody = maxBufferedBody
        self.onStderr = onStderr
    }

    /// Gives the per-request context; call right before writing `.head`. Computes the parameters
    /// now, so a path that cannot be mapped throws `.invalidRequestPath` (500 `IH--`) before anything
    /// is sent.
    public func prepare(_ requestContext: FastCGIRequestContext, head: HTTPRequestHead) throws(FastCGIError) {
        prepared = requestContext
        preparedParams = try app.parameters(head: head, context: requestContext, bodyLength: Self.declaredLength(head))
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { sendGetValuesIfConfigured(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        sendGetValuesIfConfigured(context: context)
        context.fireChannelActive()
    }

    private func sendGetValuesIfConfigured(context: ChannelHandlerContext) {
        guard app.config.getValues else { return }
        var buffer = context.channel.allocator.buffer(capacity: 48)
        FastCGIRecord(requestID: 0, body: .getValues([FastCGINameValuePair("FCGI_MAX_REQS", ""),
                                                      FastCGINameValuePair("FCGI_MPXS_CONNS", "")])).encode(into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }

    // MARK: - Outbound: HTTP request → records

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            guard case .idle = requestSide, case .idle = responseSide else {
                promise?.fail(FastCGIError.unexpectedRecord(type: FastCGIRecordType.beginRequest.rawValue, id: Self.requestID))
                context.fireErrorCaught(FastCGIError.unexpectedRecord(type: FastCGIRecordType.beginRequest.rawValue, id: Self.requestID))
                return
            }
            requestMethod = head.method
            responseSide = .headers(context.channel.allocator.buffer(capacity: 0))
            if Self.hasUnknownLengthBody(head) {
                requestSide = .buffering(head: head, parts: [], total: 0)
                promise?.succeed(())
                return
            }
            let params: [FastCGINameValuePair]
            do {
                params = try preparedParams ?? app.parameters(head: head, context: prepared ?? Self.unknownContext,
                                                             bodyLength: Self.declaredLength(head))
            } catch {
                promise?.fail(error)
                context.fireErrorCaught(error)
                return
            }
            preparedParams = nil
            requestSide = .streaming
            context.write(wrapOutboundOut(beginAndParams(params, allocator: context.channel.allocator)), promise: promise)

        case .body(let body):
            guard case .byteBuffer(let buffer) = body else {
                promise?.fail(ChannelError.operationUnsupported)
                return
            }
            switch requestSide {
            case .streaming:
                writeStdin(buffer, context: context, promise: promise)
            case .buffering(let head, var parts, let total):
                let newTotal = total + buffer.readableBytes
                guard newTotal <= maxBufferedBody else {
                    promise?.fail(FastCGIError.requestBodyTooLarge)
                    context.fireErrorCaught(FastCGIError.requestBodyTooLarge)
                    return
                }
                requestSide = .idle  // avoid a copy-on-write of `parts`
                parts.append(buffer)
                requestSide = .buffering(head: head, parts: parts, total: newTotal)
                promise?.succeed(())
            case .draining, .idle, .sent:
                promise?.succeed(())
            }

        case .end:
            switch requestSide {
            case .streaming:
                requestSide = .sent
                context.write(wrapOutboundOut(emptyStdin(context.channel.allocator)), promise: promise)
            case .buffering(let head, let parts, let total):
                let params: [FastCGINameValuePair]
                do {
                    params = try app.parameters(head: head, context: prepared ?? Self.unknownContext, bodyLength: total)
                } catch {
                    promise?.fail(error)
                    context.fireErrorCaught(error)
                    return
                }
                preparedParams = nil
                requestSide = .sent
                context.write(wrapOutboundOut(beginAndParams(params, allocator: context.channel.allocator)), promise: nil)
                for part in parts { writeStdin(part, context: context, promise: nil) }
                context.write(wrapOutboundOut(emptyStdin(context.channel.allocator)), promise: promise)
            case .draining:
                requestSide = .idle
                promise?.succeed(())
            case .idle, .sent:
                promise?.succeed(())
            }
        }
    }

    private func beginAndParams(_ params: [FastCGINameValuePair], allocator: ByteBufferAllocator) -> ByteBuffer {
        var content = allocator.buffer(capacity: params.reduce(0) { $0 + $1.encodedLength })
        for p in params { FastCGIRecord.writePair(p, into: &content) }
        var out = allocator.buffer(capacity: content.readableBytes + 48 + 8 * (content.readableBytes / 65535 + 1))
        FastCGIRecord(requestID: Self.requestID, body: .beginRequest(role: .responder, keepConnection: app.config.keepConn))
            .encode(into: &out)
        if content.readableBytes > 0 {
            FastCGIRecord.encodeStream(.params, requestID: Self.requestID, content: content, into: &out)
        }
        FastCGIRecord.writeHeader(type: .params, requestID: Self.requestID, contentLength: 0, into: &out)
        return out
    }

    private func emptyStdin(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 8)
        FastCGIRecord.writeHeader(type: .stdin, requestID: Self.requestID, contentLength: 0, into: &out)
        return out
    }

    /// STDIN records of at most 65535 bytes; the body bytes are written as slices (no copy).
    private func writeStdin(_ buffer: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        var body = buffer
        guard body.readableBytes > 0 else {
            promise?.succeed(())
            return
        }
        while body.readableBytes > 0 {
            let n = min(body.readableBytes, FastCGIRecord.maxContentLength)
            let slice = body.readSlice(length: n)!
            var header = context.channel.allocator.buffer(capacity: 8)
            FastCGIRecord.writeHeader(type: .stdin, requestID: Self.requestID, contentLength: n, into: &header)
            if n <= 4096 {
                // Small chunks: one buffer, one write.
                var s = slice
                header.writeBuffer(&s)
                context.write(wrapOutboundOut(header), promise: body.readableBytes == 0 ? promise : nil)
            } else {
                context.write(wrapOutboundOut(header), promise: nil)
                context.write(wrapOutboundOut(slice), promise: body.readableBytes == 0 ? promise : nil)
            }
        }
    }

    // MARK: - Inbound: records → HTTP response

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let record = unwrapInboundIn(data)
        if record.requestID == 0 {
            // Management records (GET_VALUES_RESULT, UNKNOWN_TYPE): informational only.
            return
        }
        guard record.requestID == Self.requestID else {
            fail(context, .unexpectedRecord(type: record.body.type.rawValue, id: record.requestID))
            return
        }
        switch record.body {
        case .stdout(let buffer):
            stdout(buffer, context: context)
        case .stderr(let buffer):
            stderr(buffer)
        case .endRequest(_, let status):
            endRequest(status, context: context)
        default:
            fail(context, .unexpectedRecord(type: record.body.type.rawValue, id: record.requestID))
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        // Nothing more arrived in this read: stop waiting for the body's end and forward the head.
        if case .body(let head?, let held, _, let appGaveLength) = responseSide {
            forwardHead(head, held: held, chunked: !appGaveLength, context: context)
        }
        context.fireChannelReadComplete()
    }

    private func fail(_ context: ChannelHandlerContext, _ error: FastCGIError) {
        responseSide = .idle
        requestSide = .idle
        context.fireErrorCaught(error)
    }

    private func stderr(_ buffer: ByteBuffer) {
        guard let onStderr, buffer.readableBytes > 0 else { return }
        var bytes = buffer.readableBytesView[...]
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0 { bytes = bytes.dropLast() }
        guard !bytes.isEmpty else { return }
        onStderr(String(decoding: bytes, as: UTF8.self))
    }

    private func stdout(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        guard buffer.readableBytes > 0 else { return }  // end of the STDOUT stream
        switch responseSide {
        case .idle:
            fail(context, .unexpectedRecord(type: FastCGIRecordType.stdout.rawValue, id: Self.requestID))
        case .headers(var accumulated):
            responseSide = .idle
            var incoming = buffer
            accumulated.writeBuffer(&incoming)
            guard let end = Self.headerBlockEnd(accumulated) else {
                guard accumulated.readableBytes <= Self.maxHeaderBytes else {
                    fail(context, .invalidResponseHeaders("header block larger than \(Self.maxHeaderBytes) bytes"))
                    return
                }
                responseSide = .headers(accumulated)
                return
            }
            guard end.headerLength <= Self.maxHeaderBytes else {
                fail(context, .invalidResponseHeaders("header block larger than \(Self.maxHeaderBytes) bytes"))
                return
            }
            let headerBytes = accumulated.readSlice(length: end.headerLength)!
            accumulated.moveReaderIndex(forwardBy: end.separatorLength)
            let head: HTTPResponseHead
            let appGaveLength: Bool
            do {
                (head, appGaveLength) = try parseCGIHeaders(headerBytes)
            } catch {
                fail(context, error)
                return
            }
            let rest = accumulated.readableBytes
            responseSide = .body(head: head, held: rest > 0 ? [accumulated] : [], heldBytes: rest, appGaveLength: appGaveLength)
            if rest > Self.maxHeldBody {
                forwardHead(head, held: [accumulated], chunked: !appGaveLength, context: context)
            }
        case .body(let head?, var held, let heldBytes, let appGaveLength):
            responseSide = .idle
            held.append(buffer)
            let total = heldBytes + buffer.readableBytes
            responseSide = .body(head: head, held: held, heldBytes: total, appGaveLength: appGaveLength)
            if total > Self.maxHeldBody {
                forwardHead(head, held: held, chunked: !appGaveLength, context: context)
            }
        case .body(nil, _, _, _):
            context.fireChannelRead(wrapInboundOut(.body(buffer)))
        }
    }

    private func forwardHead(_ head: HTTPResponseHead, held: [ByteBuffer], chunked: Bool, context: ChannelHandlerContext) {
        var head = head
        if chunked && Self.statusAllowsBody(head.status.code) && requestMethod != .HEAD {
            head.headers.add(name: "transfer-encoding", value: "chunked")
        }
        responseSide = .body(head: nil, held: [], heldBytes: 0, appGaveLength: true)
        context.fireChannelRead(wrapInboundOut(.head(head)))
        for b in held { context.fireChannelRead(wrapInboundOut(.body(b))) }
    }

    private func endRequest(_ status: FastCGIProtocolStatus, context: ChannelHandlerContext) {
        guard status == .requestComplete else {
            fail(context, .requestRejected(status))
            return
        }
        switch responseSide {
        case .idle:
            fail(context, .unexpectedRecord(type: FastCGIRecordType.endRequest.rawValue, id: Self.requestID))
            return
        case .headers:
            fail(context, .truncatedResponse)
            return
        case .body(let head?, let held, let heldBytes, let appGaveLength):
            // The whole response is known: frame it with a length.
            var head = head
            if !appGaveLength && Self.statusAllowsBody(head.status.code) && requestMethod != .HEAD {
                head.headers.add(name: "content-length", value: String(heldBytes))
            }
            context.fireChannelRead(wrapInboundOut(.head(head)))
            for b in held { context.fireChannelRead(wrapInboundOut(.body(b))) }
        case .body(nil, _, _, _):
            break
        }
        responseSide = .idle
        switch requestSide {
        case .streaming, .buffering: requestSide = .draining
        default: requestSide = .idle
        }
        prepared = nil
        context.fireChannelRead(wrapInboundOut(.end(nil)))
    }

    // MARK: - CGI response headers

    /// Position of the blank line ending the header block (`\n\n` or `\n\r\n`; also at offset 0).
    static func headerBlockEnd(_ buffer: ByteBuffer) -> (headerLength: Int, separatorLength: Int)? {
        let view = buffer.readableBytesView
        var i = view.startIndex
        var lineStart = true
        while i < view.endIndex {
            let b = view[i]
            if lineStart {
                if b == 0x0A { return (i - view.startIndex, 1) }
                if b == 0x0D, i + 1 < view.endIndex, view[i + 1] == 0x0A { return (i - view.startIndex, 2) }
                if b == 0x0D, i + 1 == view.endIndex { return nil }
            }
            lineStart = b == 0x0A
            i += 1
        }
        return nil
    }

    /// Parses `Name: value` lines; returns the HTTP head and whether the app gave a Content-Length.
    func parseCGIHeaders(_ block: ByteBuffer) throws(FastCGIError) -> (HTTPResponseHead, Bool) {
        var headers = HTTPHeaders()
        var status: HTTPResponseStatus?
        var hasLocation = false
        var hasDate = false
        var hasLength = false
        let bytes = block.readableBytesView
        var lineStart = bytes.startIndex
        while lineStart < bytes.endIndex {
            var lineEnd = bytes[lineStart...].firstIndex(of: 0x0A) ?? bytes.endIndex
            let next = lineEnd < bytes.endIndex ? lineEnd + 1 : lineEnd
            if lineEnd > lineStart, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            let line = bytes[lineStart..<lineEnd]
            lineStart = next
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw .invalidResponseHeaders("line without ':'")
            }
            let nameBytes = line[line.startIndex..<colon]
            guard !nameBytes.isEmpty, nameBytes.allSatisfy(Self.isTokenByte) else {
                throw .invalidResponseHeaders("invalid header name")
            }
            var valueBytes = line[(colon + 1)...]
            while let f = valueBytes.first, f == 0x20 || f == 0x09 { valueBytes = valueBytes.dropFirst() }
            while let l = valueBytes.last, l == 0x20 || l == 0x09 { valueBytes = valueBytes.dropLast() }
            guard !valueBytes.contains(where: { $0 == 0x0D || $0 == 0 }) else {
                throw .invalidResponseHeaders("control character in a header value")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            let value = String(decoding: valueBytes, as: UTF8.self)
            switch name.lowercased() {
            case "status":
                guard status == nil else { throw .invalidResponseHeaders("several Status headers") }
                status = try Self.parseStatus(value)
                continue
            case "location": hasLocation = true
            case "date": hasDate = true
            case "content-length":
                guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                    throw .invalidResponseHeaders("invalid Content-Length")
                }
                if hasLength { throw .invalidResponseHeaders("several Content-Length headers") }
                hasLength = true
            case "transfer-encoding", "connection", "keep-alive":
                continue  // the CGI body is raw bytes; hop-by-hop headers do not apply
            default: break
            }
            headers.add(name: name, value: value)
        }
        if !hasDate { headers.add(name: "date", value: Self.httpDate()) }
        if !app.config.keepConn { headers.add(name: "connection", value: "close") }
        let finalStatus = status ?? (hasLocation ? .found : .ok)
        return (HTTPResponseHead(version: .http1_1, status: finalStatus, headers: headers), hasLength)
    }

    static func parseStatus(_ value: String) throws(FastCGIError) -> HTTPResponseStatus {
        let utf8 = Array(value.utf8)
        guard utf8.count >= 3, utf8[0..<3].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              utf8.count == 3 || utf8[3] == 0x20 || utf8[3] == 0x09 else {
            throw .invalidResponseHeaders("invalid Status '\(value)'")
        }
        let code = Int(utf8[0] - 0x30) * 100 + Int(utf8[1] - 0x30) * 10 + Int(utf8[2] - 0x30)
        guard (200...599).contains(code) else { throw .invalidResponseHeaders("invalid Status code \(code)") }
        let reason = String(decoding: utf8.dropFirst(3), as: UTF8.self).trimmingCharacters()
        return reason.isEmpty ? HTTPResponseStatus(statusCode: code) : HTTPResponseStatus(statusCode: code, reasonPhrase: reason)
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default: return false
        }
    }

    static func statusAllowsBody(_ code: UInt) -> Bool {
        !(code == 204 || code == 304 || code < 200)
    }

    // MARK: - Request framing

    static func declaredLength(_ head: HTTPRequestHead) -> Int? {
        head.headers.first(name: "content-length").flatMap { Int($0.trimmingCharacters()) }
    }

    static func hasUnknownLengthBody(_ head: HTTPRequestHead) -> Bool {
        head.headers.contains(name: "transfer-encoding") && !head.headers.contains(name: "content-length")
    }

    static var unknownContext: FastCGIRequestContext { FastCGIRequestContext(clientAddress: "", clientPort: 0, frontendAddress: "", frontendPort: 0) }

    /// IMF-fixdate, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate() -> String {
        var t = time(nil)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func p2(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tmv.tm_wday)]), \(p2(tmv.tm_mday)) \(months[Int(tmv.tm_mon)]) \(tmv.tm_year + 1900) "
            + "\(p2(tmv.tm_hour)):\(p2(tmv.tm_min)):\(p2(tmv.tm_sec)) GMT"
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Adds the record decoder and the FastCGI client: the rest of the pipeline then sees HTTP client parts.
    public func addFastCGIClientHandlers(app: FastCGIApplication, onStderr: ((String) -> Void)? = nil) throws {
        try addHandler(ByteToMessageHandler(FastCGIRecordDecoder()))
        try addHandler(FastCGIClientHandler(app: app, onStderr: onStderr))
    }
}
