import BreakwaterHTTP1Wire
import Testing

/// `HTTP1MessageScanner.keepChunkFraming()`: a chunked body reported as its received bytes, at
/// every split point, still validated byte by byte.
@Suite struct ChunkedVerbatimScanTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    struct Scan: Equatable {
        var heads = 0
        var body: [UInt8] = []
        var ends = 0
        var failure: HTTP1ParseError?
        var nextHeadTarget: String?
    }

    /// Feeds `chunks`; after each head whose target is `/keep`, asks for the framing to be kept.
    static func scan(_ chunks: [[UInt8]], kind: HTTP1Head.Kind = .request) -> Scan {
        var scanner = HTTP1MessageScanner(kind: kind)
        var out = Scan()
        var current = 0  // which head the body bytes belong to
        for chunk in chunks {
            var offset = 0
            var stop = false
            chunk.withUnsafeBytes { raw in
                while !stop {
                    let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
                    let (event, consumed) = scanner.next(rest)
                    let taken = Array(rest[..<consumed])
                    offset += consumed
                    switch event {
                    case .needMore: stop = true
                    case .head(let head):
                        out.heads += 1
                        current = out.heads
                        let target = String(decoding: head.bytes[kind == .request ? head.target : head.reason], as: UTF8.self)
                        if target == "/keep" || target == "KEEP" {
                            let kept = scanner.keepChunkFraming()
                            let again = scanner.keepChunkFraming()
                            #expect(kept && !again, "kept once")
                        } else if current > 1 {
                            out.nextHeadTarget = target
                        }
                    case .body:
                        if current == 1 { out.body += taken }
                    case .framing:
                        #expect(current != 1, "no framing event while the framing is kept")
                    case .end:
                        #expect(consumed == 0 || current != 1, "the end covers no bytes once framing is kept")
                        out.ends += 1
                    case .error(let e):
                        out.failure = e
                        stop = true
                    }
                }
            }
            if out.failure != nil { break }
        }
        return out
    }

    static let body = bytes("1;a=b\r\nx\r\n010\r\n0123456789ABCDEF\r\nFfF\r\n") + Array(repeating: UInt8(ascii: "y"), count: 0xfff)
        + bytes("\r\n00000;last=\"q\"\r\nX-Trailer: one\r\nx-other:two\r\n\r\n")

    @Test func requestBodyIsReportedAsReceivedAtEverySplit() {
        let head = Self.bytes("POST /keep HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let next = Self.bytes("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
        let wire = head + Self.body + next
        // Every two-read split plus one read per byte, over the head end, the body and the next head.
        var splits: [[[UInt8]]] = (head.count - 2...wire.count).map { [Array(wire[..<$0]), Array(wire[$0...])] }
        splits.append(wire.map { [$0] })
        for (i, chunks) in splits.enumerated() {
            let s = Self.scan(chunks)
            #expect(s.failure == nil && s.heads == 2 && s.ends == 2, "split \(i): \(s)")
            #expect(s.body == Self.body, "split \(i): body \(s.body.count) bytes")
            #expect(s.nextHeadTarget == "/next", "split \(i): the pipelined request after it")
        }
    }

    @Test func responseBodyIsReportedAsReceivedAtEverySplit() {
        let head = Self.bytes("HTTP/1.1 200 KEEP\r\nTransfer-Encoding: chunked\r\n\r\n")
        let small = Self.bytes("3\r\nabc\r\n0\r\nT: 1\r\n\r\n")
        let wire = head + small
        for (i, chunks) in ([[wire]] + (0...wire.count).map { [Array(wire[..<$0]), Array(wire[$0...])] } + [wire.map { [$0] }]).enumerated() {
            let s = Self.scan(chunks, kind: .response)
            #expect(s.failure == nil && s.heads == 1 && s.ends == 1, "split \(i): \(s)")
            #expect(s.body == small, "split \(i)")
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
                let s = Self.scan(chunks)
                #expect(s.failure == error, "\(valid.debugDescription)+\(bad.debugDescription): \(s)")
                #expect(s.ends == 0)
                let forwarded = s.body
                #expect(forwarded.count >= Self.bytes(valid).count && (head + forwarded).count < wire.count,
                        "only bytes before the error: \(String(decoding: forwarded, as: UTF8.self).debugDescription)")
                #expect(Array(wire[head.count..<(head.count + forwarded.count)]) == forwarded)
            }
        }
    }

    @Test func framingIsKeptOnlyAtTheStartOfAChunkedBody() {
        var scanner = HTTP1MessageScanner(kind: .request)
        let wire = Self.bytes("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nz")
        wire.withUnsafeBytes { raw in
            guard case .head = scanner.next(raw).event else { Issue.record("no head"); return }
            let kept = scanner.keepChunkFraming()
            #expect(!kept, "not a chunked body")
        }
        var chunked = HTTP1MessageScanner(kind: .request)
        let c = Self.bytes("POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let part = Self.bytes("5")
        c.withUnsafeBytes { raw in _ = chunked.next(raw) }
        let event = part.withUnsafeBytes { raw in chunked.next(raw).event }
        #expect(event == .framing)
        let kept = chunked.keepChunkFraming()
        #expect(!kept, "a body already started keeps the payload path")
    }
}
