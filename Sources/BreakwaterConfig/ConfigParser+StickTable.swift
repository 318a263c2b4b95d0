import BreakwaterConfigModel

/// `stick-table` (STK-1, STK-2), `track-sc*` (STK-5, STK-9), `tcp-request connection` (ACT-2),
/// `tarpit` / `silent-drop` / `sc-inc-gpc0` (ACT-1, ACT-2) and the counter fetches (ACL-2, STK-6).
extension ConfigParseSession {
    /// Three tracking slots (HAProxy's default MAX_SESS_STKCTR).
    static let trackingSlots = 3
    /// Upper bound of `len` for string and binary keys.
    static let maxKeyLength = 65_535

    /// HAProxy store types breakwater does not implement (STK-2: "not supported by breakwater").
    static let storeTypesNotSupported: Set<String> = [
        "server_id", "server_key", "server_name", "gpt0", "gpt", "gpc", "gpc_rate", "gpc1", "gpc1_rate",
        "http_fail_cnt", "http_fail_rate", "glitch_cnt", "glitch_rate",
    ]

    // MARK: stick-table

    /// `stick-table type T [len N] size N [expire T] [nopurge] [store a,b(P)]...` (STK-1).
    mutating func parseStickTable(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        if p.kind == .defaults { error("'stick-table' not allowed in 'defaults' section", loc); return }
        if let prev = p.stickTableLocation {
            error("only one stick-table per proxy: \(p.sectionDescription) already declares one at \(prev)", loc)
            return
        }
        // Any later reference to this proxy's table is not reported again if the line is bad.
        p.stickTableLocation = loc
        var keyType: StickTableConfig.KeyType?
        var size: Int?
        var expireMs: Int?
        var nopurge = false
        var stores: [StoreType] = []
        var i = 1
        while i < w.count {
            let kw = w[i]
            let next = i + 1 < w.count ? w[i + 1] : nil
            switch kw {
            case "type":
                guard let t = next else { error("stick-table: missing argument after 'type'", loc); return }
                i += 2
                switch t {
                case "ip": keyType = .ip
                case "ipv6": keyType = .ipv6
                case "integer": keyType = .integer
                case "string", "binary":
                    var len = StickTableConfig.KeyType.defaultLength
                    if i < w.count, w[i] == "len" {
                        guard let n = attempt(loc, {
                            try ValueParsers.integer(i + 1 < w.count ? w[i + 1] : nil, keyword: "stick-table len",
                                                     range: 1...Self.maxKeyLength)
                        }) else { return }
                        len = n
                        i += 2
                    }
                    keyType = t == "string" ? .string(len: len) : .binary(len: len)
                default:
                    var msg = "stick-table: unknown type '\(t)' (expected ip, ipv6, integer, string or binary)"
                    if t == "str" || t == "int" || t == "ipv4" {
                        msg += "; did you mean '\(["str": "string", "int": "integer", "ipv4": "ip"][t]!)'?"
                    }
                    error(msg, loc)
                    return
                }
                continue
            case "len":
                error("stick-table: 'len' is only valid after 'type string' or 'type binary'", loc)
                return
            case "size":
                guard let s = next else { error("stick-table: missing argument after 'size'", loc); return }
                guard let v = attempt(loc, { try ValueParsers.size(s, keyword: "size") }) else { return }
                guard v > 0 else { error("stick-table: invalid size '\(s)' (must be at least 1 entry)", loc); return }
                size = v
                i += 2
            case "expire":
                guard let s = next else { error("stick-table: missing argument after 'expire'", loc); return }
                guard let v = attempt(loc, { try ValueParsers.time(s, keyword: "expire") }) else { return }
                // `expire 0` means no expiry, as in HAProxy.
                expireMs = v == 0 ? nil : v
                i += 2
            case "nopurge":
                nopurge = true
                i += 1
            case "store":
                guard let list = next else { error("stick-table: missing argument after 'store'", loc); return }
                guard parseStoreList(list, loc, into: &stores) else { return }
                i += 2
            case "peers", "srvkey", "write-to", "recv-only":
                error("stick-table option '\(kw)' is not supported by breakwater", loc)
                return
            default:
                unknownKeyword(kw, what: "stick-table argument",
                               candidates: ["type", "size", "expire", "nopurge", "store", "len"], loc)
                return
            }
        }
        var ok = true
        if size == nil { error("stick-table: missing size", loc); ok = false }
        if keyType == nil { error("stick-table: missing type", loc); ok = false }
        guard ok, let keyType, let size else { return }
        p.stickTable = StickTableConfig(keyType: keyType, size: size, expireMs: expireMs, nopurge: nopurge, stores: stores)
    }

