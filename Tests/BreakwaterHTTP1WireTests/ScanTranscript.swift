import BreakwaterHTTP1Wire

/// What a scanner made of a byte stream: each message's head, de-chunked payload and the wire
/// bytes it covered, plus the error that stopped it, if any.
struct ScanTranscript: Equatable, CustomStringConvertible {
    struct Message: Equatable {
        var head: HTTP1Head
        var payload: [UInt8] = []
        var wire: [UInt8] = []
        var complete = false
    }

    var messages: [Message] = []
    var failure: HTTP1ParseError?
    /// Bytes taken by head parsing that belong to no finished head yet (leading empty lines count here).
    var unclaimed = 0
    /// Heads whose chunked body was kept as received.
    var keptFraming = 0

    var description: String {
        let heads = messages.map { m in
            "\(String(decoding: m.head.bytes[m.head.startLine], as: UTF8.self).trimmingCharacters()) payload=\(m.payload.count) complete=\(m.complete)"
        }
        return "\(heads) error=\(failure.map { "\($0)" } ?? "none")"
    }

    /// Feeds `chunks` one read at a time, then (optionally) the end of input. A head for which
    /// `keepsFraming` holds has its chunked body kept as received (`keepChunkFraming()`): its
    /// `payload` is then the body's wire bytes.
    static func scan(_ chunks: [[UInt8]], kind: HTTP1Head.Kind = .request, limits: HTTP1Limits = HTTP1Limits(),
                     responseToHEAD: Bool = false, closeAtEnd: Bool = false,
                     keepsFraming: (HTTP1Head) -> Bool = { _ in false }) -> ScanTranscript {
        var scanner = HTTP1MessageScanner(kind: kind, limits: limits)
        scanner.expectResponse(toHEAD: responseToHEAD)
        var out = ScanTranscript()
        for chunk in chunks {
            var offset = 0
            var stop = false
            chunk.withUnsafeBytes { raw in
                while !stop {
                    let rest = UnsafeRawBufferPointer(rebasing: raw[offset...])
                    let (event, consumed) = scanner.next(rest)
                    precondition(consumed <= rest.count, "consumed more than given")
                    let bytes = Array(rest[..<consumed])
                    offset += consumed
                    switch event {
                    case .needMore:
                        precondition(offset == raw.count, "needMore left input unconsumed")
                        stop = true
                    case .head(let head):
                        out.messages.append(Message(head: head, wire: head.bytes))
                        if keepsFraming(head) { out.keptFraming += scanner.keepChunkFraming() ? 1 : 0 }
                    case .body:
                        out.messages[out.messages.count - 1].payload += bytes
                        out.messages[out.messages.count - 1].wire += bytes
                    case .framing:
                        out.messages[out.messages.count - 1].wire += bytes
                    case .end:
                        out.messages[out.messages.count - 1].wire += bytes
                        out.messages[out.messages.count - 1].complete = true
                    case .error(let e):
                        out.failure = e
                        stop = true
                    }
                }
            }
            if out.failure != nil { break }
        }
        if closeAtEnd && out.failure == nil {
            switch scanner.inputClosed() {
            case .end?: out.messages[out.messages.count - 1].complete = true
            case .error(let e)?: out.failure = e
            default: break
            }
        }
        return out
    }

    /// Every way to cut `bytes` into two reads, plus one read per byte.
    static func splits(_ bytes: [UInt8]) -> [[[UInt8]]] {
        var all: [[[UInt8]]] = (0...bytes.count).map { [Array(bytes[..<$0]), Array(bytes[$0...])] }
        all.append(bytes.map { [$0] })
        return all
    }
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let last = s.last, last == "\r" || last == "\n" || last == "\r\n" { s.removeLast() }
        return String(s)
    }
}
