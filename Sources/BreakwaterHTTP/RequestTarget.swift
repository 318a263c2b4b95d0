/// A request target (RFC 9112 §3.2), split once when the request head arrives so that every path
/// fetch, the FastCGI parameters and the forwarded request all see the same view.
///
/// Absolute-form targets (`HTTP://host:port/p?q`) are recognised whatever the scheme's case, and
/// their authority is split off; a `#fragment`, an invalid authority or port, or control characters
/// make the target invalid (HAProxy answers 400, an HTTP/2 stream gets PROTOCOL_ERROR).
struct RequestTarget: Equatable, Sendable {
    enum Form: Equatable, Sendable {
        /// `/path?query`
        case origin
        /// `scheme://authority/path?query`
        case absolute
        /// `*` (OPTIONS)
        case asterisk
        /// `host:port` (CONNECT)
        case authority
    }

    enum Invalid: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case controlCharacter
        case fragment
        case badScheme
        case badAuthority
        case badPort
        /// Not `/…`, `*`, an absolute URI or an authority.
        case unrecognised

        var description: String {
            switch self {
            case .empty: return "empty request target"
            case .controlCharacter: return "control character in request target"
            case .fragment: return "fragment in request target"
            case .badScheme: return "invalid scheme in request target"
            case .badAuthority: return "invalid authority in request target"
            case .badPort: return "invalid port in request target authority"
            case .unrecognised: return "request target is not origin, absolute, asterisk or authority form"
            }
        }
    }

    let form: Form
    /// Lower-cased scheme of an absolute-form target.
    let scheme: String?
    /// `host[:port]` of an absolute- or authority-form target, as received.
    let authority: String?
    /// Origin-form `path[?query]` (`/` when an absolute URI has no path; `*` for asterisk form).
    let pathAndQuery: String

    /// The path without the query string: what `path`, `path_beg`… match.
    var path: Substring {
        let s = Substring(pathAndQuery)
        if let q = s.utf8.firstIndex(of: UInt8(ascii: "?")) { return s[..<q] }
        return s
    }

    /// Parses `target`; `isConnect` allows authority form (and only it).
    static func parse(_ target: String, isConnect: Bool = false) -> Result<RequestTarget, Invalid> {
        let bytes = target.utf8
        guard !bytes.isEmpty else { return .failure(.empty) }
        for b in bytes {
            if b < 0x21 || b == 0x7F { return .failure(.controlCharacter) }
            if b == UInt8(ascii: "#") { return .failure(.fragment) }
        }
        if isConnect {
            guard validAuthority(Substring(target)) else { return .failure(.badAuthority) }
            if let e = portError(Substring(target)) { return .failure(e) }
            return .success(RequestTarget(form: .authority, scheme: nil, authority: target, pathAndQuery: ""))
        }
        let first = bytes.first!
        if first == UInt8(ascii: "/") {
            return .success(RequestTarget(form: .origin, scheme: nil, authority: nil, pathAndQuery: target))
        }
        if target == "*" {
            return .success(RequestTarget(form: .asterisk, scheme: nil, authority: nil, pathAndQuery: "*"))
        }
        // Absolute form: scheme ":" "//" authority path-abempty [ "?" query ].
        let s = Substring(target)
        guard let colon = s.utf8.firstIndex(of: UInt8(ascii: ":")) else { return .failure(.unrecognised) }
        let schemePart = s[..<colon]
        guard let s0 = schemePart.utf8.first, isAlpha(s0),
              schemePart.utf8.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E })
        else { return .failure(.badScheme) }
        let rest = s[s.utf8.index(after: colon)...]
        guard rest.utf8.starts(with: "//".utf8) else { return .failure(.unrecognised) }
        let afterSlashes = rest.dropFirst(2)
        let authorityEnd = afterSlashes.utf8.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? afterSlashes.endIndex
        let authority = afterSlashes[..<authorityEnd]
        guard !authority.isEmpty, validAuthority(authority) else { return .failure(.badAuthority) }
        if let e = portError(authority) { return .failure(e) }
        var pathAndQuery = String(afterSlashes[authorityEnd...])
        if pathAndQuery.isEmpty || pathAndQuery.utf8.first == UInt8(ascii: "?") { pathAndQuery = "/" + pathAndQuery }
        return .success(RequestTarget(form: .absolute, scheme: String(schemePart).lowercased(),
                                      authority: String(authority), pathAndQuery: pathAndQuery))
    }

    /// The target's authority names the same host and port as a `Host` value (case-insensitive);
    /// true when the target has no authority.
    /// The scheme's default port (`:80` for http, `:443` for https) is ignored on both sides, as HAProxy does.
    func authorityMatches(host: String) -> Bool {
        guard let authority else { return true }
        return Self.equalsIgnoringCase(withoutDefaultPort(Substring(authority)), withoutDefaultPort(Substring(host)))
    }

    private func withoutDefaultPort(_ a: Substring) -> Substring {
        let suffix: String
        switch scheme {
        case "http": suffix = ":80"
        case "https": suffix = ":443"
        default: return a
        }
        return a.utf8.count > suffix.utf8.count && a.hasSuffix(suffix) ? a.dropLast(suffix.count) : a
    }

    /// `host[:port]` with no userinfo and only characters an authority may hold; an IPv6 literal in
    /// brackets.
    static func validAuthority(_ a: Substring) -> Bool {
        guard !a.isEmpty else { return false }
        var inBrackets = false
        for b in a.utf8 {
            switch b {
            case UInt8(ascii: "["): if inBrackets { return false }; inBrackets = true
            case UInt8(ascii: "]"): if !inBrackets { return false }; inBrackets = false
            case UInt8(ascii: "@"), UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "\\"),
                 UInt8(ascii: "\""), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "{"), UInt8(ascii: "}"),
                 UInt8(ascii: "|"), UInt8(ascii: "^"), UInt8(ascii: "`"):
                return false
            default:
                if b <= 0x20 || b >= 0x7F { return false }
            }
        }
        return !inBrackets
    }

    /// A port after the host (outside an IPv6 literal) must be 1–5 digits no greater than 65535;
    /// an empty port (`host:`) is allowed by RFC 3986.
    static func portError(_ a: Substring) -> Invalid? {
        let u = a.utf8
        let hostEnd: Substring.UTF8View.Index
        if u.first == UInt8(ascii: "[") {
            guard let close = u.firstIndex(of: UInt8(ascii: "]")) else { return .badAuthority }
            hostEnd = u.index(after: close)
            if hostEnd == u.endIndex { return nil }
            guard u[hostEnd] == UInt8(ascii: ":") else { return .badAuthority }
        } else {
            guard let colon = u.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            hostEnd = colon
            if colon == u.startIndex { return .badAuthority }
        }
        let port = u[u.index(after: hostEnd)...]
        if port.isEmpty { return nil }
        guard port.count <= 5, port.allSatisfy(isDigit) else { return .badPort }
        var value = 0
        for d in port { value = value * 10 + Int(d - 0x30) }
        return value <= 65535 ? nil : .badPort
    }

    /// A `Host` header value is a valid authority with a valid port.
    static func validHost(_ host: String) -> Bool {
        let h = Substring(host)
        return validAuthority(h) && portError(h) == nil
    }

    @inline(__always) static func isAlpha(_ b: UInt8) -> Bool { (b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A }
    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    static func equalsIgnoringCase(_ a: Substring, _ b: Substring) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        for (x, y) in zip(a.utf8, b.utf8) {
            let fx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
            let fy = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
            if fx != fy { return false }
        }
        return true
    }
}
