import BreakwaterConfigModel

/// `server` and `default-server` lines (spec BE-1).
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
            try AddressParser.parse(w[2], options: .init(allowUnix: false, defaultPort: nil, resolveHostnames: true))
        }
        let params = parseServerParams(w, from: 3, base: p.defaultServer, keyword: "server", loc)
        guard ok, let params, case .inet(let host, let port)? = address else { return }
        var s = ServerConfig(name: name, host: host, port: port, location: loc)
        s.weight = params.weight
        s.maxconn = params.maxconn
        s.maxqueue = params.maxqueue
        s.disabled = params.disabled
        s.backup = params.backup
        p.servers.append(s)
    }

    mutating func parseDefaultServer(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        guard let params = parseServerParams(w, from: 1, base: p.defaultServer, keyword: "default-server", loc) else { return }
        if applies("default-server", p, backend: true, loc) { p.defaultServer = params }
    }

    /// Parses `weight`, `maxconn`, `maxqueue`, `disabled`, `enabled`, `backup`; rejects the parameters of later
    /// issues with one "not supported yet" error per line. Returns nil on any error.
    mutating func parseServerParams(_ w: [String], from start: Int, base: ServerParams, keyword: String,
                                    _ loc: SourceLocation) -> ServerParams? {
        var params = base
        var ok = true
        var notYet: [String] = []
        var i = start
        while i < w.count {
            let opt = w[i]
            func value() -> String? { i + 1 < w.count ? w[i + 1] : nil }
            switch opt {
            case "weight", "maxconn", "maxqueue":
                let range = opt == "weight" ? 0...256 : opt == "maxconn" ? 1...Int(Int32.max) : 0...Int(Int32.max)
                guard let v = attempt(loc, { try ValueParsers.integer(value(), keyword: opt, range: range) }) else {
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
            default:
                if let n = UnsupportedKeywords.serverParamsNotSupportedYet[opt] {
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
                  + "(health checks, FastCGI and TLS to servers come with later issues)", loc)
            ok = false
        }
        return ok ? params : nil
    }
}
