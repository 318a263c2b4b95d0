/// The request-target checks of an HTTP/2 request head (`:method`, `:path`, `:authority`), on top
/// of the shared `RequestTarget` parse: a target HAProxy refuses is answered with
/// RST_STREAM(PROTOCOL_ERROR) and never forwarded (issue 9 item 2).
enum H2RequestTarget {
    enum Verdict: Equatable {
        case accept
        case refuse(reason: String)
    }

    /// Checks one request head's pseudo-headers. `authority` is `:authority` or, without it, `host`.
    static func check(method: String, path: String?, authority: String?) -> Verdict {
        if let authority, !RequestTarget.validHost(authority) {
            return .refuse(reason: "invalid authority '\(authority)'")
        }
        if method == "CONNECT" { return .accept }
        guard let path else { return .refuse(reason: "no :path") }
        switch RequestTarget.parse(path) {
        case .failure(let invalid):
            return .refuse(reason: "\(invalid) (:path '\(path)')")
        case .success(let target):
            switch target.form {
            case .origin:
                return .accept
            case .asterisk:
                return method == "OPTIONS" ? .accept : .refuse(reason: "':path *' outside OPTIONS")
            case .absolute, .authority:
                // An HTTP/1.1 server would let this authority win over `:authority` (RFC 9112
                // §3.2.2), past every rule that looked at `:authority`; HAProxy 2.6 resets it too.
                return .refuse(reason: ":path '\(path)' does not start with '/'")
            }
        }
    }
}
