/// The request-target checks of an HTTP/2 request (`:method`, `:path`, `:authority`), as HAProxy
/// applies them before a stream becomes a request: a target it refuses is answered with
/// RST_STREAM(PROTOCOL_ERROR) and never forwarded (issue 9 item 2).
enum H2RequestTarget {
    enum Verdict: Equatable {
        case accept
        case refuse(reason: String)
    }

    /// Checks one request head's pseudo-headers. `authority` is `:authority` or, without it, `host`.
    static func check(method: String, path: String?, authority: String?) -> Verdict {
        if let authority, !isValidAuthority(authority) {
            return .refuse(reason: "invalid authority '\(authority)'")
        }
        if method == "CONNECT" { return .accept }
        guard let path, !path.isEmpty else { return .refuse(reason: "empty :path") }
        if path.utf8.contains(UInt8(ascii: "#")) { return .refuse(reason: "fragment in :path") }
        if path.utf8.first == UInt8(ascii: "/") { return .accept }
        if path == "*" { return method == "OPTIONS" ? .accept : .refuse(reason: "':path *' outside OPTIONS") }
        // Absolute form (`http://host/p`) too: an HTTP/1.1 server would let its authority win over
        // `:authority` (RFC 9112 §3.2.2), past every rule that looked at `:authority`. HAProxy 2.6
        // resets it as well.
        return .refuse(reason: ":path '\(path)' does not start with '/'")
    }

    /// `host[:port]` with a port of up to 5 digits, at most 65535, no user info, no spaces.
    static func isValidAuthority(_ authority: String) -> Bool {
        let bytes = Array(authority.utf8)
        guard !bytes.isEmpty, !bytes.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "@") }) else { return false }
        var hostEnd = bytes.endIndex
        if bytes[0] == UInt8(ascii: "[") {
            guard let close = bytes.firstIndex(of: UInt8(ascii: "]")) else { return false }
            hostEnd = close + 1
            if hostEnd == bytes.endIndex { return true }
            guard bytes[hostEnd] == UInt8(ascii: ":") else { return false }
        } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
            hostEnd = colon
        } else {
            return true
        }
        let port = bytes[(hostEnd + 1)...]
        if port.isEmpty { return true }  // RFC 3986 §3.2.3: `port = *DIGIT`
        guard port.count <= 5, port.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return false
        }
        return Int(String(decoding: port, as: UTF8.self))! <= 65535
    }
}
