import Foundation
import BreakwaterConfigModel

/// Keywords of `defaults`, `frontend`, `backend` and `listen` sections (spec §3, §4, CFG-6).
extension ConfigParseSession {
    mutating func parseProxyLine(_ w: [String], _ loc: SourceLocation) {
        guard var p = current else { return }
        defer { current = p }
        let kw = w[0]
        switch kw {
        case "mode":
            guard expectArgs(w, 1, loc) else { return }
            guard let m = ProxyMode(rawValue: w[1]) else {
                error("unknown proxy mode '\(w[1])' (expected 'http' or 'tcp')", loc)
                // Inherited by the proxies of this defaults: no second error about the tcp default.
                p.hasFailedMode = true
                return
            }
            p.hasFailedMode = false
            p.mode = m
            p.modeLocation = loc
        case "log":
            guard w.count >= 2 else { error("'log' expects 'global' or a target and a facility", loc); return }
            if w[1] == "global" {
                guard expectArgs(w, 1, loc, usage: "nothing after 'global'") else { return }
                p.logEntries.append(.global)
            } else if let t = parseLogTarget(w, loc) {
                p.logEntries.append(.target(t))
            }
        case "no":
            guard w.count >= 2 else { error("'no' expects 'option' or 'log'", loc); return }
            if w[1] == "log" {
                guard w.count == 2 else { error("'no log' takes no argument", loc); return }
                p.logEntries = []
            } else if w[1] == "option" {
                parseOption(Array(w.dropFirst()), loc, &p, enable: false)
            } else {
                error("'no' is only supported before 'option' and 'log', not '\(w[1])'", loc)
            }
        case "option":
            parseOption(w, loc, &p, enable: true)
        case "retries":
            guard expectArgs(w, 1, loc) else { return }
            guard let v = attempt(loc, { try ValueParsers.integer(w[1], keyword: "retries", range: 0...Int(Int32.max)) }) else { return }
            if applies(kw, p, backend: true, loc) { p.retries = v }
        case "timeout":
            parseTimeout(w, loc, &p)
        case "maxconn":
            guard expectArgs(w, 1, loc) else { return }
            guard let v = attempt(loc, { try ValueParsers.integer(w[1], keyword: "maxconn", range: 1...Int(Int32.max)) }) else { return }
            if applies(kw, p, frontend: true, loc) { p.maxconn = v }
        case "bind":
            let before = errorCount
            parseBind(w, loc, &p)
            // A bind line already reported must not add "has no 'bind'" later.
            if errorCount > before { p.hasFailedBind = true }
        case "default_backend":
            guard expectArgs(w, 1, loc) else { return }
            if w[1].contains("%[") {
                error("dynamic backend names are not supported yet in 'default_backend'", loc)
                return
            }
            if applies(kw, p, frontend: true, loc) {
                p.defaultBackend = w[1]
                p.defaultBackendLocation = loc
            }
        case "use_backend":
            parseUseBackend(w, loc, &p)
        case "acl":
            parseACLLine(w, loc, &p)
        case "http-request":
            parseHTTPRequest(w, loc, &p)
        case "balance":
            parseBalance(w, loc, &p)
        case "server":
            parseServer(w, loc, &p)
        case "default-server":
            parseDefaultServer(w, loc, &p)
        case "http-reuse":
            guard expectArgs(w, 1, loc) else { return }
            guard let r = HTTPReuse(rawValue: w[1]) else {
                error("'http-reuse' only supports 'never', 'safe', 'aggressive' and 'always', not '\(w[1])'", loc)
                return
            }
            if applies(kw, p, backend: true, loc) { p.httpReuse = r }
        case "observe", "error-limit", "on-error":
            parseSeedServerLine(w, loc, &p)
        case "http-check":
            parseHTTPCheck(w, loc, &p)
        case "stats":
            parseProxyStats(w, loc, &p)
        case "stick-table":
            parseStickTable(w, loc, &p)
        case "tcp-request":
            parseTCPRequest(w, loc, &p)
        case "use-fcgi-app":
            parseUseFastCGIApp(w, loc, &p)
        default:
            if let why = UnsupportedKeywords.proxyNotSupportedYet[kw] {
                error("'\(kw)' is not supported yet (\(why))", loc)
            } else if UnsupportedKeywords.proxyNotSupported.contains(kw) {
                error("'\(kw)' is not supported by breakwater", loc)
            } else {
                unknownKeyword(kw, section: p.kind.rawValue,
                               candidates: UnsupportedKeywords.proxyKeywords + UnsupportedKeywords.proxyNotSupportedYet.keys.sorted(), loc)
            }
        }
    }

