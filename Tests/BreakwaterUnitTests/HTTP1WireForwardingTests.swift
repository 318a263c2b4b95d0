@testable import BreakwaterHTTP
import BreakwaterHTTP1Wire
import BreakwaterObservability
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The byte path of the HTTP/1.1 proxy: heads forwarded as their received bytes plus edits must
/// leave exactly as the NIOHTTP1 path (materialise, edit `HTTPHeaders`, re-encode) writes them.
@Suite struct HTTP1WireForwardingTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static func head(_ wire: [UInt8], kind: HTTP1Head.Kind = .request) throws -> HTTP1Head {
        var scanner = HTTP1MessageScanner(kind: kind)
        let (event, _) = wire.withUnsafeBytes { scanner.next($0) }
        guard case .head(let head) = event else { throw ScanFailed(event: event) }
        return head
    }

    struct ScanFailed: Error { let event: HTTP1MessageScanner.Event }

    static func fields(_ head: HTTP1Head, _ edits: HTTP1HeadEdits) -> [UInt8] {
        var buffer = ByteBuffer()
        HTTP1HeadWriter.writeRequestLine(head, version: edits.version, to: &buffer)
        HTTP1HeadWriter.writeFields(head, edits, to: &buffer)
        return Array(buffer.readableBytesView)
    }

    // MARK: - The writer

    @Test func unchangedHeadIsCopied() throws {
        let wire = Self.bytes("GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nX-L: caf") + [0xE9] + Self.bytes("\r\n\r\n")
        #expect(Self.fields(try Self.head(wire), HTTP1HeadEdits()) == wire)
    }

    @Test func removedLinesAreSkippedAndAddedOnesGoLast() throws {
        let head = try Self.head(Self.bytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\nAccept: */*\r\n\r\n"))
        var edits = HTTP1HeadEdits()
        edits.remove(name: "connection", in: head)
        edits.remove(name: "X-HOP", in: head)
        edits.add(name: "x-forwarded-for", value: "127.0.0.1")
        #expect(Self.fields(head, edits) == Self.bytes("GET / HTTP/1.1\r\nHost: x\r\nAccept: */*\r\nx-forwarded-for: 127.0.0.1\r\n\r\n"))
    }

    @Test func replaceOrAddDropsEveryFieldOfThatName() throws {
        let head = try Self.head(Self.bytes("POST / HTTP/1.1\r\nContent-Length: 2\r\nHost: x\r\ncontent-length: 2\r\n\r\n"))
        var edits = HTTP1HeadEdits()
        edits.add(name: "Content-Length", value: "9")
        edits.replaceOrAdd(name: "content-length", value: "2", in: head)
        #expect(Self.fields(head, edits) == Self.bytes("POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\n\r\n"))
        #expect(edits.contains(name: "CONTENT-LENGTH", in: head))
    }

    @Test func requestLineIsRewrittenOnlyForAnotherVersionOrForm() throws {
        var edits = HTTP1HeadEdits()
        edits.version = (1, 1)
        let old = try Self.head(Self.bytes("GET /x HTTP/1.0\r\nHost: x\r\n\r\n"))
        #expect(Self.fields(old, edits) == Self.bytes("GET /x HTTP/1.1\r\nHost: x\r\n\r\n"))
        let spaced = try Self.head(Self.bytes("GET  /x\tHTTP/1.1\nHost:x\nX-E:\nX-T: v  \n\n"))
        #expect(Self.fields(spaced, HTTP1HeadEdits()) == Self.bytes("GET /x HTTP/1.1\r\nHost: x\r\nX-E: \r\nX-T: v\r\n\r\n"))
        let same = try Self.head(Self.bytes("get /x HTTP/1.1\r\nHost: x\r\n\r\n"))
        #expect(Self.fields(same, edits) == Self.bytes("get /x HTTP/1.1\r\nHost: x\r\n\r\n"))
    }

    @Test func statusLineKeepsNIOReasonPhrases() throws {
        func status(_ s: String, _ version: (major: Int, minor: Int) = (1, 1)) throws -> String {
            var buffer = ByteBuffer()
            HTTP1HeadWriter.writeStatusLine(try Self.head(Self.bytes(s + "\r\n\r\n"), kind: .response), version: version, to: &buffer)
            return String(buffer: buffer)
        }
        #expect(try status("HTTP/1.1 200 OK") == "HTTP/1.1 200 OK\r\n")
        #expect(try status("HTTP/1.1 200 Fine") == "HTTP/1.1 200 OK\r\n")
        #expect(try status("HTTP/1.1 200") == "HTTP/1.1 200 OK\r\n")
        #expect(try status("HTTP/1.1 299 Odd one") == "HTTP/1.1 299 Odd one\r\n")
        #expect(try status("HTTP/1.1 404 Not Found", (1, 0)) == "HTTP/1.0 404 Not Found\r\n")
    }

    // MARK: - Same bytes as the NIOHTTP1 path

    static let requests: [String] = [
        "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: wrk\r\n\r\n",
        "GET /old HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nTrailer: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: content-length, host, transfer-encoding\r\nContent-Length: 0\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n",
        "POST /p HTTP/1.1\r\nHost: x\r\nExpect: something\r\nContent-Length: 3\r\n\r\n",
        "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
        "PUT /c HTTP/1.1\r\nHost: x\r\n\r\n",
        "PATCH /c HTTP/1.0\r\nHost: x\r\n\r\n",
        "BREW /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n",
        "post /c HTTP/1.1\r\nHost: x\r\n\r\n",
        "TRACE / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n",
        "M-SEARCH * HTTP/1.1\r\nHost: x\r\nMan: \"ssdp:discover\"\r\n\r\n",
        "GET http://x/abs HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\nHost:x\nX-E:\nX-F:   v  \n\n",
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: ,  X-A\t, ,Keep-Alive,UPGRADE,x-b\r\nx-a: 1\r\nX-B: 2\r\nUpgrade: h2c\r\nX-C: 3\r\n\r\n",
    ]

    /// The old path: NIOHTTP1 head, `HTTPHeaders` hygiene, `HTTP1RequestEncoder` framing.
    static func viaNIO(_ wire: HTTP1Head, forwardFor: Bool, close: Bool) throws -> (head: [UInt8], expectContinue: Bool) {
        let request = ProxyRequest(head: HTTP1RequestDecoder.requestHead(wire), record: record, start: .now(),
                                   clientKeepAlive: true, bytesOutAtStart: 0, sourceAddress: nil, hasBody: false)
        let scan = HeaderHygiene.scan(request.head.headers)
        HeaderHygiene.prepareForUpstream(&request.head, request: request, scan: scan)
        if forwardFor { request.addHeader(name: "x-forwarded-for", value: "10.0.0.1") }
        if close { request.replaceOrAddHeader(name: "connection", value: "close") }
        let channel = EmbeddedChannel(handler: HTTP1RequestEncoder())
        try channel.writeOutbound(HTTPClientRequestPart.head(request.head))
        return (try written(channel), request.expectContinue)
    }

    static func viaBytes(_ wire: HTTP1Head, forwardFor: Bool, close: Bool) throws -> (head: [UInt8], expectContinue: Bool, request: ProxyRequest) {
        let request = ProxyRequest(wire: wire, record: record, start: .now(), clientKeepAlive: true, bytesOutAtStart: 0,
                                   sourceAddress: nil, hasBody: false)
        HeaderHygiene.prepareForUpstream(wire: wire, request: request, scan: HeaderHygiene.scan(wire: wire))
        if forwardFor { request.addHeader(name: "x-forwarded-for", value: "10.0.0.1") }
        if close { request.replaceOrAddHeader(name: "connection", value: "close") }
        #expect(request.forwardsWireHead)
        let encoder = HTTP1RequestEncoder()
        let channel = EmbeddedChannel(handler: encoder)
        encoder.nextWireHead = (wire, request.edits, false)
        try channel.writeOutbound(HTTPClientRequestPart.head(HTTP1RequestEncoder.wireHeadToken(for: wire)))
        return (try written(channel), request.expectContinue, request)
    }

    static var record: HTTPLogRecord {
        HTTPLogRecord(clientAddress: "10.0.0.1", clientPort: 1, requestDateMs: 0, frontend: "f", backend: "b", server: "s")
    }

    static func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var out: [UInt8] = []
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let b) = data { out += b.readableBytesView }
        }
        _ = try? channel.finish()
        return out
    }

    @Test(arguments: requests)
    func forwardedHeadMatchesNIOPath(_ text: String) throws {
        let wire = try Self.head(Self.bytes(text))
        for (forwardFor, close) in [(false, false), (true, false), (true, true)] {
            let old = try Self.viaNIO(wire, forwardFor: forwardFor, close: close)
            let new = try Self.viaBytes(wire, forwardFor: forwardFor, close: close)
            #expect(String(decoding: new.head, as: UTF8.self) == String(decoding: old.head, as: UTF8.self), "\(text)")
            #expect(new.head == old.head)
            #expect(new.expectContinue == old.expectContinue)
            // A rule that needs the NIOHTTP1 head afterwards sees the same one.
            let materialised = new.request.head
            let reference = try Self.nioHeadAfterHygiene(wire, forwardFor: forwardFor, close: close)
            #expect(materialised.headers == reference.headers)
            #expect(materialised.version == reference.version)
            #expect(materialised.method == reference.method)
            #expect(new.request.aclHeaderValues("host") == ["x"])
        }
    }

    static func nioHeadAfterHygiene(_ wire: HTTP1Head, forwardFor: Bool, close: Bool) throws -> HTTPRequestHead {
        let request = ProxyRequest(head: HTTP1RequestDecoder.requestHead(wire), record: record, start: .now(),
                                   clientKeepAlive: true, bytesOutAtStart: 0, sourceAddress: nil, hasBody: false)
        HeaderHygiene.prepareForUpstream(&request.head, request: request, scan: HeaderHygiene.scan(request.head.headers))
        if forwardFor { request.head.headers.add(name: "x-forwarded-for", value: "10.0.0.1") }
        if close { request.head.headers.replaceOrAdd(name: "connection", value: "close") }
        return request.head
    }

    @Test func scanAndValidateAgreeWithNIOPath() throws {
        let texts = Self.requests + [
            "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ]
        for text in texts {
            guard let wire = try? Self.head(Self.bytes(text)) else { continue }
            let nio = HTTP1RequestDecoder.requestHead(wire)
            let a = HeaderHygiene.scan(wire: wire), b = HeaderHygiene.scan(nio.headers)
            #expect(a.transferEncoding == b.transferEncoding && a.contentLength == b.contentLength)
            #expect(a.hostCount == b.hostCount && a.hasHopByHop == b.hasHopByHop && a.hasExpect == b.hasExpect)
            #expect(HeaderHygiene.validate(wire: wire, a) == HeaderHygiene.validate(nio, b), "\(text)")
            #expect(HeaderHygiene.hasUnsupportedCoding(a) == HeaderHygiene.hasUnsupportedCoding(b))
            #expect(wire.keepAlive == nio.isKeepAlive, "\(text)")
        }
    }

    // MARK: - Responses

    @Test func responseHopByHopRemovalMatchesStringPath() throws {
        let texts = [
            "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
            "HTTP/1.1 200 OK\r\nConnection: close, X-Drop ,\tx-two, content-length, host\r\nX-Drop: 1\r\nX-Two: 2\r\nHost: h\r\nContent-Length: 1\r\nTE: x\r\nTrailer: y\r\nProxy-Connection: z\r\nKeep-Alive: 1\r\n\r\n",
        ]
        for text in texts {
            let wire = try Self.head(Self.bytes(text), kind: .response)
            var edits = HTTP1HeadEdits()
            HeaderHygiene.removeHopByHop(wire, &edits)
            var reference = wire.nioHeaders
            var named: [String] = []
            for value in reference["connection"] {
                for token in value.split(separator: ",") { named.append(String(token).trimmingOWS().lowercased()) }
            }
            for name in HeaderHygiene.hopByHop { reference.remove(name: name) }
            for name in named where !["close", "keep-alive", "content-length", "transfer-encoding"].contains(name) {
                reference.remove(name: name)
            }
            #expect(wire.nioHeaders(skipping: edits) == reference, "\(text)")
        }
    }

    static let responses: [String] = [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nServer: nginx\r\n\r\n",
        "HTTP/1.1 200 Fine\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n",
        "HTTP/1.1 404 Not Found\r\nConnection: close, X-Drop\r\nX-Drop: 1\r\nKeep-Alive: 5\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nServer: old\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
        "HTTP/1.1 299 Odd\r\nx-y:z\r\n\r\n",
    ]

    @Test(arguments: responses)
    func responseEncoderWritesWireHeadLikeNIOHead(_ text: String) throws {
        let wire = try Self.head(Self.bytes(text), kind: .response)
        for method in [HTTPMethod.GET, .HEAD] {
            for (version, close) in [((1, 1), false), ((1, 1), true), ((1, 0), false)] {
                var edits = HTTP1HeadEdits()
                if wire.framing.connectionFields.isEmpty == false { HeaderHygiene.removeHopByHop(wire, &edits) }
                if version == (1, 0) { edits.add(name: "connection", value: "keep-alive") }
                if close { edits.replaceOrAdd(name: "connection", value: "close", in: wire) }

                var nio = HTTP1ResponseDecoder.responseHead(wire)
                nio.headers = wire.nioHeaders(skipping: edits)
                for field in edits.added { nio.headers.add(name: field.name, value: field.value) }
                nio.version = HTTPVersion(major: version.0, minor: version.1)
                let oldEncoder = HTTP1ResponseEncoder()
                let oldChannel = EmbeddedChannel(handler: oldEncoder)
                oldEncoder.recordRequestMethod(method)
                try oldChannel.writeOutbound(HTTPServerResponsePart.head(nio))
                try oldChannel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "ok"))))
                try oldChannel.writeOutbound(HTTPServerResponsePart.end(nil))

                let newEncoder = HTTP1ResponseEncoder()
                let newChannel = EmbeddedChannel(handler: newEncoder)
                newEncoder.recordRequestMethod(method)
                newEncoder.nextWireHead = (wire, edits, (version.0, version.1), false)
                try newChannel.writeOutbound(HTTPServerResponsePart.head(HTTP1ResponseEncoder.wireHeadToken))
                try newChannel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "ok"))))
                try newChannel.writeOutbound(HTTPServerResponsePart.end(nil))
                let old = try Self.written(oldChannel), new = try Self.written(newChannel)
                #expect(String(decoding: new, as: UTF8.self) == String(decoding: old, as: UTF8.self), "\(text) \(method)")
            }
        }
    }

    // MARK: - The decoder handing heads over at every split point

    @Test func decoderHandsOverHeadsAtEverySplit() throws {
        let input = Self.bytes("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHEAD /3 HTTP/1.0\r\nContent-Length: 1\r\n\r\nZ")
        let expectedHeads = [
            Self.bytes("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"),
            Self.bytes("POST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Self.bytes("HEAD /3 HTTP/1.0\r\nContent-Length: 1\r\n\r\n"),
        ]
        for split in 0...input.count {
            let io = ClientIOHandler()
            let encoder = HTTP1ResponseEncoder()
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTP1RequestDecoder(limits: HTTP1Limits(), responseEncoder: encoder,
                                                                                            wireHeads: io)))
            for chunk in [Array(input[..<split]), Array(input[split...])] where !chunk.isEmpty {
                try channel.writeInbound(ByteBuffer(bytes: chunk))
            }
            var heads: [[UInt8]] = []
            var body: [UInt8] = []
            var ends = 0
            while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head(let token):
                    #expect(token.uri.isEmpty, "a token, not a built head")
                    let head = try #require(io.takeWireHead())
                    heads.append(head.bytes)
                case .body(let b): body += b.readableBytesView
                case .end: ends += 1
                }
            }
            #expect(heads == expectedHeads, "split at \(split)")
            #expect(String(decoding: body, as: UTF8.self) == "abcZ", "split at \(split)")
            #expect(ends == 3)
            #expect(io.takeWireHead() == nil)
            _ = try? channel.finish()
        }
    }
}
