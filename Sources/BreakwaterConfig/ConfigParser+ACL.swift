import BreakwaterConfigModel

/// `acl` lines, anonymous ACLs and `if|unless` conditions (spec ACL-1 … ACL-5).
extension ConfigParseSession {
    mutating func parseACLLine(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        if p.kind == .defaults { error("'acl' not allowed in 'defaults' section", loc); return }
        parseACLDefinition(w, loc, acls: &p.acls, order: &p.aclOrder, owner: p.name)
    }

    /// An `acl NAME CRITERION...` line adding to `acls` (a proxy's, or an fcgi-app's private ACLs).
    mutating func parseACLDefinition(_ w: [String], _ loc: SourceLocation, acls: inout [String: [ACLTest]],
                                     order: inout [String], owner: String) {
        guard w.count >= 3 else { error("'acl' expects <name> and <criterion> as arguments", loc); return }
        let name = w[1]
        if let bad = Self.badNameCharacter(name) {
            error("character '\(bad)' is not permitted in acl name '\(name)'", loc)
            return
        }
        if name == "or" {
            error("acl name 'or' is forbidden (it is the OR operator of conditions)", loc)
            return
        }
        guard let test = parseACLTest(Array(w.dropFirst(2)), loc, display: "acl '\(name)'", owner: owner) else { return }
        if acls[name] == nil { order.append(name) }
        acls[name, default: []].append(test)
    }