    /// `a,b(10s),...` after `store`. Returns false after reporting an error.
    mutating func parseStoreList(_ list: String, _ loc: SourceLocation, into stores: inout [StoreType]) -> Bool {
        for item in Self.splitTopLevel(list) {
            guard !item.isEmpty else {
                error("stick-table: empty store option in '\(list)'", loc)
                return false
            }
            var name = item
            var arg: String?
            if let open = item.firstIndex(of: "(") {
                guard item.hasSuffix(")") else { error("stick-table: missing ')' in store option '\(item)'", loc); return false }
                name = String(item[..<open])
                arg = String(item[item.index(after: open)..<item.index(before: item.endIndex)])
            }
            guard let kind = StoreType.Kind(rawValue: name) else {
                if Self.storeTypesNotSupported.contains(name) {
                    error("stick-table: store option '\(name)' is not supported by breakwater", loc)
                } else {
                    var msg = "stick-table: unknown store option '\(name)'"
                    if let s = UnsupportedKeywords.suggestion(for: name, among: StoreType.Kind.allCases.map(\.rawValue)) {
                        msg += "; did you mean '\(s)'?"
                    }
                    error(msg, loc)
                }
                return false
            }
            var period = 0
            if kind.isRate {
                guard let arg else { error("stick-table: missing argument to store option '\(name)' (e.g. \(name)(10s))", loc); return false }
                guard let ms = attempt(loc, { try ValueParsers.time(arg, keyword: "store option '\(name)'") }) else { return false }
                guard ms > 0 else {
                    error("stick-table: invalid argument to store option '\(name)': the period must not be 0", loc)
                    return false
                }
                period = ms
            } else if let arg {
                error("stick-table: unexpected argument '\(arg)' to store option '\(name)' (only rates take a period)", loc)
                return false
            }
            if stores.contains(where: { $0.kind == kind }) {
                warning("stick-table: store option '\(name)' already enabled, ignored", loc)
                continue
            }
            stores.append(StoreType(kind: kind, periodMs: period))
        }
        return true
    }

    /// Splits on commas outside parentheses (`a(1,2),b` → `a(1,2)`, `b`).
    static func splitTopLevel(_ s: String) -> [String] {
        var out: [String] = []
        var cur = ""
        var depth = 0
        for c in s {
            if c == "(" { depth += 1 }
            if c == ")" { depth = max(0, depth - 1) }
            if c == ",", depth == 0 {
                out.append(cur)
                cur = ""
            } else {
                cur.append(c)
            }
        }
        out.append(cur)
        return out
    }

    // MARK: tracking

