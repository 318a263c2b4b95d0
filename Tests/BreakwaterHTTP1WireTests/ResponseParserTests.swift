import BreakwaterHTTP1Wire
import Testing

/// Response heads and bodies at every split point: lengths, chunked, no-body statuses, HEAD,
/// interim 1xx, bodies delimited by close, and the refusals (a server's bad response → 502).
@Suite struct HTTP1ResponseParserTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var wire: [UInt8]
        var statuses: [Int]
        var payloads: [String]
        var toHEAD = false
        var closeAtEnd = false
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "length", wire: bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), statuses: [200], payloads: ["ok"]),
        Case(name: "no reason phrase", wire: bytes("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx"), statuses: [200], payloads: ["x"]),
        Case(name: "obs-text reason", wire: bytes("HTTP/1.1 200 D") + [0xE9] + bytes("j\r\nContent-Length: 0\r\n\r\n"), statuses: [200], payloads: [""]),
        Case(name: "chunked then 204 then 304 with a length",
             wire: bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"),
             statuses: [200, 204, 304], payloads: ["hello", "", ""]),
        Case(name: "gzip, chunked is framed as chunked", wire: bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"),
             statuses: [200], payloads: ["z"]),
        Case(name: "HEAD answer with a length has no body", wire: bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
             statuses: [200, 200], payloads: ["", ""], toHEAD: true),
        Case(name: "100 Continue then the answer", wire: bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew"),
             statuses: [100, 201], payloads: ["", "new"]),
        Case(name: "body until close", wire: bytes("HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end"),
             statuses: [200], payloads: ["until the end"], closeAtEnd: true),
    ]

    @Test(arguments: cases)
    func atEverySplit(_ c: Case) {
        let whole = ScanTranscript.scan([c.wire], kind: .response, responseToHEAD: c.toHEAD, closeAtEnd: c.closeAtEnd)
        #expect(whole.failure == nil, "\(c.name): \(whole)")
        #expect(whole.messages.map(\.head.status) == c.statuses, "\(c.name): \(whole)")
        #expect(whole.messages.map { String(decoding: $0.payload, as: UTF8.self) } == c.payloads, "\(c.name)")
        #expect(whole.messages.allSatisfy { $0.complete }, "\(c.name): \(whole)")
        #expect(whole.messages.flatMap(\.wire) == c.wire, "\(c.name): wire bytes reproduced")
        for (i, chunks) in ScanTranscript.splits(c.wire).enumerated() {
            let split = ScanTranscript.scan(chunks, kind: .response, responseToHEAD: c.toHEAD, closeAtEnd: c.closeAtEnd)
            #expect(split == whole, "\(c.name), split \(i): \(split)")
        }
    }

    @Test(arguments: [
        ("HTTP/1.1 20 OK\r\n\r\n", HTTP1ParseError.invalidStatus),
        ("HTTP/1.1 2000 OK\r\n\r\n", .invalidStatus),
        ("HTTP/1.1  200 OK\r\n\r\n", .invalidStatus),
        ("HTTX/1.1 200 OK\r\n\r\n", .invalidVersion),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", .conflictingContentLength),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .invalidTransferEncoding),
        ("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", .bareCR),
        ("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", .obsFold),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", .invalidChunkSize),
    ])
    func refused(_ text: String, _ expected: HTTP1ParseError) {
        for chunks in ScanTranscript.splits(Self.bytes(text)) {
            let t = ScanTranscript.scan(chunks, kind: .response)
            #expect(t.failure == expected, "\(text.debugDescription): \(t)")
        }
    }

    @Test func truncatedBodyAtCloseIsAnError() {
        let t = ScanTranscript.scan([Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")], kind: .response, closeAtEnd: true)
        #expect(t.failure != nil && t.messages.first?.complete == false, "\(t)")
        let idle = ScanTranscript.scan([Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab")], kind: .response, closeAtEnd: true)
        #expect(idle.failure == nil && idle.messages.count == 1, "closing between messages is clean: \(idle)")
    }

    @Test func switchingProtocolsTunnelsTheRest() {
        let wire = Self.bytes("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\u{81}\u{0}GET / HTTP/1.1\r\n")
        let t = ScanTranscript.scan([wire], kind: .response, closeAtEnd: true)
        #expect(t.failure == nil && t.messages.count == 1 && t.messages[0].complete, "\(t)")
        #expect(String(decoding: t.messages[0].payload, as: UTF8.self) == "\u{81}\u{0}GET / HTTP/1.1\r\n")
    }
}
