import BreakwaterConfigModel

/// A `mysql-mux` section while its lines are read.
struct MySQLMuxDraft {
    var config: MySQLMuxConfig
}

/// The `mysql-mux NAME` section.
extension ConfigParseSession {
    static let mysqlMuxKeywords = ["bind", "admin", "state-file", "server", "user", "max-client-connections", "multiplexing"]

    mutating func openMySQLMux(_ w: [String], _ loc: SourceLocation) {
        section = .mysqlMux
        guard w.count >= 2, !w[1].isEmpty else {
            error("'mysql-mux' expects <name> as an argument", loc)
            currentMux = nil
            return
        }
        if mysqlMuxes.contains(where: { $0.name == w[1] }) {
            error("'mysql-mux \(w[1])' is already defined", loc)
        }
        currentMux = MySQLMuxDraft(config: MySQLMuxConfig(name: w[1], location: loc))
    }

    mutating func parseMySQLMuxLine(_ w: [String], _ loc: SourceLocation) {
        guard currentMux != nil else { return }
        do {
            switch w[0] {
            case "bind":
                guard w.count == 2 else { throw ConfigError("'bind' expects exactly one <address:port>") }
                currentMux!.config.bind = try muxEndpoint(w[1], keyword: "bind")
            case "admin":
                currentMux!.config.admin = try muxAdmin(w)
            case "state-file":
                guard w.count == 2, !w[1].isEmpty else { throw ConfigError("'state-file' expects exactly one <path>") }
                currentMux!.config.stateFile = w[1]
            case "server":
                let server = try muxServer(w, loc)
                if currentMux!.config.servers.contains(where: { $0.name == server.name }) {
                    throw ConfigError("'server \(server.name)' is already defined in this section")
                }
                currentMux!.config.servers.append(server)
            case "user":
                let user = try muxUser(w, loc)
                if currentMux!.config.users.contains(where: { $0.name == user.name }) {
                    throw ConfigError("'user \(user.name)' is already defined in this section")
                }
                currentMux!.config.users.append(user)
            case "max-client-connections":
                guard w.count == 2 else { throw ConfigError("'max-client-connections' expects exactly one integer") }
                currentMux!.config.maxClientConnections = try ValueParsers.integer(
                    w[1], keyword: "max-client-connections", range: 1...1_000_000)
            case "multiplexing":
                guard w.count == 2, w[1] == "on" || w[1] == "off" else {
                    throw ConfigError("'multiplexing' expects 'on' or 'off'")
                }
                currentMux!.config.multiplexing = w[1] == "on"
            default:
                var message = "unknown keyword '\(w[0])' in 'mysql-mux' section"
                if let s = UnsupportedKeywords.suggestion(for: w[0], among: Self.mysqlMuxKeywords) {
                    message += "; did you mean '\(s)'?"
                }
                throw ConfigError(message)
            }
        } catch let e as ConfigError {
            error(e.message, loc)
        } catch {
            self.error("'\(w[0])': \(error)", loc)
        }
    }

    mutating func closeMySQLMux() {
        guard let draft = currentMux else { return }
        currentMux = nil
        if draft.config.bind == nil {
            error("'mysql-mux \(draft.config.name)' needs a 'bind <address:port>' line", draft.config.location)
        }
        if draft.config.admin == nil {
            error("'mysql-mux \(draft.config.name)' needs an 'admin bind <address:port> user <name> password <pw>' line",
                  draft.config.location)
        }
        mysqlMuxes.append(draft.config)
    }

    private func muxEndpoint(_ text: String, keyword: String) throws -> MySQLMuxConfig.Endpoint {
        let parsed: ParsedAddress
        do {
            parsed = try AddressParser.parse(text, options: .init(allowUnix: false, defaultPort: nil, resolveHostnames: false))
        } catch let e as ConfigError {
            throw ConfigError("'\(keyword)': \(e.message) (expected <address:port>)")
        }
        switch parsed {
        case .inet(let host, let port):
            guard (1...65535).contains(port) else { throw ConfigError("'\(keyword)' port must be 1-65535, got '\(text)'") }
            return .init(host: host.isEmpty ? "0.0.0.0" : host, port: port)
        case .unix:
            throw ConfigError("'\(keyword)' expects <address:port>, got '\(text)'")
        }
    }

