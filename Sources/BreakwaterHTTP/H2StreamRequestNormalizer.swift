import BreakwaterObservability
import NIOCore
import NIOHPACK
import NIOHTTP2

/// First look at an HTTP/2 stream's request head, before it is turned into an HTTP/1 head:
/// - a request target HAProxy refuses (`H2RequestTarget`) resets the stream with
///   RST_STREAM(PROTOCOL_ERROR) and is never forwarded;
/// - without `:authority`, `host` stands in for it (RFC 9113 §8.3.1); with `:authority`, any `host`
///   is dropped so the server sees the authority the rules saw (HAProxy does the same);
/// - `cookie` crumbs are joined with `; ` into one field (RFC 9113 §8.2.3), since HTTP/1.1 servers
///   and FastCGI's HTTP_COOKIE expect a single one.
///
/// Only the first HEADERS frame of a stream is a request head; later ones are trailers.
/// `H2ConnectionHandler` applies it to each stream's head.
enum H2StreamRequestNormalizer {
    enum Outcome {
        case unchanged
        case forward(HPACKHeaders)
        case refuse(String)
    }

    /// The request head as it is forwarded, or why it is refused.
    static func normalize(_ headers: HPACKHeaders) -> Outcome {
        var method = "", path: String?, authority: String?, host: String?
        var cookies = 0, hosts = 0
        for (name, value, _) in headers {
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":authority": authority = value
            case "host":
                hosts += 1
                if host == nil { host = value }
            case "cookie": cookies += 1
            default: break
            }
        }
        if case .refuse(let reason) = H2RequestTarget.check(method: method, path: path, authority: authority ?? host) {
            return .refuse(reason)
        }
        let fillAuthority = authority == nil && host != nil
        let dropHost = authority != nil && hosts > 0
        guard fillAuthority || dropHost || cookies > 1 else { return .unchanged }

        var out = HPACKHeaders()
        out.reserveCapacity(headers.count + 1)
        if fillAuthority, let host { out.add(name: ":authority", value: host) }
        var joinedCookie: String?
        for (name, value, indexing) in headers {
            switch name {
            case "host" where dropHost:
                continue
            case "cookie" where cookies > 1:
                joinedCookie = joinedCookie.map { $0 + "; " + value } ?? value
            default:
                out.add(name: name, value: value, indexing: indexing)
            }
        }
        if let joinedCookie { out.add(name: "cookie", value: joinedCookie, indexing: .neverIndexed) }
        return .forward(out)
    }
}