    /// Whether a keyword applies to the proxy's capabilities; if not, warns that it is ignored (CFG-6).
    mutating func applies(_ keyword: String, _ p: ProxyDraft, frontend: Bool = false, backend: Bool = false,
                          _ loc: SourceLocation) -> Bool {
        if p.kind == .defaults { return true }
        if frontend && !p.kind.hasFrontendCapability {
            warning("'\(keyword)' will be ignored because \(p.sectionDescription) has no frontend capability", loc)
            return false
        }
        if backend && !p.kind.hasBackendCapability {
            warning("'\(keyword)' will be ignored because \(p.sectionDescription) has no backend capability", loc)
            return false
        }
        return true
    }

    /// `option X` / `no option X` (w[0] == "option").
    mutating func parseOption(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft, enable: Bool) {
        let prefix = enable ? "" : "no "
        guard w.count >= 2 else { error("'\(prefix)option' expects an option name", loc); return }
        let name = w[1]
        let display = "\(prefix)option \(name)"
        if UnsupportedKeywords.checkOptions.contains(name) {
            guard enable else { error("negation is not supported for option '\(name)'", loc); return }
            parseCheckOption(w, loc, &p)
            return
        }
        if let why = UnsupportedKeywords.optionsNotSupportedYet[name] {
            error("'\(display)' is not supported yet (\(why))", loc)
            return
        }
        if UnsupportedKeywords.optionsNotSupported.contains(name) {
            error("'\(display)' is not supported by breakwater", loc)
            return
        }
        guard UnsupportedKeywords.supportedOptions.contains(name) else {
            if rejectHAProxyKeyword("'\(display)'", name: name, in: HAProxy26Keywords.options, loc) { return }
            var msg = "unknown option '\(name)'"
            let all = UnsupportedKeywords.supportedOptions + UnsupportedKeywords.checkOptions
                + UnsupportedKeywords.optionsNotSupportedYet.keys.sorted()
            if let s = UnsupportedKeywords.suggestion(for: name, among: all) { msg += "; did you mean '\(s)'?" }
            error(msg, loc)
            return
        }
        var args = Array(w.dropFirst(2))
        var clf = false
        if name == "httplog", enable, args.first == "clf" {
            clf = true
            args.removeFirst()
        }
        if !args.isEmpty {
            if name == "forwardfor" {
                error("'option forwardfor' arguments ('\(args[0])') are not supported yet", loc)
            } else {
                error("'\(display)' takes no argument, got '\(args[0])'", loc)
            }
            return
        }
        let needsFrontend = ["httplog", "dontlognull", "dontlog-normal"].contains(name)
        let needsBackend = name == "redispatch"
        guard applies(display, p, frontend: needsFrontend, backend: needsBackend, loc) else { return }
        switch name {
        case "httplog":
            p.options.httplog = enable
            if clf { warning("'option httplog clf' is accepted; logs use the httplog format", loc) }
        case "dontlognull": p.options.dontlognull = enable
        case "dontlog-normal": p.options.dontlogNormal = enable
        case "forwardfor": p.options.forwardfor = enable
        case "http-keep-alive": p.options.httpKeepAlive = enable
        case "redispatch": p.options.redispatch = enable
        default: break
        }
    }