    /// `track-scN KEY [table T]` of `http-request` (`tcp == false`) or `tcp-request connection`.
    /// `args` are the words between the action and `if`/`unless`. The table defaults to the proxy's own.
    mutating func parseTrack(_ action: String, _ args: [String], _ loc: SourceLocation, _ p: ProxyDraft,
                             rule: String) -> (slot: Int, key: TrackKey, table: String)? {
        let display = "'\(rule) \(action)'"
        let digits = action.dropFirst("track-sc".count)
        guard ValueParsers.isDigits(digits), let slot = Int(digits) else {
            error("unknown \(rule) action '\(action)' (expected track-sc0, track-sc1 or track-sc2)", loc)
            return nil
        }
        guard slot < Self.trackingSlots else {
            error("\(display): invalid tracking slot \(slot); only track-sc0, track-sc1 and track-sc2 exist", loc)
            return nil
        }
        guard let keyWord = args.first else {
            error("\(display) expects a key fetch (src, hdr(<name>) or req.hdr(<name>))", loc)
            return nil
        }
        guard let key = parseTrackKey(keyWord, display, loc, connectionLevel: rule == "tcp-request connection") else { return nil }
        var table = p.name
        if args.count > 1 {
            guard args[1] == "table" else {
                error("\(display): unexpected argument '\(args[1])' (expected 'table <name>')", loc)
                return nil
            }
            guard args.count > 2, !args[2].isEmpty else { error("\(display): missing table name after 'table'", loc); return nil }
            guard args.count == 3 else {
                error("\(display): unexpected argument '\(args[3])' after 'table \(args[2])'", loc)
                return nil
            }
            table = args[2]
        }
        return (slot, key, table)
    }

    mutating func parseTrackKey(_ word: String, _ display: String, _ loc: SourceLocation, connectionLevel: Bool) -> TrackKey? {
        if Self.splitTopLevel(word).count > 1 {
            error("\(display): converters are not supported yet in tracking keys ('\(word)')", loc)
            return nil
        }
        if word == "src" { return .source }
        var base = word
        var arg: String?
        if let open = word.firstIndex(of: "("), word.hasSuffix(")") {
            base = String(word[..<open])
            arg = String(word[word.index(after: open)..<word.index(before: word.endIndex)])
        }
        guard base == "hdr" || base == "req.hdr" else {
            error("\(display): key fetch '\(word)' is not supported (breakwater tracks src, hdr(<name>) or req.hdr(<name>))", loc)
            return nil
        }
        if connectionLevel {
            error("\(display): key fetch '\(word)' reads the HTTP request, which is not available at connection level (use src)", loc)
            return nil
        }
        guard let name = arg, !name.isEmpty else {
            error("\(display): key fetch '\(base)' requires a header name, e.g. \(base)(x-client)", loc)
            return nil
        }
        if name.contains(",") {
            error("\(display): header occurrence arguments are not supported yet ('\(word)')", loc)
            return nil
        }
        guard let checked = checkedHeaderName(name, loc) else { return nil }
        return .header(checked.lowercased())
    }

    /// `tarpit [deny_status N] [status N]` (ACT-1).
    mutating func parseTarpit(_ args: [String], _ loc: SourceLocation) -> HTTPRequestRule.Action? {
        parseDenyStatus("tarpit", default: 500, range: 200...599, args, loc).map { .tarpit(status: $0) }
    }

    /// `sc-inc-gpc0` (slot 0) or `sc-inc-gpc0(N)`.
    mutating func parseIncrementGPC0(_ action: String, _ args: [String], _ loc: SourceLocation) -> HTTPRequestRule.Action? {
        var slot = 0
        let rest = action.dropFirst("sc-inc-gpc0".count)
        if !rest.isEmpty {
            guard rest.hasPrefix("("), rest.hasSuffix(")"), rest.count > 2,
                  ValueParsers.isDigits(rest.dropFirst().dropLast()), let n = Int(rest.dropFirst().dropLast()) else {
                error("'http-request \(action)': invalid stick counter; expected sc-inc-gpc0(<0..2>)", loc)
                return nil
            }
            guard n < Self.trackingSlots else {
                error("'http-request \(action)': invalid stick counter \(n); the maximum is \(Self.trackingSlots - 1)", loc)
                return nil
            }
            slot = n
        }
        if let extra = args.first {
            error("'http-request \(action)': unexpected argument '\(extra)'", loc)
            return nil
        }
        return .incrementGPC0(slot: slot)
    }

    // MARK: tcp-request