    /// `FETCH [flags] [op] VALUE...` — the body of an `acl` line or of `{ ... }`. `owner` is the proxy
    /// whose table `src_<data>` reads when it names none.
    mutating func parseACLTest(_ w: [String], _ loc: SourceLocation, display: String, owner: String) -> ACLTest? {
        guard let fetchWord = w.first else { error("\(display): missing fetch method", loc); return nil }
        // A comma outside the fetch's parentheses starts a converter.
        if Self.splitTopLevel(fetchWord).count > 1 {
            error("\(display): converters are not supported yet ('\(fetchWord)')", loc)
            return nil
        }
        // Split `name(args)`.
        var base = fetchWord
        var arg: String?
        if let open = fetchWord.firstIndex(of: "(") {
            guard fetchWord.hasSuffix(")") else {
                error("\(display): missing ')' in fetch '\(fetchWord)'", loc)
                return nil
            }
            base = String(fetchWord[..<open])
            arg = String(fetchWord[fetchWord.index(after: open)..<fetchWord.index(before: fetchWord.endIndex)])
        }
        enum Kind { case str, ip, bool, int }
        let fetch: SampleFetch
        var method: MatchMethod
        let kind: Kind
        switch base {
        case "path", "path_beg", "path_end", "path_sub", "path_reg":
            fetch = .path
            kind = .str
            method = [
                "path": .str, "path_beg": .beg, "path_end": .end, "path_sub": .sub, "path_reg": .reg,
            ][base]!
        case "hdr", "req.hdr", "hdr_beg", "hdr_end", "hdr_sub", "hdr_reg":
            guard let a = arg, !a.isEmpty else {
                error("\(display): fetch '\(base)' requires a header name, e.g. \(base)(host)", loc)
                return nil
            }
            if a.contains(",") {
                error("\(display): header occurrence arguments are not supported yet ('\(fetchWord)')", loc)
                return nil
            }
            fetch = .header(a.lowercased())
            kind = .str
            method = ["hdr": .str, "req.hdr": .str, "hdr_beg": .beg, "hdr_end": .end, "hdr_sub": .sub, "hdr_reg": .reg][base]!
        case "method":
            fetch = .method
            kind = .str
            method = .str
        case "src":
            fetch = .src
            kind = .ip
            method = .ip
        case "always_true", "always_false":
            fetch = base == "always_true" ? .alwaysTrue : .alwaysFalse
            kind = .bool
            method = .bool
        case "ssl_fc", "ssl_fc_is_resumed":
            fetch = .tls(base == "ssl_fc" ? .active : .resumed)
            kind = .bool
            method = .bool
        case "ssl_fc_sni", "req.ssl_sni", "ssl_fc_protocol":
            fetch = .tls(base == "ssl_fc_protocol" ? .proto : .sni)
            kind = .str
            method = .str
        default:
            guard let counter = attempt(loc, { () throws -> SampleFetch? in
                do { return try Self.counterFetch(base, arg, owner: owner) } catch let e as ConfigError {
                    throw ConfigError("\(display): \(e.message)")
                }
            }) else { return nil }
            if let f = counter {
                fetch = f
                kind = .int
                method = .int
                break
            }
            if UnsupportedKeywords.fetchNotSupportedYet(base) || Self.isHAProxyFetch(base) {
                error("\(display): fetch '\(base)' is not supported yet", loc)
            } else {
                var msg = "\(display): unknown fetch method '\(base)'"
                let known = ["path", "path_beg", "path_end", "path_sub", "path_reg", "hdr", "req.hdr", "hdr_beg",
                             "hdr_end", "hdr_sub", "hdr_reg", "method", "src", "always_true", "always_false",
                             "ssl_fc", "ssl_fc_sni", "ssl_fc_protocol", "ssl_fc_is_resumed", "req.ssl_sni"]
                if let s = UnsupportedKeywords.suggestion(for: base, among: known) { msg += "; did you mean '\(s)'?" }
                error(msg, loc)
            }
            return nil
        }
        if arg != nil, kind == .ip || kind == .bool || fetch == .path || fetch == .method {
            error("\(display): fetch '\(base)' takes no argument", loc)
            return nil
        }

        // Flags.
        var caseInsensitive = false
        var endOfFlags = false
        var i = 1
        while i < w.count, !endOfFlags, w[i].hasPrefix("-"), w[i].count > 1 {
            let flag = w[i]
            switch flag {
            case "-i": caseInsensitive = true
            case "-n": break
            case "--": endOfFlags = true
            case "-m":
                guard i + 1 < w.count else { error("\(display): '-m' expects a matching method", loc); return nil }
                let m = w[i + 1]
                guard let mm = MatchMethod(rawValue: m) else {
                    if ["len", "dom", "dir"].contains(m) {
                        error("\(display): matching method '-m \(m)' is not supported yet", loc)
                    } else {
                        error("\(display): unknown matching method '\(m)' (expected bool, int, str, beg, end, sub, reg, found or ip)", loc)
                    }
                    return nil
                }
                let allowed: Set<MatchMethod>
                switch kind {
                case .str: allowed = [.str, .beg, .end, .sub, .reg, .found, .int]
                case .ip: allowed = [.ip, .found]
                case .bool: allowed = [.bool]
                case .int: allowed = [.int, .found, .bool]
                }
                guard allowed.contains(mm) else {
                    error("\(display): matching method '-m \(m)' cannot be used with fetch '\(base)'", loc)
                    return nil
                }
                method = mm
                i += 1
            case "-f", "-M", "-u":
                error("\(display): ACL flag '\(flag)' is not supported yet", loc)
                return nil
            default:
                if method == .int, ValueParsers.isDigits(flag.dropFirst()) { endOfFlags = true; continue }
                error("\(display): unknown ACL flag '\(flag)'", loc)
                return nil
            }
            i += 1
        }
        let values = Array(w[i...])
        var test = ACLTest(fetch: fetch, method: method, caseInsensitive: caseInsensitive, location: loc)
        switch method {
        case .str, .beg, .end, .sub:
            test.strings = values
        case .reg:
            for v in values {
                do {
                    _ = try Regex(caseInsensitive ? "(?i)" + v : v)
                } catch {
                    self.error("\(display): invalid regex '\(v)': \(error)", loc)
                    return nil
                }
            }
            test.strings = values
        case .int:
            guard let ints = attempt(loc, { try Self.integerPatterns(values) }) else { return nil }
            test.integers = ints
        case .ip:
            var addrs: [IPPattern] = []
            for v in values {
                guard let a = attempt(loc, { try AddressParser.ipPattern(v) }) else { return nil }
                addrs.append(a)
            }
            test.addresses = addrs
        case .found, .bool:
            if !values.isEmpty {
                error("\(display): fetch '\(base)' with matching method '\(method.rawValue)' takes no pattern, got '\(values[0])'", loc)
                return nil
            }
        }
        if values.isEmpty, ![.found, .bool].contains(method), !endOfFlags {
            warning("\(display) will never match because it has no pattern (use '--' to silence this warning)", loc)
        }
        return test
    }

    /// ACL-3: `eq|ge|gt|le|lt VALUE`, bare VALUE (eq), ranges `a:b`, `a:`, `:b`.
    static func integerPatterns(_ values: [String]) throws -> [IntegerPattern] {
        func number(_ s: Substring) throws -> Int64 {
            let digits = s.hasPrefix("-") ? s.dropFirst() : s
            guard ValueParsers.isDigits(digits), let v = Int64(s) else {
                throw ConfigError("'\(s)' is neither a number nor a supported operator")
            }
            return v
        }
        var out: [IntegerPattern] = []
        var op: String?
        for v in values {
            if ["eq", "ge", "gt", "le", "lt"].contains(v) {
                if let op { throw ConfigError("missing value after operator '\(op)'") }
                op = v
                continue
            }
            if let o = op {
                let n = try number(Substring(v))
                switch o {
                case "eq": out.append(.eq(n))
                case "ge": out.append(.ge(n))
                case "gt": out.append(.gt(n))
                case "le": out.append(.le(n))
                default: out.append(.lt(n))
                }
                op = nil
            } else if let colon = v.firstIndex(of: ":") {
                let lo = v[..<colon], hi = v[v.index(after: colon)...]
                if lo.isEmpty && hi.isEmpty { throw ConfigError("'\(v)' is neither a number nor a supported operator") }
                out.append(.range(lo.isEmpty ? nil : try number(lo), hi.isEmpty ? nil : try number(hi)))
            } else {
                out.append(.eq(try number(Substring(v))))
            }
        }
        if let op { throw ConfigError("missing value after operator '\(op)'") }
        return out
    }

