import BreakwaterHTTP1Wire
import NIOCore

extension HTTPProxyHandler {
    /// What every server head kept as bytes goes through first, whichever client it is for: timing,
    /// status, keep-alive and framing are recorded; an unexpected head is ignored and a protocol
    /// switch answered 502. Returns whether the response has no body by definition, or nil when the
    /// head is not forwarded.
    func acceptResponseHead(_ request: ProxyRequest, wire head: HTTP1Head) -> Bool? {
        guard case .waitingResponse = request.phase else { return nil }
        let now = NIODeadline.now()
        request.responseHeadAt = now
        request.record.tr = ms(request.connected ?? now, now)
        let code = head.status
        if code == 101 || code < 100 {
            // Upgrades were stripped from the request; a switch now is a protocol error.
            request.backend?.counters.responseErrors.wrappingIncrement(ordering: .relaxed)
            respondLocally(request, status: 502, termination: "PH--", close: true, countAs: .none)
            return nil
        }
        request.responseStatus = code
        request.record.status = code
        observe(.response(status: code), request)
        request.responseKeepAlive = head.keepAlive
        let bodyless = request.clientMethod == "HEAD" || code == 204 || code == 304
        // The parser refused malformed framing: a Content-Length here is valid, and a
        // Transfer-Encoding ends in chunked. Read from its framing, not from value strings.
        request.responseFramed = bodyless || head.framing.contentLength != nil || head.framing.chunked
        return bodyless
    }

    /// `responseHead` for a server's head kept as bytes, answered on an HTTP/2 stream: the header
    /// block is built straight from those bytes (`H2MessageHeads.responseBlock(wire:)`), with no
    /// NIOHTTP1 head or `HTTPHeaders` in between. HTTP/2 frames the body itself, so the client's
    /// keep-alive and version play no part.
    func responseHead(_ request: ProxyRequest, wire head: HTTP1Head, stream: H2Stream) {
        guard acceptResponseHead(request, wire: head) != nil else { return }
        request.phase = .streamingResponse
        stream.writeResponseBlock(H2MessageHeads.responseBlock(wire: head))
    }
}
