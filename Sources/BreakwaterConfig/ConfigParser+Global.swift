import BreakwaterConfigModel

/// The `global` section (spec §2).
extension ConfigParseSession {
    mutating func parseGlobalLine(_ w: [String], _ loc: SourceLocation) {
        let kw = w[0]
        func arg(_ i: Int) -> String? { i < w.count ? w[i] : nil }
        switch kw {
        case "maxconn":
            guard expectArgs(w, 1, loc) else { return }
            if let v = attempt(loc, { try ValueParsers.integer(w[1], keyword: "maxconn", range: 1...Int(Int32.max)) }) {
                global.maxconn = v
            }
        case "nbthread":
            guard expectArgs(w, 1, loc) else { return }
            if let v = attempt(loc, { try ValueParsers.integer(w[1], keyword: "nbthread", range: 1...64) }) {
                global.nbthread = v
            }
        case "log":
            if arg(1) == "global" {
                error("'log global' is only valid in a proxy section, not in 'global'", loc)
                return
            }
            if let t = parseLogTarget(w, loc) { global.logTargets.append(t) }
        case "log-tag":
            guard expectArgs(w, 1, loc) else { return }
            global.logTag = w[1]
        case "log-send-hostname":
            warning("'log-send-hostname' has no effect in breakwater", loc)
        case "pidfile":
            guard expectArgs(w, 1, loc) else { return }
            global.pidfile = w[1]
        case "daemon":
            guard expectArgs(w, 0, loc) else { return }
            global.daemon = true
            warning("'daemon' is not supported: Breakwater stays in the foreground "
                    + "(run it under a service manager, e.g. systemd with Type=simple)", loc)
        case "stats":
            parseGlobalStats(w, loc)
        case "spread-checks":
            guard expectArgs(w, 1, loc) else { return }
            if let v = attempt(loc, { try ValueParsers.integer(w[1], keyword: "spread-checks", range: 0...50) }) {
                global.spreadChecks = v
            }
        case "user", "group", "chroot":
            guard expectArgs(w, 1, loc) else { return }
            warning("'\(kw)' is accepted but has no effect in breakwater", loc)
        case "ulimit-n":
            guard expectArgs(w, 1, loc) else { return }
            if attempt(loc, { try ValueParsers.integer(w[1], keyword: kw, range: 1...Int(Int32.max)) }) != nil {
                warning("'ulimit-n' is accepted but has no effect in breakwater", loc)
            }
        case "tune.ssl.default-dh-param":
            guard expectArgs(w, 1, loc) else { return }
            if let v = attempt(loc, { try ValueParsers.integer(w[1], keyword: kw, range: 1024...Int(Int32.max)) }) {
                // Bounds finite-field DHE (TLS <= 1.2 only); no effect on ECDHE or TLS 1.3 (GLB-3).
                global.tlsDefaults.dhParamBits = v
            }
        case "tune.ssl.lifetime":
            guard expectArgs(w, 1, loc) else { return }
            if let v = attempt(loc, { try ValueParsers.time(w[1], keyword: kw) }) {
                global.tlsDefaults.sessionLifetimeSeconds = max(1, v / 1000)
            }
        case "ssl-default-bind-ciphersuites":
            guard expectArgs(w, 1, loc) else { return }
            global.tlsDefaults.ciphersuites = w[1]
        case "ssl-default-bind-ciphers":
            guard expectArgs(w, 1, loc) else { return }
            global.tlsDefaults.ciphers = w[1]
        case "ssl-default-bind-curves":
            guard expectArgs(w, 1, loc) else { return }
            global.tlsDefaults.curves = w[1]
        case "ssl-default-bind-options":
            guard w.count > 1 else { error("'\(kw)' expects an argument", loc); return }
            var i = 1
            while i < w.count {
                switch w[i] {
                case "ssl-min-ver", "ssl-max-ver":
                    guard i + 1 < w.count, let v = TLSVersion(rawValue: w[i + 1]) else {
                        error("'\(kw) \(w[i])' expects one of TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3", loc)
                        return
                    }
                    if w[i] == "ssl-min-ver" { global.tlsDefaults.minVersion = v } else { global.tlsDefaults.maxVersion = v }
                    i += 2
                case "no-sslv3", "no-tls-tickets", "prefer-client-ciphers":
                    // SSLv3 is never offered; the others are accepted for compatibility.
                    i += 1
                case "no-tlsv10", "no-tlsv11", "no-tlsv12", "no-tlsv13":
                    error("'\(kw) \(w[i])' is not supported; use 'ssl-min-ver'/'ssl-max-ver'", loc)
                    return
                default:
                    error("'\(kw)': unknown option '\(w[i])'", loc)
                    return
                }
            }
        case "tune.bufsize":
            guard expectArgs(w, 1, loc) else { return }
            if let v = attempt(loc, { try ValueParsers.integer(w[1], keyword: kw, range: 1024...Int(Int32.max)) }) {
                global.maxHeaderBytes = v
            }
        case "tune.http.maxhdr":
            guard expectArgs(w, 1, loc) else { return }
            if let v = attempt(loc, { try ValueParsers.integer(w[1], keyword: kw, range: 1...32767) }) {
                global.maxHeaderCount = v
            }
        default:
            if let why = UnsupportedKeywords.globalNotSupported[kw] {
                error("'\(kw)' is not supported \(why)", loc)
            } else {
                unknownKeyword(kw, section: "global", candidates: UnsupportedKeywords.globalKeywords, loc)
            }
        }
    }

