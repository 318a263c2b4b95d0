import BreakwaterHTTP1Wire
import NIOCore
import NIOHTTP1

/// A request refused by the byte-level scanner. It carries the NIOHTTP1 error the proxy handler
/// already answers (400, `PR--`) and the scanner's own reason for the log and the status.
struct HTTP1RequestRefused: Error, CustomStringConvertible {
    let reason: HTTP1ParseError
    var parserError: HTTPParserError { HTTPParserError(reason) }
    var description: String { "bad request: \(reason)" }
}

extension HTTPParserError {
    /// The NIOHTTP1 error nearest to a scanner refusal (the proxy handler's answers key on these).
    init(_ reason: HTTP1ParseError) {
        switch reason {
        case .invalidMethod: self = .invalidMethod
        case .invalidTarget: self = .invalidURL
        case .invalidVersion: self = .invalidVersion
        case .invalidStatus: self = .invalidStatus
        case .invalidStartLine: self = .invalidConstant
        case .invalidHeaderName, .whitespaceBeforeColon, .invalidHeaderValue, .obsFold, .duplicateHost: self = .invalidHeaderToken
        case .bareCR: self = .lfExpected
        case .startLineTooLong, .headTooLarge, .tooManyFields: self = .headerOverflow
        case .invalidContentLength, .conflictingContentLength: self = .invalidContentLength
        case .contentLengthWithTransferEncoding: self = .unexpectedContentLength
        case .invalidTransferEncoding: self = .invalidHeaderToken
        case .invalidChunkSize, .chunkSizeTooLarge, .invalidChunkFraming: self = .invalidChunkSize
        }
    }
}

/// Decodes client bytes with the byte-level scanner into NIOHTTP1 request parts, so the proxy
/// handler (shared with HTTP/2 streams) keeps one input type. Unlike llhttp it keeps any token
/// method as spelled (`BREW`, `get`, `M-SEARCH`) and header bytes losslessly (`HTTP1FieldText`);
/// chunk framing is consumed here and the body reaches the handler as payload slices, unless the
/// handler asked, while the head was delivered, for the framing to be kept (`ClientIO.keepChunkFraming()`).
final class HTTP1RequestDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPServerRequestPart

    private var scanner: HTTP1MessageScanner
    /// Told each request's method, so answers to HEAD and CONNECT go out without a body.
    private let responseEncoder: HTTP1ResponseEncoder?
    /// When set, heads go there as bytes and the part fired is `wireHeadToken` (the proxy
    /// handler takes the head from its `ClientIO`): no NIOHTTP1 head is built.
    private let wireHeads: ClientIOHandler?
    /// The event loop's pool the scanner's head arrays go to while the connection is idle.
    private let storagePool: HeadStoragePool?
    /// The scanner has no head arrays of its own (a new connection, or they went to the pool): the
    /// next request's first byte takes some from the pool.
    private var needsStorage = true
    /// Counted in the pool's busy connections (from a request's first byte until the connection idles).
    private var countedBusy = false

    /// What a `.head` part carries when the head itself went to `ClientIOHandler.pushWireHead`.
    static let wireHeadToken = HTTPRequestHead(version: .http1_1, method: .GET, uri: "")

    init(limits: HTTP1Limits, responseEncoder: HTTP1ResponseEncoder? = nil, wireHeads: ClientIOHandler? = nil,
         storagePool: HeadStoragePool? = nil) {
        scanner = HTTP1MessageScanner(kind: .request, limits: limits)
        self.responseEncoder = responseEncoder
        self.wireHeads = wireHeads
        self.storagePool = storagePool
    }

    convenience init(_ nio: NIOHTTPDecoderLimitConfiguration, responseEncoder: HTTP1ResponseEncoder? = nil,
                     wireHeads: ClientIOHandler? = nil, storagePool: HeadStoragePool? = nil) {
        self.init(limits: HTTP1Limits(maxHeadBytes: nio.maxHeaderListSize, maxFieldCount: nio.maxHeaderFieldCount),
                  responseEncoder: responseEncoder, wireHeads: wireHeads, storagePool: storagePool)
    }

    /// The response is complete and the connection idle: the head arrays go to the loop's pool
    /// (nothing if a byte of the next request is already here).
    func releaseIdleStorage() {
        guard let storagePool else { return }
        if countedBusy {
            countedBusy = false
            storagePool.connectionBecameIdle()
        }
        guard !needsStorage, let storage = scanner.takeIdleStorage() else { return }
        storagePool.giveBack(storage)
        needsStorage = true
    }

    func decoderRemoved(context: ChannelHandlerContext) {
        if countedBusy {
            countedBusy = false
            storagePool?.connectionBecameIdle()
        }
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if !countedBusy, let storagePool {
            countedBusy = true
            storagePool.connectionBecameBusy()
        }
        if needsStorage {
            needsStorage = false
            if let storage = storagePool?.takeHeadStorage() { scanner.adoptIdleStorage(storage) }
        }
        while true {
            let (event, body) = scanner.next(consuming: &buffer)
            switch event {
            case .needMore:
                return .needMoreData
            case .head(let head):
                if let wireHeads {
                    responseEncoder?.recordRequestMethod(head.methodIs("HEAD") ? .HEAD : head.methodIs("CONNECT") ? .CONNECT : .GET)
                    wireHeads.pushWireHead(head)
                    wireHeads.deliveringHead = true
                    context.fireChannelRead(wrapInboundOut(.head(Self.wireHeadToken)))
                    wireHeads.deliveringHead = false
                    if wireHeads.chunkFramingRequested {
                        // The handler asked only for a chunked head, and no body byte was read since.
                        wireHeads.chunkFramingRequested = false
                        let kept = scanner.keepChunkFraming()
                        assert(kept, "chunk framing asked for a body that is not at its start")
                    }
                    continue
                }
                let request = Self.requestHead(head)
                responseEncoder?.recordRequestMethod(request.method)
                context.fireChannelRead(wrapInboundOut(.head(request)))
            case .body:
                context.fireChannelRead(wrapInboundOut(.body(body!)))
            case .framing:
                continue
            case .end:
                context.fireChannelRead(wrapInboundOut(.end(nil)))
            case .error(let reason):
                throw HTTP1RequestRefused(reason: reason)
            }
        }
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        if buffer.readableBytes > 0 { _ = try decode(context: context, buffer: &buffer) }
        // A client leaving mid-request is a client abort for the handler (`invalidEOFState`).
        if seenEOF, try scanner.closeInput() { context.fireChannelRead(wrapInboundOut(.end(nil))) }
        return .needMoreData
    }

    /// The NIOHTTP1 head for a scanned one: method as spelled, headers in wire order (without the
    /// fields `edits` removed).
    static func requestHead(_ head: HTTP1Head, skipping edits: HTTP1HeadEdits = HTTP1HeadEdits()) -> HTTPRequestHead {
        let methodText = String(decoding: head.bytes[head.method], as: UTF8.self)
        var method = HTTPMethod(rawValue: methodText)
        if case .MSEARCH = method { method = .RAW(value: methodText) }  // only `MSEARCH` itself maps there
        return HTTPRequestHead(version: head.nioVersion, method: method,
                               uri: String(decoding: head.bytes[head.target], as: UTF8.self), headers: head.nioHeaders(skipping: edits))
    }
}
