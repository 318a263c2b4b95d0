import BreakwaterHTTP1Wire
import NIOCore
import NIOHTTP1

extension HTTP1Head {
    /// The fields as NIOHTTP1 headers, in wire order, each byte kept (`HTTP1FieldText`).
    var nioHeaders: HTTPHeaders { nioHeaders(skipping: HTTP1HeadEdits()) }

    /// `nioHeaders` without the fields `edits` removed.
    func nioHeaders(skipping edits: HTTP1HeadEdits) -> HTTPHeaders {
        var headers: [(String, String)] = []
        headers.reserveCapacity(fields.count)
        for (i, field) in fields.enumerated() where !edits.isRemoved(i) {
            headers.append((HTTP1FieldText.string(bytes[field.name]), HTTP1FieldText.string(bytes[field.value])))
        }
        return HTTPHeaders(headers)
    }

    var nioVersion: HTTPVersion { HTTPVersion(major: versionMajor, minor: versionMinor) }
}

extension HTTP1MessageScanner {
    /// The next event for `buffer`'s readable bytes, with the reader index moved past the bytes it
    /// covers; a body event carries its slice.
    mutating func next(consuming buffer: inout ByteBuffer) -> (event: Event, body: ByteBuffer?) {
        let (event, consumed) = buffer.withUnsafeReadableBytes { self.next($0) }
        if case .body = event { return (event, buffer.readSlice(length: consumed)) }
        buffer.moveReaderIndex(forwardBy: consumed)
        return (event, nil)
    }

    /// The peer closed its side: true when that ended a message (a body delimited by close);
    /// throws `invalidEOFState` (what the proxy treats as an abort) when it cut one short.
    mutating func closeInput() throws -> Bool {
        switch inputClosed() {
        case .end?: return true
        case .error?: throw HTTPParserError.invalidEOFState
        default: return false
        }
    }
}
