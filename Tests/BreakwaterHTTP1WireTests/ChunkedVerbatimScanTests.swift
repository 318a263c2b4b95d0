import BreakwaterHTTP1Wire
import Testing

/// `HTTP1MessageScanner.keepChunkFraming()`: a chunked body reported as its received bytes, at
/// every split point, still validated byte by byte.
@Suite struct ChunkedVerbatimScanTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    /// Keeps the framing of the request to `/keep` and of the response with reason `KEEP`.
    static func keeps(_ head: HTTP1Head) -> Bool {
        let text = String(decoding: head.bytes[head.kind == .request ? head.target : head.reason], as: UTF8.self)
        return text == "/keep" || text == "KEEP"
    }

    static let body = bytes("1;a=b\r\nx\r\n010\r\n0123456789ABCDEF\r\nFfF\r\n") + Array(repeating: UInt8(ascii: "y"), count: 0xfff)
        + bytes("\r\n00000;last=\"q\"\r\nX-Trailer: one\r\nx-other:two\r\n\r\n")

    @Test func requestBodyIsReportedAsReceivedAtEverySplit() {
        let head = Self.bytes("POST /keep HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let next = Self.bytes("POST /pay HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        let wire = head + Self.body + next
        // Every two-read split over the head end, the body and the next request, plus one read per byte.
        var splits: [[[UInt8]]] = (head.count - 2...wire.count).map { [Array(wire[..<$0]), Array(wire[$0...])] }
        splits.append(wire.map { [$0] })
        for (i, chunks) in splits.enumerated() {
            let s = ScanTranscript.scan(chunks, keepsFraming: Self.keeps)
            #expect(s.failure == nil && s.keptFraming == 1 && s.messages.count == 2, "split \(i): \(s)")
            let allComplete = s.messages.allSatisfy { $0.complete }
            #expect(allComplete, "split \(i): \(s)")
            #expect(s.messages.first?.payload == Self.body, "split \(i): kept body")
            #expect(s.messages.last?.payload == Self.bytes("abc"), "split \(i): the next body keeps the payload path")
            #expect(s.messages.flatMap(\.wire) == wire, "split \(i): every byte covered once")
        }
    }

    @Test func responseBodyIsReportedAsReceivedAtEverySplit() {
        let small = Self.bytes("3\r\nabc\r\n0\r\nT: 1\r\n\r\n")
        let wire = Self.bytes("HTTP/1.1 200 KEEP\r\nTransfer-Encoding: chunked\r\n\r\n") + small
        for (i, chunks) in ([[wire]] + ScanTranscript.splits(wire)).enumerated() {
            let s = ScanTranscript.scan(chunks, kind: .response, keepsFraming: Self.keeps)
            #expect(s.failure == nil && s.keptFraming == 1 && s.messages.count == 1 && s.messages[0].complete, "split \(i): \(s)")
            #expect(s.messages.first?.payload == small, "split \(i)")
        }
    }

    @Test func invalidBytesAreRefusedAfterTheValidPrefix() {
        let head = Self.bytes("POST /keep HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let cases: [(String, String, HTTP1ParseError)] = [
            ("3\r\nabc\r\n", "zz\r\n", .invalidChunkSize),
            ("3\r\nabc\r\n", "3\r\nabcd", .invalidChunkFraming),
            ("3\r\nabc\r\n", "2\nab\r\n", .invalidChunkSize),
            ("1\r\na\r\n0\r\n", "X: a\rb\r\n\r\n", .bareCR),
        ]
        for (valid, bad, error) in cases {
            let wire = head + Self.bytes(valid + bad)
            for chunks in [[wire], [head + Self.bytes(valid), Self.bytes(bad)], wire.map { [$0] }] {
                let s = ScanTranscript.scan(chunks, keepsFraming: Self.keeps)
                #expect(s.failure == error && s.messages.count == 1 && !s.messages[0].complete, "\(valid.debugDescription)+\(bad.debugDescription): \(s)")
                let forwarded = s.messages.first?.payload ?? []
                // What was reported is a prefix of the body short of the bad bytes (the framing
                // bytes scanned in the same step as the error are withheld too).
                #expect(!forwarded.isEmpty && forwarded.count < valid.utf8.count + bad.utf8.count,
                        "\(valid.debugDescription)+\(bad.debugDescription): reported \(String(decoding: forwarded, as: UTF8.self).debugDescription)")
                #expect(Array(wire[head.count..<(head.count + forwarded.count)]) == forwarded)
            }
        }
    }

    @Test func framingIsKeptOnlyAtTheStartOfAChunkedBody() {
        let length = ScanTranscript.scan([Self.bytes("POST /keep HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz")], keepsFraming: Self.keeps)
        #expect(length.keptFraming == 0 && length.messages.first?.payload == Self.bytes("z"), "not a chunked body: \(length)")
        var scanner = HTTP1MessageScanner(kind: .request)
        let head = Self.bytes("POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        _ = head.withUnsafeBytes { scanner.next($0) }
        let event = Self.bytes("5").withUnsafeBytes { scanner.next($0).event }
        #expect(event == .framing)
        let kept = scanner.keepChunkFraming()
        #expect(!kept, "a body already started keeps the payload path")
    }
}