    /// `timeout KIND TIME` (PRX-6).
    mutating func parseTimeout(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        guard w.count >= 2 else { error("'timeout' expects a timeout name and a time", loc); return }
        let kind = w[1]
        let keyword = "timeout \(kind)"
        guard UnsupportedKeywords.timeoutKinds.contains(kind) else {
            if ["client-fin", "server-fin"].contains(kind) {
                error("'\(keyword)' is not supported by breakwater", loc)
                return
            }
            if rejectHAProxyKeyword("'\(keyword)'", name: kind, in: HAProxy26Keywords.timeouts, loc) { return }
            var msg = "unknown timeout '\(kind)'"
            if let s = UnsupportedKeywords.suggestion(for: kind, among: UnsupportedKeywords.timeoutKinds) {
                msg += "; did you mean '\(s)'?"
            }
            error(msg, loc)
            return
        }
        guard w.count == 3 else {
            if w.count < 3 {
                error("'\(keyword)' expects a time value", loc)
            } else {
                error("'\(keyword)' expects one time value, got extra argument '\(w[3])'", loc)
            }
            return
        }
        guard let ms = attempt(loc, { try ValueParsers.time(w[2], keyword: keyword) }) else { return }
        let frontendOnly = ["client"].contains(kind)
        let backendOnly = ["connect", "server", "queue", "check", "tunnel"].contains(kind)
        guard applies(keyword, p, frontend: frontendOnly, backend: backendOnly, loc) else { return }
        switch kind {
        case "connect": p.timeouts.connect = ms
        case "client": p.timeouts.client = ms
        case "server": p.timeouts.server = ms
        case "http-request": p.timeouts.httpRequest = ms
        case "http-keep-alive": p.timeouts.httpKeepAlive = ms
        case "queue": p.timeouts.queue = ms
        case "tarpit": p.timeouts.tarpit = ms
        case "check": p.timeouts.check = ms
        case "tunnel": p.timeouts.tunnel = ms
        default: break
        }
    }

