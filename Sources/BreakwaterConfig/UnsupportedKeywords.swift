/// Keyword lists: what breakwater knows, what a later issue adds ("not supported yet"),
/// and HAProxy sections it will never support. Also the "did you mean" helper (spec CFG-3).
enum UnsupportedKeywords {
    /// HAProxy section types breakwater does not support (CFG-3).
    static let sections: Set<String> = [
        "peers", "resolvers", "userlist", "ring", "cache", "program", "http-errors", "mailers",
    ]

    static let globalKeywords = [
        "maxconn", "nbthread", "log", "log-tag", "log-send-hostname", "pidfile", "daemon", "stats", "spread-checks",
        "user", "group", "chroot", "ulimit-n", "tune.ssl.default-dh-param", "tune.ssl.lifetime",
        "ssl-default-bind-options", "ssl-default-bind-ciphersuites", "ssl-default-bind-ciphers", "ssl-default-bind-curves",
        "tune.bufsize", "tune.http.maxhdr",
    ]

    /// Global keywords HAProxy has that breakwater rejects explicitly.
    static let globalNotSupported: [String: String] = [
        "nbproc": "by breakwater (use nbthread)",
        "master-worker": "by breakwater",
        "cpu-map": "by breakwater",
        "lua-load": "by breakwater",
        "hard-stop-after": "yet",
        "ssl-default-server-options": "yet (TLS)",
        "ssl-server-verify": "yet (TLS)",
        "crt-base": "yet (TLS)",
        "ca-base": "yet (TLS)",
    ]

    /// Keywords accepted in defaults/frontend/backend/listen sections.
    static let proxyKeywords = [
        "mode", "log", "no", "option", "retries", "timeout", "maxconn", "bind", "default_backend", "use_backend",
        "acl", "http-request", "balance", "server", "default-server", "http-reuse", "http-check", "stats",
        "stick-table", "tcp-request", "use-fcgi-app",
        // SEED-1 (spec §16): server parameters written as section lines, accepted with a seed warning.
        "observe", "error-limit", "on-error",
    ]

    /// Proxy keywords that a later issue implements (health checks, stick tables, TLS, FastCGI, admin).
    static let proxyNotSupportedYet: [String: String] = [
        "stick": "stick tables",
        "tcp-check": "tcp-check rules",
    ]

    /// `stats` keywords of a proxy section: supported, and those of a later issue.
    static let proxyStatsKeywords = ["enable", "uri", "refresh"]
    static let proxyStatsNotSupportedYet: Set<String> = [
        "auth", "admin", "realm", "hide-version", "show-legends", "show-node", "show-desc", "show-modules",
        "scope", "http-request", "disable",
    ]

    /// `http-check` forms other than `expect status <n>` (a later issue).
    static let httpCheckNotSupportedYet: Set<String> = [
        "send", "connect", "comment", "disable-on-404", "send-state", "set-var", "unset-var",
    ]

    /// HAProxy proxy keywords breakwater does not implement.
    static let proxyNotSupported: Set<String> = [
        "http-response", "http-after-response", "errorfile", "errorfiles", "errorloc", "errorloc302", "errorloc303",
        "compression", "cookie", "capture", "redirect", "description", "id", "disabled", "enabled", "monitor-uri",
        "monitor", "unique-id-format", "unique-id-header", "log-format", "log-format-sd", "error-log-format",
        "log-tag", "server-template", "hash-type", "email-alert", "force-persist", "ignore-persist", "persist",
        "rate-limit", "fullconn", "dispatch", "source", "tcp-response", "filter", "declare", "http-error",
        "server-state-file-name", "load-server-state-from-file", "use-server", "hash-balance-factor",
    ]

    /// `option` names breakwater implements (booleans, except httplog's optional `clf`).
    static let supportedOptions = [
        "httplog", "dontlognull", "dontlog-normal", "forwardfor", "http-keep-alive", "redispatch",
    ]
    /// Health-check options breakwater implements (they take arguments or select the check kind).
    static let checkOptions = ["tcp-check", "httpchk"]
    static let optionsNotSupportedYet: [String: String] = [
        "log-health-checks": "health checks",
        "ssl-hello-chk": "health checks", "external-check": "health checks", "mysql-check": "health checks",
        "pgsql-check": "health checks", "redis-check": "health checks", "smtpchk": "health checks",
        "ldap-check": "health checks", "spop-check": "health checks",
    ]
    static let optionsNotSupported: Set<String> = [
        "tcplog", "httpclose", "http-server-close", "forceclose", "abortonclose", "http-buffer-request",
        "log-separate-errors", "allbackups", "persist", "prefer-last-server", "splice-auto", "splice-request",
        "splice-response", "tcpka", "clitcpka", "srvtcpka", "http-pretend-keepalive", "http-no-delay",
        "originalto", "accept-invalid-http-request", "accept-invalid-http-response", "http-use-proxy-header",
        "checkcache", "independent-streams", "nolinger", "socket-stats", "transparent", "logasap",
        "http-ignore-probes", "http-use-htx", "idle-close-on-response", "h1-case-adjust-bogus-client",
        "h1-case-adjust-bogus-server", "disable-h2-upgrade", "contstats", "http-restrict-req-hdr-names",
    ]