    /// `admin bind ADDR:PORT user NAME password PW`
    private func muxAdmin(_ w: [String]) throws -> MySQLMuxConfig.Admin {
        let pairs = try keywordPairs(Array(w.dropFirst()), directive: "admin", allowed: ["bind", "user", "password"])
        guard let bind = pairs["bind"], let user = pairs["user"], let password = pairs["password"] else {
            throw ConfigError("'admin' expects 'bind <address:port> user <name> password <password>'")
        }
        return .init(bind: try muxEndpoint(bind, keyword: "admin bind"), user: user, password: password)
    }

    /// `server NAME HOST:PORT hostgroup N max-connections N [weight N]`
    private func muxServer(_ w: [String], _ loc: SourceLocation) throws -> MySQLMuxConfig.Server {
        guard w.count >= 3 else {
            throw ConfigError("'server' expects '<name> <address:port> hostgroup <n> max-connections <n>'")
        }
        let endpoint = try muxEndpoint(w[2], keyword: "server \(w[1])")
        let pairs = try keywordPairs(Array(w.dropFirst(3)), directive: "server",
                                     allowed: ["hostgroup", "max-connections", "weight"])
        let hostgroup = try ValueParsers.integer(pairs["hostgroup"] ?? "0", keyword: "hostgroup", range: 0...2_147_483_647)
        let maxConnections = try ValueParsers.integer(pairs["max-connections"] ?? "1000", keyword: "max-connections",
                                                      range: 1...100_000)
        let weight = try ValueParsers.integer(pairs["weight"] ?? "1", keyword: "weight", range: 0...10_000_000)
        return .init(name: w[1], host: endpoint.host, port: endpoint.port, hostgroup: hostgroup,
                     maxConnections: maxConnections, weight: weight, location: loc)
    }

    /// `user NAME password PW default-hostgroup N [max-connections N]`
    private func muxUser(_ w: [String], _ loc: SourceLocation) throws -> MySQLMuxConfig.User {
        guard w.count >= 2, !w[1].isEmpty else {
            throw ConfigError("'user' expects '<name> password <password> default-hostgroup <n>'")
        }
        let pairs = try keywordPairs(Array(w.dropFirst(2)), directive: "user",
                                     allowed: ["password", "default-hostgroup", "max-connections"])
        guard let password = pairs["password"] else { throw ConfigError("'user \(w[1])' needs 'password <password>'") }
        let hostgroup = try ValueParsers.integer(pairs["default-hostgroup"] ?? "0", keyword: "default-hostgroup",
                                                 range: 0...2_147_483_647)
        let maxConnections = try ValueParsers.integer(pairs["max-connections"] ?? "10000", keyword: "max-connections",
                                                      range: 1...1_000_000)
        return .init(name: w[1], password: password, defaultHostgroup: hostgroup, maxConnections: maxConnections,
                     location: loc)
    }

    /// `key value key value …` with each key at most once and only from `allowed`.
    private func keywordPairs(_ words: [String], directive: String, allowed: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        var i = 0
        while i < words.count {
            let key = words[i]
            guard allowed.contains(key) else {
                var message = "'\(directive)': unknown option '\(key)' (expected one of \(allowed.joined(separator: ", ")))"
                if let s = UnsupportedKeywords.suggestion(for: key, among: allowed) { message += "; did you mean '\(s)'?" }
                throw ConfigError(message)
            }
            guard i + 1 < words.count else { throw ConfigError("'\(directive)': option '\(key)' expects a value") }
            guard out[key] == nil else { throw ConfigError("'\(directive)': option '\(key)' given twice") }
            out[key] = words[i + 1]
            i += 2
        }
        return out
    }
}
