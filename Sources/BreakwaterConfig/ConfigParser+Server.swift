import BreakwaterConfigModel

/// `server` and `default-server` lines (spec BE-1), with their health-check parameters (HC-2, OBS-1).
extension ConfigParseSession {
    mutating func parseServer(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        if p.kind == .defaults { error("'server' not allowed in 'defaults' section", loc); return }
        if p.kind == .frontend {
            error("'server' not allowed in \(p.sectionDescription): a frontend has no backend capability", loc)
            return
        }
        guard w.count >= 3 else { error("'server' expects <name> and <address> as arguments", loc); return }
        let name = w[1]
        var ok = true
        if let bad = Self.badNameCharacter(name) {
            error("character '\(bad)' is not permitted in server name '\(name)'", loc)
            ok = false
        }
        if let prev = p.servers.first(where: { $0.name == name }) {
            error("server '\(name)' already declared in \(p.sectionDescription) at \(prev.location)", loc)
            ok = false
        }
        let address = attempt(loc) {
            // No port: the port of the client connection (resolved in `resolveServerPorts`).
            try AddressParser.parse(w[2], options: .init(allowUnix: true, defaultPort: 0, resolveHostnames: true))
        }
        let params = parseServerParams(w, from: 3, base: p.defaultServer, keyword: "server", mode: p.mode, loc)
        guard ok, let params, let address else { return }
        var s: ServerConfig
        switch address {
        case .inet(let host, let port):
            s = ServerConfig(name: name, host: host, port: port, location: loc)
        case .unix(let path):
            // `/path/to.sock` or `unix@/path`: host and port are unused (the path doubles as the host for display).
            guard path.hasPrefix("/") else {
                error("server '\(name)': UNIX socket path must be absolute, got '\(w[2])'", loc)
                return
            }
            s = ServerConfig(name: name, host: path, port: 0, location: loc)
            s.unixSocketPath = path
        }
        s.proto = params.proto ?? .http
        s.weight = params.weight
        s.maxconn = params.maxconn
        s.maxqueue = params.maxqueue
        s.disabled = params.disabled
        s.backup = params.backup
        // Final once the section ends (SEED-1 lines may still fill in observe/error-limit/on-error).
        s.health = params.health
        p.servers.append(s)
        p.serverParams.append(params)
    }

    mutating func parseDefaultServer(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        guard let params = parseServerParams(w, from: 1, base: p.defaultServer, keyword: "default-server",
                                             mode: p.mode, loc) else { return }
        if applies("default-server", p, backend: true, loc) { p.defaultServer = params }
    }

    /// SEED-1: `observe`, `error-limit`, `on-error` written as section lines. Accepted in backend, listen and
    /// defaults sections as an implicit `default-server` line at the top of the section, with a seed warning.
    mutating func parseSeedServerLine(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        let kw = w[0]
        if p.kind == .frontend {
            error("'\(kw)' is a server parameter, not a frontend keyword; write 'default-server \(kw) ...' in a backend", loc)
            return
        }
        guard expectArgs(w, 1, loc) else { return }
        guard let params = parseServerParams(w, from: 0, base: ServerParams(), keyword: p.kind.rawValue,
                                             mode: p.mode, loc) else { return }
        switch kw {
        case "observe": p.seedServerDefaults.observe = params.health.observe
        case "error-limit": p.seedServerDefaults.errorLimit = params.health.errorLimit
        default: p.seedServerDefaults.onError = params.health.onError
        }
        seedWarning("'\(kw)' is not a \(p.kind.rawValue) keyword in HAProxy; write 'default-server \(kw) \(w[1])' "
                    + "(accepted as a Breakwater extension)", loc)
    }

    /// At the end of a section: applies its SEED-1 lines to its servers (or, for `defaults`, to its
    /// `default-server` values) and warns about health parameters on servers without `check` (Appendix C.8).
    mutating func finishServers(_ p: inout ProxyDraft) {
        if p.kind == .defaults {
            p.seedServerDefaults.apply(to: &p.defaultServer)
            return
        }
        for i in p.servers.indices {
            var params = p.serverParams[i]
            p.seedServerDefaults.apply(to: &params)
            p.servers[i].health = params.health
            p.serverParams[i] = params
            if !params.health.enabled, !params.healthParamsGiven.isEmpty {
                let list = params.healthParamsGiven.map { "'\($0)'" }.joined(separator: ", ")
                let verb = params.healthParamsGiven.count == 1 ? "has" : "have"
                insertInFileOrder(Diagnostic(severity: .warning, location: p.servers[i].location,
                                             message: "server '\(p.servers[i].name)': \(list) \(verb) no effect without 'check'"))
            }
        }
    }

