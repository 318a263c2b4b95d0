/// The framing state machine of one HTTP/1.x connection direction: heads, bodies and message
/// ends, across pipelined messages and reads split at any byte.
///
/// `next(_:)` is called with the unconsumed input until it returns `.needMore`; each event says
/// how many input bytes it covers. Bodies are passed through (`.body` payload, `.framing` chunk
/// framing), never copied or re-encoded.
public struct HTTP1MessageScanner: Sendable {
    public enum Event: Sendable, Equatable {
        /// All input was taken; nothing to report until more arrives.
        case needMore
        case head(HTTP1Head)
        /// Body payload bytes.
        case body
        /// Chunked framing bytes (sizes, CRLFs, trailers): forwarded as they are, not payload.
        case framing
        /// The message is complete (the bytes covered, possibly none, are its last framing).
        case end
        case error(HTTP1ParseError)
    }

    enum State: Sendable {
        case head(HTTP1HeadParser)
        case pendingEnd
        case length(Int)
        case chunked(HTTP1ChunkedFramer)
        /// A chunked body forwarded as received: framing and payload are one `.body` run.
        case chunkedVerbatim(HTTP1ChunkedFramer)
        case untilClose
        case tunnel
        case failed(HTTP1ParseError)
    }

    public let kind: HTTP1Head.Kind
    public let limits: HTTP1Limits
    var state: State
    /// Responses: the method of the request being answered decides whether a body follows.
    private var requestWasHEAD = false
    private var requestWasCONNECT = false
    /// The arrays of the last head returned (or from a pool), for the next head's parser to reuse
    /// from its first input on (`HTTP1HeadParser.adoptSpareStorage`); a very large head's are let go.
    var spareBytes: [UInt8] = []
    var spareFields: [HTTP1Field] = []
    private static let maxSpareBytes = 4096
    private static let maxSpareFields = 64

    public init(kind: HTTP1Head.Kind, limits: HTTP1Limits = HTTP1Limits()) {
        self.kind = kind
        self.limits = limits
        self.state = .head(HTTP1HeadParser(kind: kind, limits: limits))
    }

    /// For a response scanner: which request the next response answers.
    public mutating func expectResponse(toHEAD: Bool, toCONNECT: Bool = false) {
        requestWasHEAD = toHEAD
        requestWasCONNECT = toCONNECT
    }

    /// For the chunked body of the head just returned: report its bytes as received, chunk-size
    /// lines, payload, CRLFs, last chunk and trailers together as `.body` (every byte still
    /// validated), then `.end` covering nothing. For a peer that takes the body chunked as it
    /// came, so nothing is re-encoded. True when the scanner is at the start of a chunked body
    /// (no byte of it taken yet) and now keeps its framing; false, with no effect, otherwise.
    @discardableResult
    public mutating func keepChunkFraming() -> Bool {
        guard case .chunked(let framer) = state, !framer.hasStarted else { return false }
        state = .chunkedVerbatim(framer)
        return true
    }

    /// True between messages with no byte of the next one seen.
    public var isIdle: Bool {
        if case .head(let parser) = state { return !parser.hasStarted }
        return false
    }

    public mutating func next(_ input: UnsafeRawBufferPointer) -> (event: Event, consumed: Int) {
        switch state {
        case .failed(let e):
            return (.error(e), 0)
        case .pendingEnd:
            state = .head(nextParser())
            return (.end, 0)
        case .tunnel, .untilClose:
            return input.isEmpty ? (.needMore, 0) : (.body, input.count)
        case .length(let remaining):
            if input.isEmpty { return (.needMore, 0) }
            let take = min(remaining, input.count)
            state = take == remaining ? .pendingEnd : .length(remaining - take)
            return (.body, take)
        case .chunked(var framer):
            if input.isEmpty { return (.needMore, 0) }
            state = .failed(.invalidChunkFraming)  // not left in a copied state while mutating
            let piece = framer.next(input)
            switch piece {
            case .data(let n):
                state = .chunked(framer)
                return (.body, n)
            case .framing(let n):
                state = .chunked(framer)
                return (.framing, n)
            case .end(let n):
                state = .head(nextParser())
                return (.end, n)
            case .error(let e):
                state = .failed(e)
                return (.error(e), 0)
            }
        case .chunkedVerbatim(var framer):
            if input.isEmpty { return (.needMore, 0) }
            state = .failed(.invalidChunkFraming)
            var covered = 0
            while covered < input.count {
                switch framer.next(UnsafeRawBufferPointer(rebasing: input[covered...])) {
                case .data(let n), .framing(let n):
                    covered += n
                case .end(let n):
                    state = .pendingEnd
                    return (.body, covered + n)
                case .error(let e):
                    // The valid bytes before the error go first; the framer repeats the error next.
                    if covered > 0 {
                        state = .chunkedVerbatim(framer)
                        return (.body, covered)
                    }
                    state = .failed(e)
                    return (.error(e), 0)
                }
            }
            state = .chunkedVerbatim(framer)
            return (.body, covered)
        case .head(var parser):
            if input.isEmpty { return (.needMore, 0) }
            state = .failed(.invalidStartLine)
            if spareBytes.capacity > 0 || spareFields.capacity > 0 {
                // The head's first input: it takes the kept arrays (before it, an idle connection
                // may hand them to its loop's pool: `takeIdleStorage`).
                parser.adoptSpareStorage(HTTP1HeadStorage(bytes: spareBytes, fields: spareFields))
                spareBytes = []
                spareFields = []
            }
            switch parser.parse(input) {
            case .needMore:
                state = .head(parser)
                return (.needMore, input.count)
            case .error(let e):
                state = .failed(e)
                return (.error(e), 0)
            case .head(let head, let consumed):
                state = bodyState(after: head)
                spareBytes = head.bytes.capacity <= Self.maxSpareBytes ? head.bytes : []
                spareFields = head.fields.capacity <= Self.maxSpareFields ? head.fields : []
                return (.head(head), consumed)
            }
        }
    }

    /// The input ended (the peer closed or shut down its side). A body that runs until close ends
    /// here; inside any other message it is a truncated message.
    public mutating func inputClosed() -> Event? {
        switch state {
        case .untilClose, .tunnel:
            state = .failed(.invalidStartLine)
            return .end
        case .pendingEnd:
            state = .head(nextParser())
            return .end
        case .head(let parser) where !parser.hasStarted:
            return nil
        case .failed:
            return nil
        default:
            state = .failed(.invalidStartLine)
            return .error(.invalidStartLine)
        }
    }

    /// The parser of the next head (it takes the kept arrays at its first input).
    private func nextParser() -> HTTP1HeadParser {
        HTTP1HeadParser(kind: kind, limits: limits)
    }

    private func bodyState(after head: HTTP1Head) -> State {
        switch kind {
        case .request:
            switch HTTP1BodyFraming.request(head) {
            case .none: return .pendingEnd
            case .length(let n): return .length(n)
            case .chunked: return .chunked(HTTP1ChunkedFramer(maxTrailerBytes: limits.maxHeadBytes))
            case .untilClose: return .untilClose
            }
        case .response:
            if head.status == 101 { return .tunnel }
            switch HTTP1BodyFraming.response(head, requestWasHEAD: requestWasHEAD, requestWasCONNECT: requestWasCONNECT) {
            case .none: return .pendingEnd
            case .length(let n): return .length(n)
            case .chunked: return .chunked(HTTP1ChunkedFramer(maxTrailerBytes: limits.maxHeadBytes))
            case .untilClose: return .untilClose
            }
        }
    }
}