    /// `tcp-request connection reject|track-scN src [table T] [if|unless COND]` (STK-9, ACT-2).
    mutating func parseTCPRequest(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        if p.kind == .defaults { error("'tcp-request' not allowed in 'defaults' section", loc); return }
        guard w.count >= 2 else {
            error("'tcp-request' expects 'connection', 'session', 'content' or 'inspect-delay'", loc)
            return
        }
        guard w[1] == "connection" else {
            if ["session", "content", "inspect-delay"].contains(w[1]) {
                error("'tcp-request \(w[1])' is not supported yet (tcp rules)", loc)
            } else {
                error("unknown 'tcp-request' rule set '\(w[1])' (expected connection, session, content or inspect-delay)", loc)
            }
            return
        }
        guard w.count >= 3 else { error("'tcp-request connection' expects an action (reject or track-sc0)", loc); return }
        let action = w[2]
        let condIndex = w.indices.first { $0 >= 3 && (w[$0] == "if" || w[$0] == "unless") } ?? w.count
        let args = Array(w[3..<condIndex])
        let parsed: TCPConnectionRule.Action
        switch action {
        case "reject":
            if let extra = args.first {
                error("'tcp-request connection reject': unexpected argument '\(extra)'", loc)
                return
            }
            parsed = .reject
        case let a where a.hasPrefix("track-sc"):
            guard let t = parseTrack(a, args, loc, p, rule: "tcp-request connection") else { return }
            parsed = .track(slot: t.slot, table: t.table)
        default:
            let later = ["accept", "expect-proxy", "expect-netscaler-cip", "capture", "sc-inc-gpc0", "sc-inc-gpc1",
                         "sc-set-gpt0", "set-src", "set-src-port", "set-dst", "set-dst-port", "set-mark", "set-tos",
                         "silent-drop", "set-var", "unset-var", "set-var-fmt"]
            if later.contains(action) || action.hasPrefix("sc-inc-gpc") || action.hasPrefix("lua.") {
                error("'tcp-request connection \(action)' is not supported yet (tcp rules)", loc)
            } else if rejectHAProxyKeyword("'tcp-request connection \(action)'", name: action,
                                           in: HAProxy26Keywords.tcpRequestConnectionActions, loc) {
            } else {
                var msg = "unknown tcp-request connection action '\(action)'"
                if let s = UnsupportedKeywords.suggestion(for: action, among: ["reject", "track-sc0", "track-sc1", "track-sc2"] + later) {
                    msg += "; did you mean '\(s)'?"
                }
                error(msg, loc)
            }
            return
        }
        var condition: PendingCondition?
        if condIndex < w.count {
            guard let c = parseCondition(w[condIndex...], loc, p) else { return }
            condition = c
        }
        guard applies("tcp-request connection", p, frontend: true, loc) else { return }
        p.tcpRules.append(PendingTCPRule(action: parsed, condition: condition, location: loc))
    }

    // MARK: counter fetches

    /// Data names of `sc_<data>`, `scN_<data>` and `src_<data>` (ACL-2).
    static let counterFetchData: [String: StoreType.Kind] = [
        "http_req_rate": .httpReqRate, "http_req_cnt": .httpReqCnt, "http_err_rate": .httpErrRate,
        "http_err_cnt": .httpErrCnt, "bytes_out_rate": .bytesOutRate, "bytes_out_cnt": .bytesOutCnt,
        "bytes_in_rate": .bytesInRate, "bytes_in_cnt": .bytesInCnt, "conn_cur": .connCur, "conn_cnt": .connCnt,
        "conn_rate": .connRate, "sess_rate": .sessRate, "sess_cnt": .sessCnt, "gpc0_rate": .gpc0Rate,
        "get_gpc0": .gpc0,
    ]

