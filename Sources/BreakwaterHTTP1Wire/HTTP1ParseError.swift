/// Why a head or body was refused. Each case names the rule it breaks, so the log line and the
/// status (400 towards a client, 502 for a server's response) say what was wrong.
public enum HTTP1ParseError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidMethod
    case invalidTarget
    case invalidVersion
    case invalidStatus
    case invalidStartLine
    case invalidHeaderName
    /// Whitespace between a field name and its colon (RFC 9112 §5.1: a smuggling vector).
    case whitespaceBeforeColon
    case invalidHeaderValue
    /// A CR not followed by LF.
    case bareCR
    /// A line starting with SP/HTAB continues the previous field (RFC 9112 §5.2): refused.
    case obsFold
    case startLineTooLong
    case headTooLarge
    case tooManyFields
    case invalidContentLength
    case conflictingContentLength
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.1: refused, never guessed).
    case contentLengthWithTransferEncoding
    /// `Transfer-Encoding` whose last coding is not `chunked`, or `chunked` twice.
    case invalidTransferEncoding
    case duplicateHost
    case invalidChunkSize
    case invalidChunkFraming
    case chunkSizeTooLarge

    public var description: String {
        switch self {
        case .invalidMethod: "invalid method token"
        case .invalidTarget: "invalid request target"
        case .invalidVersion: "invalid HTTP version"
        case .invalidStatus: "invalid status code"
        case .invalidStartLine: "malformed start line"
        case .invalidHeaderName: "invalid header field name"
        case .whitespaceBeforeColon: "whitespace between a header field name and its colon"
        case .invalidHeaderValue: "control character in a header field value"
        case .bareCR: "CR not followed by LF"
        case .obsFold: "obsolete line folding (a header line starting with whitespace)"
        case .startLineTooLong: "start line longer than the header size limit"
        case .headTooLarge: "header block larger than the header size limit"
        case .tooManyFields: "more header fields than the header count limit"
        case .invalidContentLength: "invalid Content-Length"
        case .conflictingContentLength: "conflicting Content-Length values"
        case .contentLengthWithTransferEncoding: "both Content-Length and Transfer-Encoding"
        case .invalidTransferEncoding: "Transfer-Encoding does not end with a single chunked"
        case .duplicateHost: "more than one Host header"
        case .invalidChunkSize: "invalid chunk size"
        case .invalidChunkFraming: "invalid chunk framing"
        case .chunkSizeTooLarge: "chunk size too large"
        }
    }
}

/// Bounds on a head, from the config (`tune.bufsize`-like `maxHeaderBytes`, `tune.http.maxhdr`).
public struct HTTP1Limits: Sendable, Equatable {
    public var maxHeadBytes: Int
    public var maxFieldCount: Int
    public var maxStartLineBytes: Int

    public init(maxHeadBytes: Int = 16_384, maxFieldCount: Int = 101, maxStartLineBytes: Int? = nil) {
        self.maxHeadBytes = maxHeadBytes
        self.maxFieldCount = maxFieldCount
        self.maxStartLineBytes = maxStartLineBytes ?? maxHeadBytes
    }
}
