import BreakwaterHTTP1Wire
import NIOHPACK
import NIOHTTP1

/// The translation between HTTP/2 header blocks and the HTTP/1 heads the proxy handler works on,
/// done by the connection's frame handler for each stream (what nio-http2's
/// `HTTP2FramePayloadToHTTP1ServerCodec` did on a stream channel, with the same results).
enum H2MessageHeads {
    /// Connection-specific fields, forbidden in HTTP/2 (RFC 9113 §8.2.2).
    static let connectionSpecific: Set<String> = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]

    /// A request head from a (normalised) request header block; nil when a pseudo-header it needs
    /// is missing (nio-http2's own validation has already refused duplicates and misplaced ones).
    ///
    /// As the codec did: `host` comes first, from `:authority`; a method that may carry a body and
    /// has no `content-length` gets `content-length: 0` when the block ends the stream, else
    /// `transfer-encoding: chunked`, so the HTTP/1.1 side frames the body it forwards.
    static func requestHead(_ block: HPACKHeaders, endStream: Bool) -> HTTPRequestHead? {
        var method: String?, path: String?, scheme: String?, authority: String?
        var hasHost = false, hasContentLength = false
        for (name, value, _) in block {
            if name.utf8.first == UInt8(ascii: ":") {
                switch name {
                case ":method": method = value
                case ":path": path = value
                case ":scheme": scheme = value
                case ":authority": authority = value
                default: break
                }
            } else if name == "host" {
                hasHost = true
            } else if name == "content-length" {
                hasContentLength = true
            }
        }
        guard let method, let path, scheme != nil, let authority else { return nil }
        let httpMethod = HTTPMethod(rawValue: method)
        var fields: [(String, String)] = []
        fields.reserveCapacity(block.count)
        if !hasHost { fields.append(("host", authority)) }
        switch httpMethod {
        case .GET, .HEAD, .DELETE, .CONNECT, .TRACE:
            break
        default:
            if !hasContentLength { fields.append(endStream ? ("content-length", "0") : ("transfer-encoding", "chunked")) }
        }
        for (name, value, _) in block where name.utf8.first != UInt8(ascii: ":") {
            fields.append((name, value))
        }
        return HTTPRequestHead(version: HTTPVersion(major: 2, minor: 0), method: httpMethod, uri: path, headers: HTTPHeaders(fields))
    }

    /// A response header block: `:status`, then the fields with lower-case names, without the
    /// connection-specific ones and those the `connection` field names.
    static func responseBlock(_ head: HTTPResponseHead) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(head.headers.count + 1)
        block.add(name: ":status", value: String(head.status.code))
        appendFields(head.headers, to: &block)
        return block
    }

    /// `responseBlock` for a server's head as received, without a NIOHTTP1 head in between: the
    /// same fields (hop-by-hop and connection-specific ones and those the `connection` field names
    /// left out, names lower-cased), each name and value read from the bytes once.
    static func responseBlock(wire head: HTTP1Head) -> HPACKHeaders {
        var removed = HTTP1HeadEdits()
        HeaderHygiene.removeHopByHop(head, &removed, keepingNamed: [])
        var block = HPACKHeaders()
        block.reserveCapacity(head.fields.count + 1)
        block.add(name: ":status", value: String(head.status))
        let bytes = head.bytes
        for (i, field) in head.fields.enumerated() where !removed.isRemoved(i) {
            if head.nameEquals(field, lowercase: "transfer-encoding") { continue }
            // `date` changes every second: indexed, stale dates would fill the HPACK dynamic table,
            // which nio-http2 searches linearly for every field of every later response.
            let indexing: HPACKIndexing = head.nameEquals(field, lowercase: "date") ? .nonIndexable : .indexable
            block.add(name: lowercasedName(bytes[field.name]), value: HTTP1FieldText.string(bytes[field.value]),
                      indexing: indexing)
        }
        return block
    }

    /// A field name (token characters only, so ASCII) in lower case, as HTTP/2 requires.
    private static func lowercasedName(_ name: ArraySlice<UInt8>) -> String {
        guard name.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return HTTP1FieldText.string(name) }
        return String(unsafeUninitializedCapacity: name.count) { out in
            for (i, b) in name.enumerated() { out[i] = b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
            return name.count
        }
    }

    /// Trailer fields as a header block.
    static func trailerBlock(_ trailers: HTTPHeaders) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(trailers.count)
        appendFields(trailers, to: &block)
        return block
    }

    private static func appendFields(_ headers: HTTPHeaders, to block: inout HPACKHeaders) {
        var named: [String] = []
        for value in headers["connection"] {
            for token in value.split(separator: ",") { named.append(String(token).trimmingOWS().lowercased()) }
        }
        for (name, value) in headers {
            let lower = name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) ? name.lowercased() : name
            if connectionSpecific.contains(lower) || (!named.isEmpty && named.contains(lower)) { continue }
            block.add(name: lower, value: value)
        }
    }

    /// What a header block counts for in `%B` and `bytes_out_*`: its fields' sizes, since HPACK
    /// hides the wire size.
    static func countedSize(_ block: HPACKHeaders) -> Int {
        var n = 0
        for (name, value, _) in block { n &+= name.utf8.count + value.utf8.count + 4 }
        return n
    }
}