    /// `sc_<data>(N[,table])`, `scN_<data>([table])`, `src_<data>([table])`, `sc_inc_gpc0(N)`.
    /// Returns nil when `base` is not one of them; throws for bad arguments. `owner` names the proxy
    /// whose table `src_…` reads when it has no argument.
    static func counterFetch(_ base: String, _ arg: String?, owner: String) throws -> SampleFetch? {
        enum Form { case sc, scN(Int), src }
        let form: Form
        let data: Substring
        if base.hasPrefix("sc_") {
            form = .sc
            data = base.dropFirst(3)
        } else if base.count > 4, base.hasPrefix("sc"), let d = Int(String(base.dropFirst(2).prefix(1))),
                  d < trackingSlots, base.dropFirst(3).hasPrefix("_") {
            form = .scN(d)
            data = base.dropFirst(4)
        } else if base.hasPrefix("src_") {
            form = .src
            data = base.dropFirst(4)
        } else {
            return nil
        }
        let isIncrement = data == "inc_gpc0"
        let kind = counterFetchData[String(data)]
        guard isIncrement || kind != nil else { return nil }
        var slot = 0
        var table: String?
        switch form {
        case .sc:
            guard let arg, !arg.isEmpty else {
                throw ConfigError("fetch '\(base)' expects a stick counter number, e.g. \(base)(0)")
            }
            let parts = arg.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard ValueParsers.isDigits(parts[0]), let n = Int(parts[0]), n <= Int(Int32.max) else {
                throw ConfigError("fetch '\(base)': stick counter number must be a non-negative integer, got '\(parts[0])'")
            }
            slot = n
            if parts.count > 2 { throw ConfigError("fetch '\(base)' takes at most 2 arguments (counter and table), got '\(arg)'") }
            if parts.count == 2 {
                guard !parts[1].isEmpty else { throw ConfigError("fetch '\(base)': empty table name") }
                table = parts[1]
            }
        case .scN(let n):
            slot = n
            if let arg {
                guard !arg.isEmpty else { throw ConfigError("fetch '\(base)': empty table name") }
                if arg.contains(",") { throw ConfigError("fetch '\(base)' takes at most 1 argument (table), got '\(arg)'") }
                table = arg
            }
        case .src:
            if isIncrement { throw ConfigError("fetch '\(base)' is not supported yet") }
            if let arg {
                guard !arg.isEmpty else { throw ConfigError("fetch '\(base)': empty table name") }
                if arg.contains(",") { throw ConfigError("fetch '\(base)' takes at most 1 argument (table), got '\(arg)'") }
            }
            return .sourceCounter(data: kind!, table: arg ?? owner)
        }
        if isIncrement {
            if table != nil { throw ConfigError("fetch '\(base)': a table argument is not supported yet") }
            return .stickIncrementGPC0(slot: slot)
        }
        return .stickCounter(slot: slot, data: kind!, table: table)
    }

    // MARK: second pass

