/// Frames a chunked body (RFC 9112 §7.1) by tracking chunk sizes, without re-encoding: it tells
/// its caller which input bytes are payload and which are framing (sizes, extensions, CRLFs,
/// trailers), so the body can be forwarded byte for byte or de-chunked.
public struct HTTP1ChunkedFramer: Sendable {
    public enum Piece: Sendable, Equatable {
        /// The first `n` input bytes are chunk payload.
        case data(Int)
        /// The first `n` input bytes are framing; more is needed (all input was taken) or data follows.
        case framing(Int)
        /// The body ended after `n` framing bytes (last chunk, trailers, final CRLF).
        case end(Int)
        case error(HTTP1ParseError)
    }

    private enum State: UInt8, Sendable {
        case sizeStart, size, sizeOWS, extensions, sizeLF, data, dataCR, dataLF
        case trailerStart, trailer, trailerLF, endLF
    }

    private var state: State = .sizeStart
    private var remaining = 0
    private var trailerBytes = 0
    private let maxTrailerBytes: Int
    private var failed: HTTP1ParseError?

    public init(maxTrailerBytes: Int = 16_384) {
        self.maxTrailerBytes = maxTrailerBytes
    }

    /// True after the last chunk's terminating empty line.
    public private(set) var isComplete = false
    /// True once any byte of the body was taken.
    public private(set) var hasStarted = false

    public mutating func next(_ input: UnsafeRawBufferPointer) -> Piece {
        if let failed { return .error(failed) }
        var i = 0
        let n = input.count
        hasStarted = hasStarted || n > 0
        if state == .data {
            let take = min(remaining, n)
            remaining -= take
            if remaining == 0 { state = .dataCR }
            return .data(take)
        }
        while i < n {
            let b = input[i]
            switch state {
            case .sizeStart, .size:
                if let d = Self.hexValue(b) {
                    guard remaining <= (Int.max >> 5) else { return fail(.chunkSizeTooLarge) }
                    remaining = remaining << 4 | d
                    state = .size
                } else if state == .sizeStart {
                    return fail(.invalidChunkSize)
                } else if b == HTTP1Bytes.cr { state = .sizeLF }
                else if b == UInt8(ascii: ";") { state = .extensions }
                else if HTTP1Bytes.isOWS(b) { state = .sizeOWS }
                else { return fail(.invalidChunkSize) }
            case .sizeOWS:
                if b == UInt8(ascii: ";") { state = .extensions }
                else if b == HTTP1Bytes.cr { state = .sizeLF }
                else if !HTTP1Bytes.isOWS(b) { return fail(.invalidChunkSize) }
            case .extensions:
                if b == HTTP1Bytes.cr { state = .sizeLF }
                else if !(HTTP1Bytes.isFieldContent(b) || HTTP1Bytes.isOWS(b)) { return fail(.invalidChunkFraming) }
            case .sizeLF:
                guard b == HTTP1Bytes.lf else { return fail(.invalidChunkFraming) }
                if remaining == 0 {
                    state = .trailerStart
                } else {
                    state = .data
                    return .framing(i + 1)
                }
            case .data:
                return .framing(i)
            case .dataCR:
                guard b == HTTP1Bytes.cr else { return fail(.invalidChunkFraming) }
                state = .dataLF
            case .dataLF:
                guard b == HTTP1Bytes.lf else { return fail(.invalidChunkFraming) }
                state = .sizeStart
            case .trailerStart:
                if b == HTTP1Bytes.cr { state = .endLF }
                else if HTTP1Bytes.isToken(b) { state = .trailer }
                else { return fail(.invalidChunkFraming) }
            case .trailer:
                if b == HTTP1Bytes.cr { state = .trailerLF }
                else if !(HTTP1Bytes.isFieldContent(b) || HTTP1Bytes.isOWS(b)) { return fail(.invalidHeaderValue) }
            case .trailerLF:
                guard b == HTTP1Bytes.lf else { return fail(.bareCR) }
                state = .trailerStart
            case .endLF:
                guard b == HTTP1Bytes.lf else { return fail(.bareCR) }
                isComplete = true
                failed = .invalidChunkFraming  // nothing follows the end of a body
                return .end(i + 1)
            }
            if state.rawValue >= State.trailerStart.rawValue {
                trailerBytes += 1
                if trailerBytes > maxTrailerBytes { return fail(.headTooLarge) }
            }
            i += 1
        }
        return .framing(n)
    }

    private mutating func fail(_ e: HTTP1ParseError) -> Piece {
        failed = e
        return .error(e)
    }

    @inline(__always) static func hexValue(_ b: UInt8) -> Int? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(b - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(b - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
