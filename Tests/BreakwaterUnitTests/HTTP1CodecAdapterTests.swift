@testable import BreakwaterHTTP
import BreakwaterHTTP1Wire
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The NIOHTTP1-shaped adapters over the byte-level scanner: what the proxy handler receives
/// (one byte per read and all at once) and what goes out on the wire.
@Suite struct HTTP1CodecAdapterTests {
    static let pipelined: [UInt8] = Array("BREW /pot HTTP/1.1\r\nHost: x\r\nX-L: caf".utf8) + [0xE9]
        + Array("\r\n\r\nPOST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n3;e=1\r\ncde\r\n0\r\n\r\n".utf8)

    func decode(_ chunks: [[UInt8]]) throws -> [HTTPServerRequestPart] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTP1RequestDecoder(limits: HTTP1Limits())))
        for chunk in chunks { try channel.writeInbound(ByteBuffer(bytes: chunk)) }
        var parts: [HTTPServerRequestPart] = []
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { parts.append(part) }
        _ = try? channel.finish()
        return parts
    }

    @Test func decodesPipelinedRequestsAtAnySplit() throws {
        for chunks in [[Self.pipelined], Self.pipelined.map { [$0] }] {
            let parts = try decode(chunks)
            var heads: [HTTPRequestHead] = []
            var body: [UInt8] = []
            var ends = 0
            for part in parts {
                switch part {
                case .head(let h): heads.append(h)
                case .body(let b): body += b.readableBytesView
                case .end: ends += 1
                }
            }
            #expect(heads.map(\.method.rawValue) == ["BREW", "POST"])
            #expect(heads.first?.headers["x-l"].first.flatMap(HTTP1FieldText.wireBytes) == Array("caf".utf8) + [0xE9])
            #expect(String(decoding: body, as: UTF8.self) == "abcde", "chunk framing removed")
            #expect(ends == 2)
        }
    }

    @Test func refusalCarriesTheReason() {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTP1RequestDecoder(limits: HTTP1Limits())))
        #expect(throws: HTTP1RequestRefused.self) {
            try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nX-F : a\r\n\r\n"))
        }
        #expect(HTTP1RequestRefused(reason: .whitespaceBeforeColon).parserError == .invalidHeaderToken)
        _ = try? channel.finish()
    }

    func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var out: [UInt8] = []
        while let data = try channel.readOutbound(as: IOData.self) {
            if case .byteBuffer(let b) = data { out += b.readableBytesView }
        }
        return out
    }

    @Test func requestEncoderWritesMethodAndBytesAsReceived() throws {
        let channel = EmbeddedChannel(handler: HTTP1RequestEncoder())
        let value = HTTP1FieldText.string([0x72, 0xE9])
        var head = HTTPRequestHead(version: .http1_1, method: .RAW(value: "get"), uri: "/x")
        head.headers.add(name: "X-L", value: value)
        head.headers.add(name: "Transfer-Encoding", value: "Chunked")
        try channel.writeOutbound(HTTPClientRequestPart.head(head))
        try channel.writeOutbound(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: "abc"))))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        let expected = Array("get /x HTTP/1.1\r\nX-L: r".utf8) + [0xE9] + Array("\r\nTransfer-Encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".utf8)
        #expect(try written(channel) == expected)
        _ = try? channel.finish()
    }

    @Test func responseEncoderSendsNoBodyFramingToHEAD() throws {
        let encoder = HTTP1ResponseEncoder()
        let channel = EmbeddedChannel(handler: encoder)
        encoder.recordRequestMethod(.HEAD)
        encoder.recordRequestMethod(.GET)
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "Transfer-Encoding", value: "chunked")
        try channel.writeOutbound(HTTPServerResponsePart.head(head))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        // A HEAD answer may advertise the coding a GET would get (RFC 9112 §6.1), but has no body.
        #expect(try written(channel) == Array("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".utf8), "no chunk terminator")
        var get = HTTPResponseHead(version: .http1_1, status: .ok)
        get.headers.add(name: "X-N", value: HTTP1FieldText.string([0xFF]))
        try channel.writeOutbound(HTTPServerResponsePart.head(get))
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "ok"))))
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        let expected = Array("HTTP/1.1 200 OK\r\nX-N: ".utf8) + [0xFF] + Array("\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n".utf8)
        #expect(try written(channel) == expected)
        _ = try? channel.finish()
    }
}