    /// Adds a warning found when a section ends at its place among the section's diagnostics (file order).
    mutating func insertInFileOrder(_ d: Diagnostic) {
        if capped { return }
        var j = diagnostics.count
        while j > 0, diagnostics[j - 1].location.file == d.location.file, diagnostics[j - 1].location.line > d.location.line {
            j -= 1
        }
        diagnostics.insert(d, at: j)
    }

    /// Parses `weight`, `maxconn`, `maxqueue`, `disabled`, `enabled`, `backup` and the health-check parameters;
    /// rejects the parameters of later issues with one "not supported yet" error per line. Returns nil on any error.
    /// `keyword` names the line in messages; `mode` is the proxy's mode so far (`observe layer7` needs http).
    mutating func parseServerParams(_ w: [String], from start: Int, base: ServerParams, keyword: String,
                                    mode: ProxyMode, _ loc: SourceLocation) -> ServerParams? {
        var params = base
        var ok = true
        var notYet: [String] = []
        var i = start
        while i < w.count {
            let opt = w[i]
            let value: String? = i + 1 < w.count ? w[i + 1] : nil
            switch opt {
            case "weight", "maxconn", "maxqueue":
                let range = opt == "weight" ? 0...256 : opt == "maxconn" ? 1...Int(Int32.max) : 0...Int(Int32.max)
                guard let v = attempt(loc, { try ValueParsers.integer(value, keyword: opt, range: range) }) else {
                    ok = false
                    i += 2
                    continue
                }
                switch opt {
                case "weight": params.weight = v
                case "maxconn": params.maxconn = v
                default: params.maxqueue = v
                }
                i += 2
            case "disabled":
                params.disabled = true
                i += 1
            case "enabled":
                params.disabled = false
                i += 1
            case "backup":
                params.backup = true
                i += 1
            case "check":
                params.health.enabled = true
                i += 1
            case "proto":
                // FCGI-1: `proto fcgi`; `h1` is HAProxy's explicit HTTP/1 mux (same as no `proto`).
                switch value {
                case "fcgi": params.proto = .fcgi
                case "h1": params.proto = .http
                case "h2":
                    error("\(keyword) parameter 'proto h2' is not supported yet (HTTP/2 to servers)", loc)
                    ok = false
                case nil:
                    error("'proto' expects a protocol name ('fcgi')", loc)
                    ok = false
                case let v?:
                    var msg = "'proto': unknown protocol '\(v)' (breakwater supports 'fcgi' and 'h1' on \(keyword) lines)"
                    if let s = UnsupportedKeywords.suggestion(for: v, among: ["fcgi", "h1", "h2"]) { msg += "; did you mean '\(s)'?" }
                    error(msg, loc)
                    ok = false
                }
                i += 2
            case "no-check":
                params.health.enabled = false
                i += 1
            case "port", "addr", "inter", "fastinter", "downinter", "rise", "fall", "observe", "error-limit",
                 "on-error", "on-marked-down":
                if parseHealthParam(opt, value, &params, mode: mode, loc) {
                    params.noteGiven(opt)
                } else {
                    ok = false
                }
                i += 2
            default:
                if let n = UnsupportedKeywords.serverParamsNotSupportedYet[opt] ?? HAProxy26Keywords.serverOptions[opt] {
                    notYet.append(opt)
                    i += 1 + n
                    continue
                }
                var msg = "unknown keyword '\(opt)' on '\(keyword)' line"
                let all = UnsupportedKeywords.serverParams + UnsupportedKeywords.serverParamsNotSupportedYet.keys.sorted()
                if let s = UnsupportedKeywords.suggestion(for: opt, among: all) { msg += "; did you mean '\(s)'?" }
                error(msg, loc)
                return nil
            }
        }
        if !notYet.isEmpty {
            let list = notYet.map { "'\($0)'" }.joined(separator: ", ")
            let verb = notYet.count == 1 ? "is" : "are"
            error("\(keyword) parameter\(notYet.count == 1 ? "" : "s") \(list) \(verb) not supported yet "
                  + "(HAProxy 2.6 has \(notYet.count == 1 ? "it" : "them"); Breakwater does not implement \(notYet.count == 1 ? "it" : "them"))", loc)
            ok = false
        }
        return ok ? params : nil
    }