    /// Resolves the table references of tracking rules and counter fetches (STK-5, STK-6) and
    /// checks table names. Messages cite the referencing line.
    mutating func validateStickTables() {
        // Name → table. Frontend and backend namespaces are separate in HAProxy, tables share one.
        var tables: [String: (table: StickTableConfig, location: SourceLocation, owner: String)] = [:]
        var declared: Set<String> = []  // including tables whose line had errors
        for d in finished {
            guard let at = d.stickTableLocation else { continue }
            if let prev = tables[d.name] {
                error("stick-table of \(d.sectionDescription) has the same name as the table of \(prev.owner) declared at \(prev.location)", at)
                continue
            }
            declared.insert(d.name)
            if let t = d.stickTable { tables[d.name] = (t, at, d.sectionDescription) }
        }

        var found: [Diagnostic] = []
        func lookup(_ name: String, _ what: String, _ loc: SourceLocation, from d: ProxyDraft) -> StickTableConfig? {
            if let t = tables[name] { return t.table }
            if !declared.contains(name) {
                var message = "unable to find table '\(name)' referenced by \(what)"
                if name == d.name { message += " (\(d.sectionDescription) has no stick-table; name one with 'table <name>')" }
                found.append(Diagnostic(severity: .error, location: loc, message: message))
            }
            return nil
        }

        for d in finished {
            // Tables tracked by each slot in this proxy (to check plain `sc_*(N)` fetches).
            var slotTables: [Int: [StickTableConfig]] = [:]
            for r in d.tcpRules {
                if case .track(let slot, let name) = r.action, let t = lookup(name, "track-sc\(slot)", r.location, from: d) {
                    slotTables[slot, default: []].append(t)
                }
            }
            for r in d.httpRules {
                if case .track(let slot, _, let name) = r.action, let t = lookup(name, "track-sc\(slot)", r.location, from: d) {
                    slotTables[slot, default: []].append(t)
                }
            }
            func checkStored(_ kind: StoreType.Kind, in candidates: [StickTableConfig], tableName: String?,
                             _ what: String, _ loc: SourceLocation) {
                guard !candidates.isEmpty, !candidates.contains(where: { $0.store(of: kind) != nil }) else { return }
                let which = tableName.map { "table '\($0)' does" }
                    ?? "no table tracked on this counter by \(d.sectionDescription) does"
                found.append(Diagnostic(severity: .warning, location: loc,
                                        message: "\(what) reads '\(kind.rawValue)', which \(which) not store: it returns no value (an ACL on it is always false)"))
            }
            func checkTest(_ t: ACLTest) {
                switch t.fetch {
                case .stickCounter(let slot, let data, let table):
                    let what = "fetch '\(t.fetch)'"
                    if let table {
                        if let tc = lookup(table, what, t.location, from: d) { checkStored(data, in: [tc], tableName: table, what, t.location) }
                    } else {
                        checkStored(data, in: slotTables[slot] ?? [], tableName: nil, what, t.location)
                    }
                case .sourceCounter(let data, let table):
                    let what = "fetch '\(t.fetch)'"
                    if let tc = lookup(table, what, t.location, from: d) { checkStored(data, in: [tc], tableName: table, what, t.location) }
                case .stickIncrementGPC0(let slot):
                    checkStored(.gpc0, in: slotTables[slot] ?? [], tableName: nil, "fetch '\(t.fetch)'", t.location)
                default:
                    break
                }
            }
            for name in d.aclOrder { for t in d.acls[name] ?? [] { checkTest(t) } }
            let conditions = d.httpRules.map(\.condition) + d.useBackends.map(\.condition) + d.tcpRules.map(\.condition)
            for c in conditions.compactMap({ $0 }) {
                for term in c.terms { for f in term where f.lookupName == nil { f.tests.forEach(checkTest) } }
            }
            for r in d.httpRules {
                if case .incrementGPC0(let slot) = r.action {
                    checkStored(.gpc0, in: slotTables[slot] ?? [], tableName: nil, "'sc-inc-gpc0(\(slot))'", r.location)
                }
            }
            // At accept there is no HTTP request: ACLs made only of HTTP fetches never match.
            for r in d.tcpRules {
                guard let c = r.condition else { continue }
                for term in c.terms {
                    for f in term {
                        let tests = f.lookupName.flatMap { d.acls[$0] } ?? f.tests
                        let httpOnly = !tests.isEmpty && tests.allSatisfy {
                            switch $0.fetch {
                            case .path, .method, .header: return true
                            default: return false
                            }
                        }
                        if httpOnly {
                            found.append(Diagnostic(severity: .warning, location: r.location,
                                                    message: "acl '\(f.name ?? "{ ... }")' will never match in 'tcp-request connection' because it only involves HTTP request fetches"))
                        }
                    }
                }
            }
        }
        var fileOrder: [String: Int] = [:]
        for d in finished where fileOrder[d.location.file] == nil { fileOrder[d.location.file] = fileOrder.count }
        found = found.enumerated().sorted { a, b in
            let ka = (fileOrder[a.element.location.file] ?? Int.max, a.element.location.line, a.offset)
            let kb = (fileOrder[b.element.location.file] ?? Int.max, b.element.location.line, b.offset)
            return ka < kb
        }.map(\.element)
        var seen: Set<String> = []
        for d in found where seen.insert(d.description).inserted { add(d) }
    }
}
