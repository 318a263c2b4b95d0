/// One header field of a head: offsets into `HTTP1Head.bytes`. The value range excludes the
/// optional whitespace around it; `line` covers the whole line including its line ending.
public struct HTTP1Field: Sendable, Equatable {
    public var name: Range<Int>
    public var value: Range<Int>
    public var line: Range<Int>
}

/// A request or response head kept as the bytes that arrived plus offsets, so it can be written on
/// unchanged (or with a few edits) without materialising header strings. Only the framing headers
/// are interpreted eagerly, into `framing`.
public struct HTTP1Head: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case request, response }

    public let kind: Kind
    /// The head exactly as received, from the start line through the empty line ending it
    /// (leading empty lines before a request line are not included).
    public internal(set) var bytes: [UInt8]
    /// The whole start line with its line ending.
    public internal(set) var startLine: Range<Int> = 0..<0
    public internal(set) var method: Range<Int> = 0..<0
    public internal(set) var target: Range<Int> = 0..<0
    public internal(set) var reason: Range<Int> = 0..<0
    public internal(set) var versionMajor = 1
    public internal(set) var versionMinor = 1
    public internal(set) var status = 0
    public internal(set) var fields: [HTTP1Field] = []
    public internal(set) var framing = HTTP1Framing()

    init(kind: Kind, bytes: [UInt8]) {
        self.kind = kind
        self.bytes = bytes
    }

    public func bytes(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[range] }

    /// Lossless text of a byte range: each byte is one Unicode scalar (Latin-1), so obs-text
    /// survives a round trip through `String` and back with `HTTP1Head.latin1Bytes`.
    public func latin1(_ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count * 2) { buffer in
            var n = 0
            for b in bytes[range] {
                if b < 0x80 {
                    buffer[n] = b
                    n += 1
                } else {
                    buffer[n] = 0xC0 | (b >> 6)
                    buffer[n + 1] = 0x80 | (b & 0x3F)
                    n += 2
                }
            }
            return n
        }
    }

    /// The inverse of `latin1(_:)`: scalars up to U+00FF become one byte each; anything above
    /// (only possible for text that did not come from the wire) is written as UTF-8.
    public static func latin1Bytes(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if scalar.value < 0x100 {
                out.append(UInt8(scalar.value))
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return out
    }

    /// Index of the first field whose name equals `lowercaseName` ignoring ASCII case.
    public func firstField(_ lowercaseName: StaticString) -> HTTP1Field? {
        fields.first { HTTP1Bytes.equalsLowercase(bytes, $0.name, lowercaseName) }
    }

    public var isHTTP10: Bool { versionMajor == 1 && versionMinor == 0 }

    /// HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 only with `keep-alive`.
    public var keepAlive: Bool {
        if framing.connectionClose { return false }
        if versionMajor == 1 && versionMinor >= 1 { return true }
        return framing.connectionKeepAlive
    }
}

/// What the framing headers said, read while the head was scanned.
public struct HTTP1Framing: Sendable, Equatable {
    public var contentLength: Int?
    public var chunked = false
    /// `Transfer-Encoding: gzip, chunked`: framed as chunked, but a request with it cannot be
    /// forwarded as sent (the proxy answers 422, as HAProxy does).
    public var codingBeforeChunked = false
    public var connectionClose = false
    public var connectionKeepAlive = false
    public var connectionUpgrade = false
    public var hasUpgrade = false
    public var expectContinue = false
    /// Index into `fields` of the Host header, if any.
    public var hostField: Int?
    /// Indices into `fields` of `Connection` headers (their tokens name hop-by-hop fields).
    public var connectionFields: [Int] {
        guard let firstConnectionField else { return [] }
        return [firstConnectionField] + laterConnectionFields
    }
    /// The first of them apart: one is the norm, and an array of one is a heap allocation per head.
    var firstConnectionField: Int?
    var laterConnectionFields: [Int] = []

    mutating func addConnectionField(_ index: Int) {
        if firstConnectionField == nil { firstConnectionField = index } else { laterConnectionFields.append(index) }
    }

    public init() {}
}

/// How the body after a head is delimited.
public enum HTTP1BodyFraming: Sendable, Equatable {
    case none
    case length(Int)
    case chunked
    /// A response without length: it ends when the server closes.
    case untilClose

    /// RFC 9112 §6.3 for a request: chunked, a length, or no body.
    public static func request(_ head: HTTP1Head) -> HTTP1BodyFraming {
        if head.framing.chunked { return .chunked }
        if let n = head.framing.contentLength, n > 0 { return .length(n) }
        return .none
    }

    /// RFC 9112 §6.3 for a response, which also depends on the request it answers.
    public static func response(_ head: HTTP1Head, requestWasHEAD: Bool, requestWasCONNECT: Bool = false) -> HTTP1BodyFraming {
        let status = head.status
        if requestWasHEAD || (100..<200).contains(status) || status == 204 || status == 304 { return .none }
        if requestWasCONNECT && (200..<300).contains(status) { return .untilClose }
        if head.framing.chunked { return .chunked }
        if let n = head.framing.contentLength { return n > 0 ? .length(n) : .none }
        return .untilClose
    }
}