    /// `bind ADDR[,ADDR...] [name N] [options]` (FE-1).
    mutating func parseBind(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        if p.kind == .defaults { error("'bind' not allowed in 'defaults' section", loc); return }
        guard w.count >= 2 else { error("'bind' expects an address (e.g. *:80)", loc); return }
        var binds: [BindConfig] = []
        var ok = true
        for part in w[1].split(separator: ",", omittingEmptySubsequences: false) {
            let text = String(part)
            if text.hasPrefix("unix@") || text.hasPrefix("/") || text.hasPrefix("fd@") || text.hasPrefix("abns@") {
                error("bind address '\(text)': only IPv4/IPv6 addresses are supported yet", loc)
                ok = false
                continue
            }
            guard let a = attempt(loc, {
                try AddressParser.parse(text, options: .init(allowUnix: false, defaultPort: nil, resolveHostnames: false))
            }) else { ok = false; continue }
            if case .inet(let host, let port) = a { binds.append(BindConfig(host: host, port: port, location: loc)) }
        }
        var name: String?
        var backlog: Int?
        var h2 = false
        var ssl = false
        var tls = TLSBindConfig(certificates: [])
        var i = 2
        func argument(_ opt: String) -> String? {
            guard i + 1 < w.count else {
                error("bind option '\(opt)' expects an argument", loc)
                return nil
            }
            return w[i + 1]
        }
        while i < w.count {
            let opt = w[i]
            switch opt {
            case "ssl":
                ssl = true
                i += 1
                continue
            case "crt":
                guard let path = argument(opt) else { return }
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
                    error("unable to stat SSL certificate from file '\(path)' : No such file or directory.", loc)
                    return
                }
                tls.certificates.append(path)
                i += 2
                continue
            case "alpn":
                guard let list = argument(opt) else { return }
                let names = list.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard names.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 255 }) else {
                    error("bind option 'alpn': invalid protocol list '\(list)'", loc)
                    return
                }
                tls.alpn = names
                i += 2
                continue
            case "tls-ticket-keys":
                guard let path = argument(opt) else { return }
                guard FileManager.default.isReadableFile(atPath: path) else {
                    error("unable to load ssl tickets keys file '\(path)'", loc)
                    return
                }
                tls.ticketKeysFile = path
                i += 2
                continue
            case "ssl-min-ver", "ssl-max-ver":
                guard let v = argument(opt) else { return }
                guard let version = TLSVersion(rawValue: v) else {
                    error("bind option '\(opt)': unknown version '\(v)' (TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3)", loc)
                    return
                }
                if opt == "ssl-min-ver" { tls.minVersion = version } else { tls.maxVersion = version }
                i += 2
                continue
            case "ciphers", "ciphersuites", "curves":
                guard let v = argument(opt) else { return }
                switch opt {
                case "ciphers": tls.ciphers = v
                case "ciphersuites": tls.ciphersuites = v
                default: tls.curves = v
                }
                i += 2
                continue
            default:
                break
            }
            if opt == "proto" {
                // `proto h2`: HTTP/2 with prior knowledge on a clear-text listener (h2c).
                guard i + 1 < w.count else { error("bind option 'proto' expects an argument ('h2')", loc); return }
                guard w[i + 1] == "h2" else {
                    error("bind option 'proto \(w[i + 1])' is not supported (breakwater supports 'proto h2')", loc)
                    return
                }
                h2 = true
                i += 2
                continue
            }
            if opt == "backlog" {
                guard let v = argument(opt) else { return }
                guard let n = attempt(loc, { try ValueParsers.integer(v, keyword: "bind option 'backlog'", range: 1...Int(Int32.max)) })
                else { return }
                backlog = n
                i += 2
                continue
            }
            if opt == "name" {
                guard i + 1 < w.count else { error("bind option 'name' expects an argument", loc); return }
                name = w[i + 1]
                i += 2
                continue
            }
            if UnsupportedKeywords.bindTLSOptions[opt] != nil {
                error("bind option '\(opt)' is not supported yet (TLS)", loc)
                return
            }
            if UnsupportedKeywords.bindOtherNotSupported[opt] != nil {
                error("bind option '\(opt)' is not supported yet", loc)
                return
            }
            let all = ["name", "proto", "backlog"] + UnsupportedKeywords.bindTLSOptions.keys.sorted() + UnsupportedKeywords.bindOtherNotSupported.keys.sorted()
            unknownKeyword(opt, what: "bind option", candidates: all, loc)
            return
        }
        if ssl && tls.certificates.isEmpty {
            error("no SSL certificate specified for bind '\(w[1])' (use 'crt')", loc)
            return
        }
        if !ssl && !tls.alpn.isEmpty {
            warning("'alpn' has no effect on bind '\(w[1])' without 'ssl'", loc)
        }
        if let lo = tls.minVersion, let hi = tls.maxVersion, lo > hi {
            error("bind '\(w[1])': ssl-min-ver \(lo.rawValue) is above ssl-max-ver \(hi.rawValue)", loc)
            return
        }
        // Global ssl-default-bind-* fill what the bind line leaves unset.
        let d = global.tlsDefaults
        tls.minVersion = tls.minVersion ?? d.minVersion
        tls.maxVersion = tls.maxVersion ?? d.maxVersion
        tls.ciphersuites = tls.ciphersuites ?? d.ciphersuites
        tls.ciphers = tls.ciphers ?? d.ciphers
        tls.curves = tls.curves ?? d.curves
        tls.dhParamBits = d.dhParamBits
        tls.sessionLifetimeSeconds = d.sessionLifetimeSeconds
        guard ok, applies("bind", p, frontend: true, loc) else { return }
        for var b in binds {
            b.name = name
            b.h2PriorKnowledge = h2
            b.backlog = backlog
            if ssl { b.tls = tls }
            p.binds.append(b)
        }
    }

    /// `balance ALGO` (BE-2).
    mutating func parseBalance(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        guard w.count >= 2 else { error("'balance' expects an algorithm ('roundrobin' or 'leastconn')", loc); return }
        let algo = w[1]
        if let a = BalanceAlgorithm(rawValue: algo) {
            guard expectArgs(w, 1, loc) else { return }
            if applies("balance", p, backend: true, loc) { p.balance = a }
            return
        }
        let known = ["static-rr", "first", "source", "uri", "url_param", "random", "hash", "rdp-cookie"]
        if known.contains(algo) || algo.hasPrefix("hdr(") || algo.hasPrefix("rdp-cookie(") || algo.hasPrefix("random(") {
            error("balance algorithm '\(algo)' is not supported yet (breakwater supports 'roundrobin' and 'leastconn')", loc)
        } else {
            error("balance only supports 'roundrobin', 'leastconn', 'static-rr', 'first', 'source', 'uri', "
                  + "'url_param', 'hdr(name)', 'random', 'hash' and 'rdp-cookie'; unknown algorithm '\(algo)'", loc)
        }
    }
}