    static let timeoutKinds = [
        "connect", "client", "server", "http-request", "http-keep-alive", "queue", "tarpit", "check", "tunnel",
    ]

    /// Server parameters a later issue implements (health checks, FastCGI, TLS to servers).
    static let serverParamsNotSupportedYet: [String: Int] = [
        // name: number of arguments
        "on-marked-up": 1, "slowstart": 1, "ssl": 0, "verify": 1, "check-ssl": 0, "sni": 1,
        "ca-file": 1, "crt": 1, "agent-check": 0, "agent-port": 1, "agent-inter": 1, "init-state": 1,
    ]
    static let serverParams = [
        "weight", "maxconn", "maxqueue", "disabled", "enabled", "backup", "check", "no-check", "port", "addr",
        "inter", "fastinter", "downinter", "rise", "fall", "observe", "error-limit", "on-error", "on-marked-down",
        "proto",
    ]

    /// Keywords of an `fcgi-app` section (spec FCGI-3).
    static let fcgiAppKeywords = [
        "docroot", "index", "path-info", "set-param", "pass-header", "log-stderr", "option", "no", "acl",
    ]
    static let fcgiAppOptions = ["keep-conn", "mpxs-conns", "max-reqs", "get-values"]

    /// `bind` options for TLS (a later issue).
    static let bindTLSOptions: [String: Int] = [
        "crt-list": 1, "npn": 1, "ecdhe": 1, "ca-file": 1, "verify": 1,
        "strict-sni": 0, "no-tls-tickets": 0, "crl-file": 1, "allow-0rtt": 0, "prefer-client-ciphers": 0,
        "no-sslv3": 0, "no-tlsv10": 0, "no-tlsv11": 0, "no-tlsv12": 0, "no-tlsv13": 0, "force-tlsv12": 0,
        "force-tlsv13": 0,
    ]
    static let bindOtherNotSupported: [String: Int] = [
        "accept-proxy": 0, "v4v6": 0, "v6only": 0, "transparent": 0, "defer-accept": 0, "tfo": 0,
        "interface": 1, "maxconn": 1, "mss": 1, "process": 1, "thread": 1, "nice": 1, "id": 1,
        "level": 1, "mode": 1, "uid": 1, "gid": 1, "user": 1, "group": 1, "proto": 1, "namespace": 1,
    ]

    static let httpRequestActions = [
        "return", "deny", "set-header", "add-header", "del-header", "use-service", "track-sc0", "track-sc1",
        "track-sc2", "tarpit", "silent-drop", "sc-inc-gpc0",
    ]
    static let httpRequestActionsNotSupportedYet: [String: String] = [
        "sc-inc-gpc1": "stick tables", "sc-set-gpt0": "stick tables", "set-param": "FastCGI",
    ]
    static let httpRequestActionsNotSupported: Set<String> = [
        "allow", "auth", "redirect", "reject", "set-path", "set-pathq", "set-query", "set-uri", "set-method",
        "set-var", "unset-var", "replace-header", "replace-value", "replace-path", "replace-pathq", "replace-uri",
        "set-log-level", "set-nice", "set-tos", "set-mark", "capture", "lua", "cache-use", "wait-for-body",
        "wait-for-handshake", "early-hint", "normalize-uri", "set-src", "set-dst", "set-src-port", "set-dst-port",
        "add-acl", "del-acl", "set-map", "del-map", "set-priority-class", "set-priority-offset", "do-resolve",
        "disable-l7-retry", "strict-mode", "send-spoe-group", "set-timeout", "set-bandwidth-limit",
    ]

    /// ACL fetches a later issue implements.
    static func fetchNotSupportedYet(_ name: String) -> Bool {
        name.hasPrefix("sc_") || name.hasPrefix("sc0_") || name.hasPrefix("sc1_") || name.hasPrefix("sc2_")
            || (name.hasPrefix("src_") && name != "src") || name == "nbsrv" || name.hasPrefix("ssl_c")
            || name.hasPrefix("ssl_f") || name.hasPrefix("ssl_bc")
    }

    /// The closest candidate at edit distance ≤ 2, if any.
    static func suggestion(for word: String, among candidates: [String]) -> String? {
        var best: (String, Int)? = nil
        for c in candidates {
            let d = editDistance(word, c)
            if d <= 2, d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