    /// One health parameter with its argument (spec HC-2, OBS-1); false after reporting an error.
    mutating func parseHealthParam(_ opt: String, _ value: String?, _ params: inout ServerParams, mode: ProxyMode,
                                   _ loc: SourceLocation) -> Bool {
        guard let value else {
            let what: String
            switch opt {
            case "port": what = "a port number"
            case "addr": what = "an IP address"
            case "inter", "fastinter", "downinter": what = "a time value"
            case "observe": what = "'none', 'layer4' or 'layer7'"
            case "on-error": what = "'fastinter', 'fail-check', 'sudden-death' or 'mark-down'"
            case "on-marked-down": what = "'shutdown-sessions'"
            default: what = "an integer argument"
            }
            error("'\(opt)' expects \(what)", loc)
            return false
        }
        switch opt {
        case "port":
            guard let v = attempt(loc, { try ValueParsers.integer(value, keyword: "port", range: 1...65535) }) else { return false }
            params.health.port = v
        case "addr":
            guard let a = attempt(loc, { try Self.checkAddress(value) }) else { return false }
            params.health.address = a
        case "inter", "fastinter", "downinter":
            guard let ms = attempt(loc, { try ValueParsers.time(value, keyword: opt) }) else { return false }
            guard ms > 0 else { error("invalid value 0 for argument '\(opt)'", loc); return false }
            switch opt {
            case "inter": params.health.inter = ms
            case "fastinter": params.health.fastinter = ms
            default: params.health.downinter = ms
            }
        case "rise", "fall", "error-limit":
            let mustBePositive = opt == "error-limit" ? "error-limit has to be > 0" : "'\(opt)' has to be > 0"
            let digits = value.hasPrefix("-") ? value.dropFirst() : Substring(value)
            guard ValueParsers.isDigits(digits) else {
                error("'\(opt)' expects an integer argument, got '\(value)'", loc)
                return false
            }
            guard !value.hasPrefix("-"), let v = Int(value), v > 0 else {
                if value.hasPrefix("-") || Int(value) == 0 {
                    error(mustBePositive + ", got '\(value)'", loc)
                } else {
                    error("'\(opt)' value '\(value)' is too large", loc)
                }
                return false
            }
            guard v <= Int(Int32.max) else { error("'\(opt)' value '\(value)' is too large", loc); return false }
            switch opt {
            case "rise": params.health.rise = v
            case "fall": params.health.fall = v
            default: params.health.errorLimit = v
            }
        case "observe":
            guard let m = ObserveMode(rawValue: value) else {
                error("'observe' expects one of 'none', 'layer4', 'layer7' but got '\(value)'", loc)
                return false
            }
            if m == .layer7, mode != .http {
                error("'layer7' can only be used in http proxies (add 'mode http' before this line)", loc)
                return false
            }
            params.health.observe = m
        case "on-error":
            guard let a = OnErrorAction(rawValue: value) else {
                error("'on-error' expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '\(value)'", loc)
                return false
            }
            params.health.onError = a
        case "on-marked-down":
            guard value == "shutdown-sessions" else {
                error("'on-marked-down' expects 'shutdown-sessions' but got '\(value)'", loc)
                return false
            }
            params.health.shutdownSessionsOnDown = true
        default:
            return false
        }
        return true
    }

    /// `addr`: an IPv4/IPv6 address (`[v6]` allowed) or a host name resolved now; no port.
    static func checkAddress(_ text: String) throws -> String {
        var host = text
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host != "*" else { throw ConfigError("'addr' expects an IP address, got '\(text)'") }
        if AddressParser.ipv4Bytes(host) == nil, AddressParser.ipv6Bytes(host) == nil, host.contains(":") {
            throw ConfigError("'addr' expects an IP address without a port (use 'port' for the check port), got '\(text)'")
        }
        return try AddressParser.resolveHost(host, family: nil, original: text, resolve: true)
    }
}
