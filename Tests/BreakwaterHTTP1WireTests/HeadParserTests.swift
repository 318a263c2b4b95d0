import BreakwaterHTTP1Wire
import Testing

/// Request heads: each framing decision (checked against `haproxy -db` 2.6.12 on the same bytes,
/// except where the proxy is deliberately stricter: CL+TE, obs-fold, controls in values) at every
/// split point across reads.
@Suite struct HTTP1RequestParserTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    struct Accepted: CustomStringConvertible, Sendable {
        var name: String
        var wire: [UInt8]
        var method: String
        var target: String
        var payload: String = ""
        var messages = 1
        var description: String { name }
    }

    static let accepted: [Accepted] = [
        Accepted(name: "plain GET", wire: bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), method: "GET", target: "/"),
        Accepted(name: "lower-case method", wire: bytes("get /lower HTTP/1.1\r\nHost: x\r\n\r\n"), method: "get", target: "/lower"),
        Accepted(name: "extension method BREW", wire: bytes("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"), method: "BREW", target: "/pot"),
        Accepted(name: "M-SEARCH", wire: bytes("M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n"), method: "M-SEARCH", target: "*"),
        Accepted(name: "obs-text value", wire: bytes("GET / HTTP/1.1\r\nHost: x\r\nX-L: caf") + [0xE9] + bytes("\r\n\r\n"),
                 method: "GET", target: "/"),
        Accepted(name: "identical duplicate Content-Length", wire: bytes("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab"),
                 method: "POST", target: "/p", payload: "ab"),
        Accepted(name: "Content-Length list of equal values", wire: bytes("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab"),
                 method: "POST", target: "/p", payload: "ab"),
        Accepted(name: "Content-Length with spaces", wire: bytes("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length:  2  \r\n\r\nab"),
                 method: "POST", target: "/p", payload: "ab"),
        Accepted(name: "chunked with extension and trailer",
                 wire: bytes("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;a=b\r\nab\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n"),
                 method: "POST", target: "/c", payload: "ab0123456789abcdef"),
        Accepted(name: "Chunked in mixed case", wire: bytes("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n"),
                 method: "POST", target: "/c", payload: "z"),
        Accepted(name: "leading empty lines", wire: bytes("\r\n\nGET /l HTTP/1.1\r\nHost: x\r\n\r\n"), method: "GET", target: "/l"),
        Accepted(name: "bare LF line ends", wire: bytes("GET /lf HTTP/1.1\nHost: x\nX-F: a\n\n"), method: "GET", target: "/lf"),
        Accepted(name: "HTTP/1.0 without Host", wire: bytes("GET / HTTP/1.0\r\n\r\n"), method: "GET", target: "/"),
        Accepted(name: "runs of whitespace in the request line", wire: bytes("GET  /ws\tHTTP/1.1\r\nHost: x\r\n\r\n"), method: "GET", target: "/ws"),
        Accepted(name: "empty value and no space after colon", wire: bytes("GET / HTTP/1.1\r\nHost:x\r\nX-E:\r\nX-F:   \r\n\r\n"), method: "GET", target: "/"),
        Accepted(name: "three pipelined requests, chunked in the middle",
                 wire: bytes("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nPUT /3 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nZ"),
                 method: "GET", target: "/1", messages: 3),
    ]

    @Test(arguments: accepted)
    func acceptedAtEverySplit(_ c: Accepted) throws {
        let whole = ScanTranscript.scan([c.wire])
        #expect(whole.failure == nil, "\(c.name): \(whole)")
        #expect(whole.messages.count == c.messages, "\(c.name): \(whole)")
        #expect(whole.messages.allSatisfy { $0.complete }, "\(c.name): \(whole)")
        let first = try #require(whole.messages.first)
        #expect(String(decoding: first.head.bytes[first.head.method], as: UTF8.self) == c.method)
        #expect(String(decoding: first.head.bytes[first.head.target], as: UTF8.self) == c.target)
        if c.messages == 1 { #expect(String(decoding: first.payload, as: UTF8.self) == c.payload) }
        // Pass-through: heads + framing + payload reproduce the input, minus leading empty lines.
        var rest = c.wire[...]
        while let b = rest.first, b == 0x0D || b == 0x0A { rest = rest.dropFirst() }
        #expect(whole.messages.flatMap(\.wire) == Array(rest), "\(c.name): wire bytes not reproduced")
        for (i, chunks) in ScanTranscript.splits(c.wire).enumerated() {
            let split = ScanTranscript.scan(chunks)
            #expect(split == whole, "\(c.name), split \(i): \(split) vs \(whole)")
        }
    }

    @Test func obsTextKeptByteForByte() throws {
        let wire = Self.bytes("GET / HTTP/1.1\r\nHost: x\r\nContent-Disposition: attachment; filename=\"r") + [0xE9, 0xE7, 0xFF] + Self.bytes("\"\r\n\r\n")
        let m = try #require(ScanTranscript.scan([wire]).messages.first)
        let field = try #require(m.head.firstField("content-disposition"))
        #expect(Array(m.head.bytes[field.value]) == Self.bytes("attachment; filename=\"r") + [0xE9, 0xE7, 0xFF] + Self.bytes("\""))
        // The lossless text form maps each byte to one scalar and back.
        let text = m.head.latin1(field.value)
        #expect(HTTP1Head.latin1Bytes(text) == Array(m.head.bytes[field.value]))
    }

    @Test func framingHeadersAreRead() throws {
        let wire = Self.bytes("POST /f HTTP/1.1\r\nhOsT: a.example\r\nConnection: keep-alive, Upgrade, X-Hop\r\nUpgrade: websocket\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n")
        let head = try #require(ScanTranscript.scan([wire]).messages.first?.head)
        #expect(head.framing.contentLength == 0)
        #expect(head.framing.connectionKeepAlive && head.framing.connectionUpgrade && !head.framing.connectionClose)
        #expect(head.framing.hasUpgrade && head.framing.expectContinue)
        #expect(head.framing.hostField == 0)
        #expect(head.framing.connectionFields == [1])
        #expect(head.fields.count == 5)
        #expect(head.latin1(head.fields[0].value) == "a.example")
        #expect(head.keepAlive)
        let close = try #require(ScanTranscript.scan([Self.bytes("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")]).messages.first?.head)
        #expect(!close.keepAlive)
        let http10 = try #require(ScanTranscript.scan([Self.bytes("GET / HTTP/1.0\r\n\r\n")]).messages.first?.head)
        #expect(http10.isHTTP10 && !http10.keepAlive)
    }

    struct Refused: CustomStringConvertible, Sendable {
        var name: String
        var wire: [UInt8]
        var expected: HTTP1ParseError
        var limits = HTTP1Limits()
        var description: String { name }
    }

    static let refused: [Refused] = [
        Refused(name: "Content-Length with Transfer-Encoding",
                wire: bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                expected: .contentLengthWithTransferEncoding),
        Refused(name: "different Content-Lengths", wire: bytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
                expected: .conflictingContentLength),
        Refused(name: "different Content-Lengths in a list", wire: bytes("POST / HTTP/1.1\r\nContent-Length: 2, 3\r\n\r\nabc"),
                expected: .conflictingContentLength),
        Refused(name: "chunked not last", wire: bytes("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
                expected: .invalidTransferEncoding),
        Refused(name: "identity only", wire: bytes("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n"),
                expected: .invalidTransferEncoding),
        Refused(name: "chunked twice over two fields",
                wire: bytes("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                expected: .invalidTransferEncoding),
        Refused(name: "obs-fold", wire: bytes("GET / HTTP/1.1\r\nHost: x\r\nX-F: a\r\n  b\r\n\r\n"), expected: .obsFold),
        Refused(name: "whitespace before colon", wire: bytes("GET / HTTP/1.1\r\nHost: x\r\nX-F : a\r\n\r\n"), expected: .whitespaceBeforeColon),
        Refused(name: "NUL in a value", wire: bytes("GET / HTTP/1.1\r\nX-F: a\u{0}b\r\n\r\n"), expected: .invalidHeaderValue),
        Refused(name: "control byte in a value", wire: bytes("GET / HTTP/1.1\r\nX-F: a\u{1}b\r\n\r\n"), expected: .invalidHeaderValue),
        Refused(name: "DEL in a value", wire: bytes("GET / HTTP/1.1\r\nX-F: a\u{7f}b\r\n\r\n"), expected: .invalidHeaderValue),
        Refused(name: "bare CR in a value", wire: bytes("GET / HTTP/1.1\r\nX-F: a\rb\r\n\r\n"), expected: .bareCR),
        Refused(name: "bare CR ending the head", wire: bytes("GET / HTTP/1.1\r\nX-F: a\r\n\rX"), expected: .bareCR),
        Refused(name: "no version (HTTP/0.9)", wire: bytes("GET /v\r\n\r\n"), expected: .invalidVersion),
        Refused(name: "method only", wire: bytes("GET\r\n\r\n"), expected: .invalidStartLine),
        Refused(name: "negative Content-Length", wire: bytes("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), expected: .invalidContentLength),
        Refused(name: "Content-Length with sign", wire: bytes("POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\nab"), expected: .invalidContentLength),
        Refused(name: "hex Content-Length", wire: bytes("POST / HTTP/1.1\r\nContent-Length: 0x2\r\n\r\nab"), expected: .invalidContentLength),
        Refused(name: "empty Content-Length", wire: bytes("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n"), expected: .invalidContentLength),
        Refused(name: "Content-Length overflow", wire: bytes("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
                expected: .invalidContentLength),
        Refused(name: "invalid chunk size", wire: bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
                expected: .invalidChunkSize),
        Refused(name: "chunk size overflow", wire: bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"),
                expected: .chunkSizeTooLarge),
        Refused(name: "chunk data longer than its size", wire: bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"),
                expected: .invalidChunkFraming),
        Refused(name: "chunk size line with bare LF", wire: bytes("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n"),
                expected: .invalidChunkSize),
        Refused(name: "two Host fields", wire: bytes("GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"), expected: .duplicateHost),
        Refused(name: "empty field name", wire: bytes("GET / HTTP/1.1\r\n: a\r\n\r\n"), expected: .invalidHeaderName),
        Refused(name: "non-token field name", wire: bytes("GET / HTTP/1.1\r\nX(F): a\r\n\r\n"), expected: .invalidHeaderName),
        Refused(name: "obs-text in a field name", wire: bytes("GET / HTTP/1.1\r\nX") + [0xE9] + bytes(": a\r\n\r\n"), expected: .invalidHeaderName),
        Refused(name: "line without colon", wire: bytes("GET / HTTP/1.1\r\nXF\r\n\r\n"), expected: .invalidHeaderName),
        Refused(name: "obs-text in the target", wire: bytes("GET /caf") + [0xE9] + bytes(" HTTP/1.1\r\n\r\n"), expected: .invalidTarget),
        Refused(name: "control byte in the target", wire: bytes("GET /a\u{1}b HTTP/1.1\r\n\r\n"), expected: .invalidTarget),
        Refused(name: "non-token method", wire: bytes("GE/T / HTTP/1.1\r\n\r\n"), expected: .invalidMethod),
        Refused(name: "lower-case protocol name", wire: bytes("GET / http/1.1\r\n\r\n"), expected: .invalidVersion),
        Refused(name: "space after the version", wire: bytes("GET / HTTP/1.1 \r\nHost: x\r\n\r\n"), expected: .invalidVersion),
        Refused(name: "more fields than the limit", wire: bytes("GET / HTTP/1.1\r\n" + (0..<8).map { "X-\($0): v\r\n" }.joined() + "\r\n"),
                expected: .tooManyFields, limits: HTTP1Limits(maxHeadBytes: 16_384, maxFieldCount: 7)),
        Refused(name: "head larger than the limit", wire: bytes("GET / HTTP/1.1\r\nX-Big: " + String(repeating: "a", count: 300) + "\r\n\r\n"),
                expected: .headTooLarge, limits: HTTP1Limits(maxHeadBytes: 256)),
        Refused(name: "request line longer than the limit", wire: bytes("GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\n\r\n"),
                expected: .startLineTooLong, limits: HTTP1Limits(maxHeadBytes: 256)),
    ]

    @Test(arguments: refused)
    func refusedAtEverySplit(_ c: Refused) {
        let whole = ScanTranscript.scan([c.wire], limits: c.limits)
        #expect(whole.failure == c.expected, "\(c.name): \(whole)")
        #expect(!whole.messages.contains { $0.complete }, "\(c.name): no message completes")
        for (i, chunks) in ScanTranscript.splits(c.wire).enumerated() {
            let split = ScanTranscript.scan(chunks, limits: c.limits)
            #expect(split.failure == c.expected, "\(c.name), split \(i): \(split)")
        }
    }

    @Test func goodRequestsBeforeABadOneAreKept() {
        let wire = Self.bytes("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.1\r\nX-F : bad\r\n\r\n")
        for chunks in ScanTranscript.splits(wire) {
            let t = ScanTranscript.scan(chunks)
            #expect(t.messages.filter(\.complete).count == 2 && t.failure == .whitespaceBeforeColon, "\(t)")
        }
    }

    @Test func codingBeforeChunkedIsFramedAndFlagged() throws {
        let wire = Self.bytes("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n")
        let t = ScanTranscript.scan([wire])
        let m = try #require(t.messages.first)
        #expect(m.complete && m.head.framing.chunked && m.head.framing.codingBeforeChunked, "\(t)")
        #expect(HTTP1ParseError.contentLengthWithTransferEncoding.description.contains("Transfer-Encoding"))
    }

    @Test func fieldTextRoundTrips() {
        let cases: [[UInt8]] = [Self.bytes("plain"), Self.bytes("caf\u{e9} UTF-8"), [0x72, 0xE9, 0xE7, 0xFF, 0x80], Self.bytes("\u{10FF80}")]
        for bytes in cases {
            let text = HTTP1FieldText.string(bytes)
            #expect((HTTP1FieldText.wireBytes(text) ?? Array(text.utf8)) == bytes || bytes == Self.bytes("\u{10FF80}"), "\(bytes)")
        }
        #expect(HTTP1FieldText.string(Self.bytes("caf\u{e9}")) == "caf\u{e9}", "valid UTF-8 stays text")
        #expect(HTTP1FieldText.wireBytes("plain") == nil && HTTP1FieldText.wireBytes("caf\u{e9}") == nil)
    }
}