    /// `stats socket|timeout|maxconn` in `global` (GLB-4).
    mutating func parseGlobalStats(_ w: [String], _ loc: SourceLocation) {
        guard w.count > 1 else {
            error("'stats' expects 'socket', 'timeout' or 'maxconn'", loc)
            return
        }
        switch w[1] {
        case "socket":
            guard w.count > 2 else {
                error("'stats socket' expects an address (a path, or ipv4@ADDR:PORT)", loc)
                return
            }
            guard let address = attempt(loc, {
                try AddressParser.parse(w[2], options: .init(allowUnix: true, defaultPort: nil, resolveHostnames: false))
            }) else { return }
            var cfg: StatsSocketConfig
            switch address {
            case .unix(let path): cfg = StatsSocketConfig(address: .unix(path: path), location: loc)
            case .inet(let host, let port): cfg = StatsSocketConfig(address: .tcp(host: host, port: port), location: loc)
            }
            var i = 3
            while i < w.count {
                let opt = w[i]
                switch opt {
                case "mode":
                    guard i + 1 < w.count else { error("'mode' expects an octal value", loc); return }
                    guard let m = attempt(loc, { try ValueParsers.octal(w[i + 1], keyword: "mode") }) else { return }
                    cfg.mode = m
                    i += 2
                case "level":
                    let levels: [String: AdminLevel] = ["user": .user, "operator": .operator, "admin": .admin]
                    guard i + 1 < w.count, let l = levels[w[i + 1]] else {
                        error("'level' only supports 'user', 'operator', and 'admin'", loc)
                        return
                    }
                    cfg.level = l
                    i += 2
                case "expose-fd":
                    guard i + 1 < w.count, w[i + 1] == "listeners" else {
                        error("'expose-fd' only supports 'listeners'", loc)
                        return
                    }
                    cfg.exposeFDListeners = true
                    i += 2
                case "uid", "gid", "user", "group", "process", "severity-output":
                    error("stats socket option '\(opt)' is not supported yet", loc)
                    return
                default:
                    unknownKeyword(opt, what: "stats socket option", candidates: ["mode", "level", "uid", "gid", "user", "group", "expose-fd"], loc)
                    return
                }
            }
            global.statsSockets.append(cfg)
        case "timeout":
            guard w.count == 3 else { error("'stats timeout' expects a time value", loc); return }
            if let v = attempt(loc, { try ValueParsers.time(w[2], keyword: "stats timeout") }) {
                if v == 0 { error("'stats timeout' must be greater than 0", loc) } else { global.statsTimeoutMs = v }
            }
        case "maxconn":
            guard w.count == 3 else { error("'stats maxconn' expects an integer", loc); return }
            if let v = attempt(loc, { try ValueParsers.integer(w[2], keyword: "stats maxconn", range: 1...Int(Int32.max)) }) {
                global.statsMaxconn = v
            }
        case "bind-process":
            error("'stats bind-process' is not supported by breakwater", loc)
        default:
            unknownKeyword(w[1], what: "'stats' keyword", candidates: ["socket", "timeout", "maxconn"], loc)
        }
    }

