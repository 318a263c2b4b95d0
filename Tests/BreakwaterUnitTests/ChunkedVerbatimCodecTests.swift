@testable import BreakwaterHTTP
import BreakwaterHTTP1Wire
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The decoders and encoders of the HTTP/1.1 proxy path with a chunked body kept as received:
/// the decoders pass the body's bytes (framing included) at every split point, the encoders write
/// them as they are, with no chunk framing or last chunk of their own.
@Suite struct ChunkedVerbatimCodecTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let body = bytes("1;a=b\r\nx\r\n010\r\n0123456789ABCDEF\r\nfff\r\n") + Array(repeating: UInt8(ascii: "y"), count: 0xfff)
        + bytes("\r\n0;e\r\nX-T: 1\r\n\r\n")
    static let payload = bytes("x0123456789ABCDEF") + Array(repeating: UInt8(ascii: "y"), count: 0xfff)

    /// Asks the request decoder to keep the framing of the request to `/keep`, as the proxy
    /// handler does when the body leaves chunked.
    final class KeepRequestFraming: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias InboundOut = HTTPServerRequestPart
        let io: ClientIOHandler
        var targets: [String] = []
        init(io: ClientIOHandler) { self.io = io }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head = unwrapInboundIn(data), let head = io.takeWireHead() {
                let target = String(decoding: head.bytes[head.target], as: UTF8.self)
                targets.append(target)
                if target == "/keep" { #expect(io.keepChunkFraming()) }
            }
            context.fireChannelRead(data)
        }
    }

    static func splits(_ wire: [UInt8]) -> [[[UInt8]]] {
        (0...wire.count).map { [Array(wire[..<$0]), Array(wire[$0...])] } + [wire.map { [$0] }]
    }

    @Test func requestDecoderPassesTheBodyAsReceivedAtEverySplit() throws {
        let wire = Self.bytes("POST /keep HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") + Self.body
            + Self.bytes("POST /pay HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") + Self.body
        for (i, chunks) in Self.splits(wire).enumerated() {
            let io = ClientIOHandler()
            let keeper = KeepRequestFraming(io: io)
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandlers([
                ByteToMessageHandler(HTTP1RequestDecoder(limits: HTTP1Limits(), responseEncoder: nil, wireHeads: io)), keeper,
            ])
            for chunk in chunks where !chunk.isEmpty { try channel.writeInbound(ByteBuffer(bytes: chunk)) }
            var bodies: [[UInt8]] = [], ends = 0
            while let part = try channel.readInbound(as: HTTPServerRequestPart.self) {
                switch part {
                case .head: bodies.append([])
                case .body(let b): bodies[bodies.count - 1] += b.readableBytesView
                case .end: ends += 1
                }
            }
            #expect(keeper.targets == ["/keep", "/pay"], "split \(i)")
            #expect(ends == 2, "split \(i)")
            #expect(bodies.first == Self.body, "split \(i): kept body")
            // The pipelined request read before its turn keeps the payload path.
            #expect(bodies.last == Self.payload, "split \(i): payload body")
            _ = try? channel.finish()
        }
    }

    final class KeepResponseFraming: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias InboundOut = HTTPClientResponsePart
        let decoder: HTTP1ResponseDecoder
        init(decoder: HTTP1ResponseDecoder) { self.decoder = decoder }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head = unwrapInboundIn(data), decoder.takeWireHead() != nil { decoder.keepChunkFraming() }
            context.fireChannelRead(data)
        }
    }

    @Test func responseDecoderPassesTheBodyAsReceivedAtEverySplit() throws {
        let head = Self.bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        let wire = head + Self.body + Self.bytes("HTTP/1.1 204 No Content\r\n\r\n")
        for (i, chunks) in Self.splits(wire).enumerated() {
            let decoder = HTTP1ResponseDecoder()
            decoder.handsOverHeads = true
            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandlers([ByteToMessageHandler(decoder), KeepResponseFraming(decoder: decoder)])
            for chunk in chunks where !chunk.isEmpty { try channel.writeInbound(ByteBuffer(bytes: chunk)) }
            var bodies: [[UInt8]] = [], ends = 0
            while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
                switch part {
                case .head: bodies.append([])
                case .body(let b): bodies[bodies.count - 1] += b.readableBytesView
                case .end: ends += 1
                }
            }
            #expect(bodies == [Self.body, []] && ends == 2, "split \(i): \(bodies.map(\.count)) ends \(ends)")
            _ = try? channel.finish()
        }
    }

    @Test func encodersWriteAPreFramedBodyAsItIs() throws {
        let responseHead = Self.bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        let wire = try HTTP1WireForwardingTests.head(responseHead, kind: .response)
        let encoder = HTTP1ResponseEncoder()
        let channel = EmbeddedChannel(handler: encoder)
        encoder.recordRequestMethod(.GET)
        encoder.nextWireHead = (wire, HTTP1HeadEdits(), (1, 1), true)
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTP1ResponseEncoder.wireHeadToken))
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: Self.body.prefix(9)))))
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: Self.body.dropFirst(9)))))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        Self.expectHeadThenBody(try HTTP1WireForwardingTests.written(channel))

        let requestHead = Self.bytes("PUT /u HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let request = try HTTP1WireForwardingTests.head(requestHead)
        let requestEncoder = HTTP1RequestEncoder()
        let upstream = EmbeddedChannel(handler: requestEncoder)
        requestEncoder.nextWireHead = (request, HTTP1HeadEdits(), true)
        try upstream.writeOutbound(HTTPClientRequestPart.head(HTTP1RequestEncoder.wireHeadToken(for: request)))
        try upstream.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: Self.body))))
        try upstream.writeOutbound(HTTPClientRequestPart.end(nil))
        Self.expectHeadThenBody(try HTTP1WireForwardingTests.written(upstream))
    }

    /// A head saying chunked (the encoder's own `transfer-encoding: chunked` field), then the body
    /// exactly as given: no size line, CRLF or last chunk added.
    static func expectHeadThenBody(_ out: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let head = String(decoding: out.dropLast(body.count), as: UTF8.self)
        #expect(Array(out.suffix(body.count)) == body, sourceLocation: sourceLocation)
        #expect(head.hasSuffix("\r\n\r\n") && head.lowercased().components(separatedBy: "transfer-encoding: chunked\r\n").count == 2,
                "head: \(head.debugDescription)", sourceLocation: sourceLocation)
    }
}
