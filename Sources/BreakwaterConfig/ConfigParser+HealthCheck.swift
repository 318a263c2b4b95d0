import BreakwaterConfigModel

/// Proxy-level health-check keywords (`option tcp-check`, `option httpchk`, `http-check expect`, spec HC-1)
/// and the HTML stats page keywords (`stats enable|uri|refresh`).
extension ConfigParseSession {
    /// `option tcp-check` / `option httpchk [<uri> | <method> <uri> [<version>]]` (w[0] == "option").
    mutating func parseCheckOption(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        let name = w[1]
        let args = Array(w.dropFirst(2))
        let kind: DraftCheckKind
        if name == "tcp-check" {
            if let extra = args.first {
                error("'option tcp-check' takes no argument, got '\(extra)'", loc)
                return
            }
            kind = .tcp
        } else {
            var method = "OPTIONS", uri = "/", version = "HTTP/1.0"
            switch args.count {
            case 0: break
            case 1:
                uri = args[0]
                if !args[0].hasPrefix("/"), args[0].allSatisfy({ $0.isASCII && $0.isUppercase }) {
                    warning("'option httpchk \(args[0])': a single argument is the URI, so the check sends "
                            + "'OPTIONS \(args[0]) HTTP/1.0'; did you mean 'option httpchk \(args[0]) /'?", loc)
                }
            case 2, 3:
                method = args[0]
                uri = args[1]
                if args.count == 3 { version = args[2] }
            default:
                error("'option httpchk' expects at most <method> <uri> <version>, got extra argument '\(args[3])'", loc)
                return
            }
            let tchar = Set("!#$%&'*+-.^_`|~".utf8)
            guard !method.isEmpty, method.utf8.allSatisfy({ c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || tchar.contains(c)
            }) else {
                error("'option httpchk': invalid method '\(method)'", loc)
                return
            }
            guard !uri.isEmpty, uri.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                error("'option httpchk': invalid URI '\(uri)'", loc)
                return
            }
            if version.contains("\r") || version.contains("\n") {
                error("'option httpchk': headers after the version ('\\r\\n' hack) are not supported yet", loc)
                return
            }
            guard ["HTTP/1.0", "HTTP/1.1"].contains(version) else {
                error("'option httpchk': unsupported HTTP version '\(version)' (expected 'HTTP/1.0' or 'HTTP/1.1')", loc)
                return
            }
            kind = .http(method: method, uri: uri, version: version)
        }
        guard applies("option \(name)", p, backend: true, loc) else { return }
        p.checkKind = kind
    }

    /// `http-check expect status <code>`; other `http-check` forms are a later issue.
    mutating func parseHTTPCheck(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        guard w.count >= 2 else { error("'http-check' expects 'expect status <code>'", loc); return }
        let sub = w[1]
        if UnsupportedKeywords.httpCheckNotSupportedYet.contains(sub) {
            error("'http-check \(sub)' is not supported yet (health checks: only 'http-check expect status <code>')", loc)
            return
        }
        guard sub == "expect" else {
            unknownKeyword(sub, what: "'http-check' keyword",
                           candidates: ["expect"] + UnsupportedKeywords.httpCheckNotSupportedYet.sorted(), loc)
            return
        }
        guard w.count >= 3 else { error("'http-check expect' expects 'status <code>'", loc); return }
        guard w[2] == "status" else {
            let known: Set<String> = ["rstatus", "string", "rstring", "hdr", "fhdr", "!", "min-recv", "comment",
                                      "ok-status", "error-status", "tout-status", "on-success", "on-error", "status-code"]
            if known.contains(w[2]) {
                error("'http-check expect \(w[2])' is not supported yet (only 'http-check expect status <code>')", loc)
            } else {
                error("'http-check expect': unknown match '\(w[2])' (expected 'status <code>')", loc)
            }
            return
        }
        guard w.count >= 4 else { error("'http-check expect status' expects a status code", loc); return }
        if w[3].contains("-") || w[3].contains(",") {
            error("'http-check expect status \(w[3])': status ranges and lists are not supported yet (give one code)", loc)
            return
        }
        guard let code = attempt(loc, { try ValueParsers.integer(w[3], keyword: "http-check expect status", range: 100...599) }) else {
            return
        }
        if w.count > 4 {
            error("'http-check expect status' expects one status code, got extra argument '\(w[4])'", loc)
            return
        }
        if let prev = p.httpCheckExpectLocation, prev.file == p.location.file, prev.line > p.location.line {
            error("several 'http-check expect' rules in one section are not supported yet (first one at \(prev))", loc)
            return
        }
        guard applies("http-check", p, backend: true, loc) else { return }
        p.httpCheckExpectStatus = code
        p.httpCheckExpectLocation = loc
    }

    /// `stats enable|uri|refresh` in a proxy section (the HTML stats page); `uri` and `refresh` imply `enable`.
    mutating func parseProxyStats(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        guard w.count >= 2 else { error("'stats' expects 'enable', 'uri <prefix>' or 'refresh <time>'", loc); return }
        let sub = w[1]
        switch sub {
        case "enable":
            guard w.count == 2 else { error("'stats enable' takes no argument, got '\(w[2])'", loc); return }
            p.statsPage = p.statsPage ?? StatsPageConfig()
        case "uri":
            guard w.count == 3 else {
                error(w.count < 3 ? "'stats uri' expects a URI prefix" : "'stats uri' expects one URI prefix, got extra argument '\(w[3])'", loc)
                return
            }
            guard w[2].hasPrefix("/"), w[2].utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                error("'stats uri' expects a URI prefix starting with '/', got '\(w[2])'", loc)
                return
            }
            var page = p.statsPage ?? StatsPageConfig()
            page.uri = w[2]
            p.statsPage = page
        case "refresh":
            guard w.count == 3 else {
                error(w.count < 3 ? "'stats refresh' expects a time value" : "'stats refresh' expects one time value, got extra argument '\(w[3])'", loc)
                return
            }
            guard let ms = attempt(loc, { try ValueParsers.time(w[2], keyword: "stats refresh") }) else { return }
            var page = p.statsPage ?? StatsPageConfig()
            page.refreshMs = ms == 0 ? nil : ms
            p.statsPage = page
        case "socket", "timeout", "maxconn", "bind-process":
            error("'stats \(sub)' is only allowed in 'global' section", loc)
        default:
            if UnsupportedKeywords.proxyStatsNotSupportedYet.contains(sub) {
                error("'stats \(sub)' is not supported yet (statistics page: only 'stats enable', 'stats uri' and 'stats refresh')", loc)
            } else {
                unknownKeyword(sub, what: "'stats' keyword",
                               candidates: UnsupportedKeywords.proxyStatsKeywords + UnsupportedKeywords.proxyStatsNotSupportedYet.sorted(), loc)
            }
        }
    }

    /// The check kind a backend ends up with: `option httpchk` plus its `http-check expect status`.
    func healthCheckKind(_ d: ProxyDraft) -> HealthCheckKind {
        switch d.checkKind {
        case .tcp: return .tcp
        case .http(let method, let uri, let version):
            return .http(method: method, uri: uri, version: version, expectStatus: d.httpCheckExpectStatus)
        }
    }
}