    /// `log TARGET [len N] [format F] [sample R:S] FACILITY [MAX [MIN]]` (GLB-1).
    mutating func parseLogTarget(_ w: [String], _ loc: SourceLocation) -> LogTarget? {
        guard w.count >= 2 else {
            error("'log' expects a target and a facility", loc)
            return nil
        }
        let destination: LogTarget.Destination
        switch w[1] {
        case "stdout", "fd@1": destination = .stdout
        case "stderr", "fd@2": destination = .stderr
        default:
            if w[1].hasPrefix("ring@") {
                error("log target '\(w[1])' is not supported yet (rings)", loc)
                return nil
            }
            guard let a = attempt(loc, {
                try AddressParser.parse(w[1], options: .init(allowUnix: true, defaultPort: 514, resolveHostnames: true))
            }) else { return nil }
            switch a {
            case .unix(let path): destination = .unixDatagram(path: path)
            case .inet(let host, let port): destination = .udp(host: host, port: port)
            }
        }
        var target = LogTarget(destination: destination, facility: 0)
        var i = 2
        while i < w.count {
            switch w[i] {
            case "len":
                guard i + 1 < w.count else { error("'len' expects a length", loc); return nil }
                guard let n = attempt(loc, { try ValueParsers.integer(w[i + 1], keyword: "len", range: 80...65535) }) else { return nil }
                target.maxLength = n
                i += 2
                continue
            case "format":
                guard i + 1 < w.count, let f = LogTarget.Format(rawValue: w[i + 1]) else {
                    let got = i + 1 < w.count ? " '\(w[i + 1])'" : ""
                    error("unknown log format\(got); expected one of " + LogTarget.Format.allCases.map(\.rawValue).joined(separator: ", "), loc)
                    return nil
                }
                target.format = f
                i += 2
                continue
            case "sample":
                error("log 'sample' is not supported yet", loc)
                return nil
            default: break
            }
            break
        }
        guard i < w.count else {
            error("'log' expects a facility after the target", loc)
            return nil
        }
        guard let facility = LogTarget.facilities.firstIndex(of: w[i]) else {
            error("unknown log facility '\(w[i])'", loc)
            return nil
        }
        target.facility = facility
        i += 1
        if i < w.count {
            guard let l = LogTarget.levels.firstIndex(of: w[i]) else { error("unknown log level '\(w[i])'", loc); return nil }
            target.maxLevel = l
            i += 1
        }
        if i < w.count {
            guard let l = LogTarget.levels.firstIndex(of: w[i]) else { error("unknown log level '\(w[i])'", loc); return nil }
            target.minLevel = l
            i += 1
        }
        if i < w.count {
            error("unexpected argument '\(w[i])' after the log levels", loc)
            return nil
        }
        return target
    }

    /// Checks that a keyword has exactly `n` arguments.
    mutating func expectArgs(_ w: [String], _ n: Int, _ loc: SourceLocation, usage: String? = nil) -> Bool {
        if w.count - 1 == n { return true }
        let what = usage ?? (n == 0 ? "no argument" : n == 1 ? "one argument" : "\(n) arguments")
        if w.count - 1 < n {
            error("'\(w[0])' expects \(what)", loc)
        } else {
            error("'\(w[0])' expects \(what), got extra argument '\(w[n + 1])'", loc)
        }
        return false
    }

    mutating func unknownKeyword(_ kw: String, section: String, candidates: [String], _ loc: SourceLocation) {
        if rejectHAProxySectionKeyword(kw, section: section, loc) { return }
        var msg = "unknown keyword '\(kw)' in '\(section)' section"
        if let s = UnsupportedKeywords.suggestion(for: kw, among: candidates) { msg += "; did you mean '\(s)'?" }
        error(msg, loc)
    }

    mutating func unknownKeyword(_ kw: String, what: String, candidates: [String], _ loc: SourceLocation) {
        if what == "bind option",
           rejectHAProxyKeyword("bind option '\(kw)'", name: kw, in: Set(HAProxy26Keywords.bindOptions.keys), loc) {
            return
        }
        var msg = "unknown \(what) '\(kw)'"
        if let s = UnsupportedKeywords.suggestion(for: kw, among: candidates) { msg += "; did you mean '\(s)'?" }
        error(msg, loc)
    }
}
