import BreakwaterConfigModel

/// A `telemetry` section while its lines are read.
struct TelemetryDraft {
    var config: TelemetryConfig
    var seen: Set<String> = []
}

/// The `telemetry NAME` section: keywords, their argument forms and their checks.
extension ConfigParseSession {
    static let telemetryKeywords = [
        "bind", "state", "log", "window", "sink", "max-body-size", "max-batch-records", "max-fields",
        "max-key-length", "max-log-size", "max-log-records", "upsert-max-rows", "max-machines",
    ]

    mutating func openTelemetry(_ w: [String], _ loc: SourceLocation) {
        section = .telemetry
        guard w.count >= 2, !w[1].isEmpty else {
            error("'telemetry' expects <name> as an argument", loc)
            currentTelemetry = nil
            return
        }
        if w.count > 2 {
            error("'telemetry \(w[1])' takes only a name; unexpected '\(w[2])'", loc)
        }
        if telemetrySections.contains(where: { $0.name == w[1] }) {
            error("a 'telemetry' section named '\(w[1])' is already declared", loc)
        }
        currentTelemetry = TelemetryDraft(config: TelemetryConfig(name: w[1], location: loc))
    }

    mutating func parseTelemetryLine(_ w: [String], _ loc: SourceLocation) {
        guard var draft = currentTelemetry else { return }
        let kw = w[0]
        guard Self.telemetryKeywords.contains(kw) else {
            var msg = "unknown keyword '\(kw)' in 'telemetry' section"
            if let s = UnsupportedKeywords.suggestion(for: kw, among: Self.telemetryKeywords) {
                msg += "; did you mean '\(s)'?"
            }
            error(msg, loc)
            return
        }
        if draft.seen.contains(kw) {
            error("'\(kw)' is given twice in 'telemetry \(draft.config.name)'", loc)
            return
        }
        draft.seen.insert(kw)
        do {
            try applyTelemetryKeyword(kw, Array(w.dropFirst()), to: &draft.config, loc)
        } catch let e as ConfigError {
            error(e.message, loc)
        } catch {
            self.error("'\(kw)': \(error)", loc)
        }
        currentTelemetry = draft
    }

    private func applyTelemetryKeyword(_ kw: String, _ a: [String], to c: inout TelemetryConfig, _ loc: SourceLocation) throws {
        switch kw {
        case "bind":
            guard a.count == 1 else { throw ConfigError("'bind' expects exactly one <host>:<port> argument") }
            let parsed = try AddressParser.parse(a[0], options: .init(allowUnix: false, defaultPort: nil, resolveHostnames: true))
            guard case .inet(let host, let port) = parsed else { throw ConfigError("'bind' expects <host>:<port>") }
            c.bindHost = host.isEmpty ? "0.0.0.0" : host
            c.bindPort = port
        case "state":
            c.state = try Self.telemetryState(a)
        case "log":
            c.log = try Self.telemetryLog(a)
        case "sink":
            c.sink = try Self.telemetrySink(a)
        case "window":
            guard a.count == 1 else { throw ConfigError("'window' expects one duration (e.g. 60s)") }
            let ms = try ValueParsers.time(a[0], keyword: "window")
            guard ms >= 10 else { throw ConfigError("'window' must be at least 10ms, got '\(a[0])'") }
            c.windowMs = ms
        case "max-body-size":
            c.limits.maxBodyBytes = try Self.telemetrySize(a, kw, minimum: 64)
        case "max-log-size":
            c.limits.maxLogBytes = try Self.telemetrySize(a, kw, minimum: 64 << 10)
        case "max-log-records":
            c.limits.maxLogRecords = try Self.telemetryInt(a, kw, 100...1_000_000_000)
        case "max-batch-records":
            c.limits.maxBatchRecords = try Self.telemetryInt(a, kw, 1...1_000_000)
        case "max-fields":
            c.limits.maxFieldsPerRecord = try Self.telemetryInt(a, kw, 1...1000)
        case "max-key-length":
            c.limits.maxKeyLength = try Self.telemetryInt(a, kw, 1...1024)
        case "upsert-max-rows":
            c.limits.upsertMaxRows = try Self.telemetryInt(a, kw, 1...10_000)
        case "max-machines":
            c.limits.maxMachines = try Self.telemetryInt(a, kw, 1...100_000_000)
        default:
            throw ConfigError("unknown keyword '\(kw)' in 'telemetry' section")
        }
    }

    mutating func closeTelemetry() {
        guard let draft = currentTelemetry else { return }
        currentTelemetry = nil
        let c = draft.config
        let loc = c.location
        for required in ["bind", "log", "sink"] where !draft.seen.contains(required) {
            error("'telemetry \(c.name)' has no '\(required)' line (see docs/telemetry.md)", loc)
        }
        if draft.seen.contains("sink"), c.sink.key == "ts" || c.sink.key == "samples" {
            error("'sink ... key \(c.sink.key)': '\(c.sink.key)' is a column the coalescer writes itself; name the key column otherwise", loc)
        }
        telemetrySections.append(c)
    }