    /// Parses `if|unless COND` (w[0] is `if` or `unless`).
    mutating func parseCondition(_ w: ArraySlice<String>, _ loc: SourceLocation, _ p: ProxyDraft) -> PendingCondition? {
        parseCondition(w, loc, acls: p.acls, owner: p.name)
    }

    /// Parses `if|unless COND` against the named ACLs `acls`; `owner` names the default stick table.
    mutating func parseCondition(_ w: ArraySlice<String>, _ loc: SourceLocation, acls: [String: [ACLTest]],
                                 owner: String) -> PendingCondition? {
        guard let first = w.first, let polarity = RuleCondition.Polarity(rawValue: first) else { return nil }
        let rest = Array(w.dropFirst())
        if rest.isEmpty {
            error("missing condition after '\(first)'", loc)
            return nil
        }
        var terms: [[PendingFactor]] = [[]]
        var i = 0
        while i < rest.count {
            var tok = rest[i]
            if tok == "||" || tok == "or" {
                if terms[terms.count - 1].isEmpty {
                    error("missing ACL before '\(tok)' in condition", loc)
                    return nil
                }
                terms.append([])
                i += 1
                continue
            }
            var negated = false
            while tok.hasPrefix("!") {
                negated.toggle()
                if tok == "!" {
                    i += 1
                    guard i < rest.count else { error("missing ACL after '!' in condition", loc); return nil }
                    tok = rest[i]
                } else {
                    tok.removeFirst()
                }
            }
            if tok == "{" {
                var close: Int?
                var j = i + 1
                while j < rest.count {
                    if rest[j] == "{" { error("unbalanced braces in condition: nested '{'", loc); return nil }
                    if rest[j] == "}" { close = j; break }
                    j += 1
                }
                guard let close else { error("unbalanced braces in condition: missing closing '}'", loc); return nil }
                let inner = Array(rest[(i + 1)..<close])
                guard !inner.isEmpty else { error("empty anonymous ACL '{ }' in condition", loc); return nil }
                guard let test = parseACLTest(inner, loc, display: "anonymous acl", owner: owner) else { return nil }
                terms[terms.count - 1].append(PendingFactor(negated: negated, name: nil, lookupName: nil, tests: [test]))
                i = close + 1
                continue
            }
            if tok == "}" { error("unbalanced braces in condition: unexpected '}'", loc); return nil }
            if tok.hasPrefix("{") || tok.hasSuffix("}") {
                error("'{' and '}' must be separated by spaces in condition ('\(tok)')", loc)
                return nil
            }
            if tok.isEmpty { error("missing ACL name in condition", loc); return nil }
            if acls[tok] != nil {
                terms[terms.count - 1].append(PendingFactor(negated: negated, name: tok, lookupName: tok, tests: []))
            } else if let tests = Self.builtinACL(tok, loc) {
                terms[terms.count - 1].append(PendingFactor(negated: negated, name: tok, lookupName: nil, tests: tests))
            } else {
                error("no such ACL : '\(tok)'", loc)
                return nil
            }
            i += 1
        }
        if terms[terms.count - 1].isEmpty {
            error("missing ACL after '||' in condition", loc)
            return nil
        }
        return PendingCondition(polarity: polarity, terms: terms)
    }

    /// HAProxy's predefined ACLs that map onto supported fetches.
    static func builtinACL(_ name: String, _ loc: SourceLocation) -> [ACLTest]? {
        switch name {
        case "TRUE": return [ACLTest(fetch: .alwaysTrue, method: .bool, location: loc)]
        case "FALSE": return [ACLTest(fetch: .alwaysFalse, method: .bool, location: loc)]
        case "HTTP": return [ACLTest(fetch: .alwaysTrue, method: .bool, location: loc)]
        case "LOCALHOST":
            return [ACLTest(fetch: .src, method: .ip, addresses: [
                IPPattern(address: [127, 0, 0, 0], prefixLength: 8),
                IPPattern(address: [UInt8](repeating: 0, count: 15) + [1], prefixLength: 128),
            ], location: loc)]
        case "METH_GET": return [ACLTest(fetch: .method, method: .str, strings: ["GET", "HEAD"], location: loc)]
        case "METH_CONNECT", "METH_DELETE", "METH_HEAD", "METH_OPTIONS", "METH_POST", "METH_PUT", "METH_TRACE":
            return [ACLTest(fetch: .method, method: .str, strings: [String(name.dropFirst(5))], location: loc)]
        default: return nil
        }
    }
}