    // MARK: argument forms

    static func telemetryState(_ a: [String]) throws -> TelemetryConfig.State {
        switch a.first {
        case "memory":
            guard a.count == 1 else { throw ConfigError("'state memory' takes no argument; unexpected '\(a[1])'") }
            return .memory
        case "redis":
            guard a.count == 2 || (a.count == 4 && a[2] == "prefix") else {
                throw ConfigError("'state redis' expects <redis://host:port/db> [prefix <prefix>]")
            }
            try checkURL(a[1], scheme: "redis", keyword: "state redis")
            return .redis(url: a[1], prefix: a.count == 4 ? a[3] : "telemetry:")
        default:
            throw ConfigError("'state' expects 'memory' or 'redis <url> [prefix <prefix>]'\(a.first.map { ", got '\($0)'" } ?? "")")
        }
    }

    static func telemetryLog(_ a: [String]) throws -> TelemetryConfig.Log {
        switch a.first {
        case "dir":
            guard a.count == 2, !a[1].isEmpty else { throw ConfigError("'log dir' expects one <path>") }
            return .directory(path: a[1])
        case "redis-stream":
            guard a.count == 6, a[2] == "stream", a[4] == "group" else {
                throw ConfigError("'log redis-stream' expects <redis://host:port/db> stream <name> group <name>")
            }
            try checkURL(a[1], scheme: "redis", keyword: "log redis-stream")
            for (what, name) in [("stream", a[3]), ("group", a[5])] where name.isEmpty || name.contains(where: { $0.isWhitespace || $0.isNewline }) {
                throw ConfigError("'log redis-stream ... \(what)' expects a non-empty name without spaces, got '\(name)'")
            }
            return .redisStream(url: a[1], stream: a[3], group: a[5])
        case "kafka":
            guard a.count == 7, a[1] == "brokers", a[3] == "topic", a[5] == "group" else {
                throw ConfigError("'log kafka' expects brokers <host:port,...> topic <name> group <name>")
            }
            for broker in a[2].split(separator: ",", omittingEmptySubsequences: false) {
                guard let colon = broker.lastIndex(of: ":"), colon != broker.startIndex,
                      let port = Int(broker[broker.index(after: colon)...]), (1...65535).contains(port)
                else { throw ConfigError("'log kafka brokers' expects host:port[,host:port...], got '\(a[2])'") }
            }
            for (what, name) in [("topic", a[4]), ("group", a[6])] where name.isEmpty {
                throw ConfigError("'log kafka ... \(what)' expects a non-empty name")
            }
            return .kafka(brokers: a[2], topic: a[4], group: a[6])
        default:
            throw ConfigError("'log' expects 'dir <path>', 'redis-stream <url> stream <s> group <g>' or 'kafka brokers <b> topic <t> group <g>'\(a.first.map { ", got '\($0)'" } ?? "")")
        }
    }

    static func telemetrySink(_ a: [String]) throws -> TelemetryConfig.Sink {
        guard a.count == 6, a[0] == "sqlite" || a[0] == "mysql", a[2] == "table", a[4] == "key" else {
            throw ConfigError("'sink' expects 'sqlite <path> table <name> key <column>' or 'mysql <url> table <name> key <column>'")
        }
        for (what, name) in [("table", a[3]), ("key", a[5])] where !TelemetryConfig.isColumnName(name) {
            throw ConfigError("'sink ... \(what) \(name)': a \(what) name is letters, digits and '_' (not starting with a digit), at most 64 characters")
        }
        if a[0] == "mysql" {
            try checkURL(a[1], scheme: "mysql", keyword: "sink mysql")
            guard a[1].dropFirst(8).contains("/"), !a[1].hasSuffix("/") else {
                throw ConfigError("'sink mysql' expects mysql://user:password@host:port/database, got '\(a[1])' (no database)")
            }
            return .mysql(url: a[1], table: a[3], key: a[5])
        }
        return .sqlite(path: a[1], table: a[3], key: a[5])
    }

    private static func checkURL(_ url: String, scheme: String, keyword: String) throws {
        guard url.hasPrefix("\(scheme)://"), url.count > scheme.count + 3 else {
            throw ConfigError("'\(keyword)' expects a \(scheme):// URL, got '\(url)'")
        }
    }

    private static func telemetrySize(_ a: [String], _ kw: String, minimum: Int) throws -> Int {
        guard a.count == 1 else { throw ConfigError("'\(kw)' expects one size (e.g. 1m)") }
        let v = try ValueParsers.size(a[0], keyword: kw)
        guard v >= minimum else { throw ConfigError("'\(kw)' must be at least \(minimum) bytes, got '\(a[0])'") }
        return v
    }

    private static func telemetryInt(_ a: [String], _ kw: String, _ range: ClosedRange<Int>) throws -> Int {
        guard a.count == 1 else { throw ConfigError("'\(kw)' expects one integer") }
        return try ValueParsers.integer(a[0], keyword: kw, range: range)
    }
}
