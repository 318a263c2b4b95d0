import BreakwaterConfigModel
import Foundation

/// `http-request` rules and `use_backend` (spec FE-3, FE-4, ACT-2).
extension ConfigParseSession {
    static let allowedDenyStatuses: Set<Int> = [
        200, 400, 401, 403, 404, 405, 407, 408, 410, 413, 421, 422, 425, 429, 500, 501, 502, 503, 504,
    ]

    mutating func parseUseBackend(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        if p.kind == .defaults { error("'use_backend' not allowed in 'defaults' section", loc); return }
        guard w.count >= 2 else { error("'use_backend' expects a backend name", loc); return }
        let name = w[1]
        if name.contains("%[") {
            error("dynamic backend names are not supported yet in 'use_backend'", loc)
            return
        }
        var condition: PendingCondition?
        if w.count > 2 {
            guard w[2] == "if" || w[2] == "unless" else {
                error("'use_backend \(name)': unexpected '\(w[2])' (expected 'if' or 'unless')", loc)
                return
            }
            guard let c = parseCondition(w[2...], loc, p) else { return }
            condition = c
        }
        guard applies("use_backend", p, frontend: true, loc) else { return }
        p.useBackends.append(PendingUseBackend(backend: name, condition: condition, location: loc))
    }

    mutating func parseHTTPRequest(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        if p.kind == .defaults { error("'http-request' not allowed in 'defaults' section", loc); return }
        guard w.count >= 2 else { error("'http-request' expects an action", loc); return }
        let action = w[1]
        let condIndex = w.indices.first { $0 >= 2 && (w[$0] == "if" || w[$0] == "unless") } ?? w.count
        let args = Array(w[2..<condIndex])
        let parsedAction: HTTPRequestRule.Action?
        switch action {
        case "return": parsedAction = parseReturn(args, loc)
        case "deny": parsedAction = parseDeny(args, loc)
        case "set-header", "add-header":
            guard args.count == 2 else {
                error("'http-request \(action)' expects <name> and <value> as arguments", loc)
                return
            }
            if let name = checkedHeaderName(args[0], loc),
               let value = attempt(loc, { try Self.literalHeaderValue(args[1]) }) {
                parsedAction = action == "set-header" ? .setHeader(name: name, value: value) : .addHeader(name: name, value: value)
            } else {
                parsedAction = nil
            }
        case "del-header":
            if args.count == 3, args[1] == "-m" {
                error("'http-request del-header' with '-m' is not supported yet", loc)
                return
            }
            guard args.count == 1 else { error("'http-request del-header' expects <name> as argument", loc); return }
            parsedAction = checkedHeaderName(args[0], loc).map { .delHeader(name: $0) }
        case "use-service":
            guard let service = args.first else {
                error("'http-request use-service' expects a service name (e.g. 'prometheus-exporter')", loc)
                return
            }
            guard service == "prometheus-exporter" else {
                error("'http-request use-service': unknown service '\(service)' (breakwater provides 'prometheus-exporter')", loc)
                return
            }
            guard args.count == 1 else {
                error("'http-request use-service prometheus-exporter': unexpected argument '\(args[1])'", loc)
                return
            }
            guard p.kind.hasFrontendCapability else {
                error("'http-request use-service prometheus-exporter' is only supported in a frontend or listen section", loc)
                return
            }
            parsedAction = .prometheusExporter
        case let a where a.hasPrefix("track-sc"):
            guard let t = parseTrack(a, args, loc, p, rule: "http-request") else { return }
            parsedAction = .track(slot: t.slot, key: t.key, table: t.table)
        case "tarpit":
            parsedAction = parseTarpit(args, loc)
        case "silent-drop":
            if let extra = args.first {
                error("'http-request silent-drop': unexpected argument '\(extra)'", loc)
                return
            }
            parsedAction = .silentDrop
        case let a where a == "sc-inc-gpc0" || a.hasPrefix("sc-inc-gpc0("):
            parsedAction = parseIncrementGPC0(a, args, loc)
        default:
            let baseAction = action.firstIndex(of: "(").map { String(action[..<$0]) } ?? action
            if let why = UnsupportedKeywords.httpRequestActionsNotSupportedYet[baseAction] {
                error("'http-request \(baseAction)' is not supported yet (\(why))", loc)
            } else if UnsupportedKeywords.httpRequestActionsNotSupported.contains(action) {
                error("http-request action '\(action)' is not supported by breakwater", loc)
            } else if rejectHAProxyKeyword("'http-request \(baseAction)'", name: baseAction,
                                           in: HAProxy26Keywords.httpRequestActions, loc) {
            } else {
                var msg = "unknown http-request action '\(action)'"
                let all = UnsupportedKeywords.httpRequestActions + UnsupportedKeywords.httpRequestActionsNotSupportedYet.keys.sorted()
                if let s = UnsupportedKeywords.suggestion(for: action, among: all) { msg += "; did you mean '\(s)'?" }
                error(msg, loc)
            }
            return
        }
        var condition: PendingCondition?
        if condIndex < w.count {
            guard let c = parseCondition(w[condIndex...], loc, p) else { return }
            condition = c
        }
        guard let parsedAction else { return }
        if p.kind.hasFrontendCapability, !p.useBackends.isEmpty {
            warning("a 'http-request' rule placed after a 'use_backend' rule will still be processed before", loc)
        }
        p.httpRules.append(PendingHTTPRule(action: parsedAction, condition: condition, location: loc))
    }

    /// `return [status N] [content-type T] [string S | file F]`.
    mutating func parseReturn(_ args: [String], _ loc: SourceLocation) -> HTTPRequestRule.Action? {
        var status = 200
        var contentType: String?
        var body: [UInt8]?
        var i = 0
        while i < args.count {
            let a = args[i]
            let next = i + 1 < args.count ? args[i + 1] : nil
            switch a {
            case "status":
                guard let s = attempt(loc, { try ValueParsers.integer(next, keyword: "status", range: 200...599) }) else { return nil }
                status = s
            case "content-type":
                guard let next else { error("'content-type' expects a value", loc); return nil }
                contentType = next
            case "string", "file":
                guard let next else { error("'\(a)' expects a value", loc); return nil }
                if body != nil { error("'http-request return' accepts only one of 'string' or 'file'", loc); return nil }
                if a == "string" {
                    body = Array(next.utf8)
                } else {
                    guard let data = FileManager.default.contents(atPath: next) else {
                        error("'http-request return': failed to read file '\(next)'", loc)
                        return nil
                    }
                    body = [UInt8](data)
                }
            case "lf-string", "lf-file", "hdr":
                error("'http-request return \(a)' is not supported yet (log-format)", loc)
                return nil
            case "errorfile", "errorfiles", "default-errorfiles":
                error("'http-request return \(a)' is not supported by breakwater", loc)
                return nil
            default:
                error("'http-request return': unexpected argument '\(a)' (expected status, content-type, string or file)", loc)
                return nil
            }
            i += 2
        }
        if let body, !body.isEmpty, contentType == nil {
            error("'http-request return': a 'content-type' is required with a non-empty 'string' or 'file'", loc)
            return nil
        }
        if (status == 204 || status == 304), let body, !body.isEmpty {
            error("'http-request return': status \(status) cannot have a body", loc)
            return nil
        }
        return .returnResponse(status: status, contentType: contentType, body: body ?? [])
    }

    /// `deny [deny_status N]`.
    mutating func parseDeny(_ args: [String], _ loc: SourceLocation) -> HTTPRequestRule.Action? {
        parseDenyStatus("deny", default: 403, range: 100...599, args, loc).map { .deny(status: $0) }
    }

    /// The arguments shared by `deny` and `tarpit`: `[deny_status N | status N]`, where N must have a
    /// built-in page (ACT-1); response-shaping options are not supported yet.
    mutating func parseDenyStatus(_ action: String, default defaultStatus: Int, range: ClosedRange<Int>, _ args: [String],
                                  _ loc: SourceLocation) -> Int? {
        var status = defaultStatus
        var i = 0
        while i < args.count {
            let a = args[i]
            switch a {
            case "deny_status", "status":
                guard let s = attempt(loc, {
                    try ValueParsers.integer(i + 1 < args.count ? args[i + 1] : nil, keyword: a, range: range)
                }) else { return nil }
                guard Self.allowedDenyStatuses.contains(s) else {
                    error("'http-request \(action)': status code '\(s)' not handled by default (not supported; use one of "
                          + Self.allowedDenyStatuses.sorted().map(String.init).joined(separator: " ") + ")", loc)
                    return nil
                }
                status = s
                i += 2
            case "content-type", "string", "file", "lf-string", "lf-file", "hdr", "errorfile", "errorfiles",
                 "default-errorfiles":
                error("'http-request \(action) \(a)' is not supported yet", loc)
                return nil
            default:
                error("'http-request \(action)': unexpected argument '\(a)' (expected 'deny_status <code>')", loc)
                return nil
            }
        }
        return status
    }

    mutating func checkedHeaderName(_ name: String, _ loc: SourceLocation) -> String? {
        let tchar = Set("!#$%&'*+-.^_`|~".utf8)
        let ok = !name.isEmpty && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || tchar.contains(c)
        }
        if !ok { error("invalid header name '\(name)'", loc); return nil }
        return name
    }

    /// Header values are literal text: `%%` is `%`; any other `%` starts a log-format expression.
    static func literalHeaderValue(_ s: String) throws -> String {
        guard s.contains("%") else { return s }
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            if c == "%" {
                guard it.next() == "%" else {
                    throw ConfigError("log-format expressions in header values are not supported yet ('\(s)'; write '%%' for a literal '%')")
                }
                out.append("%")
            } else {
                out.append(c)
            }
        }
        return out
    }
}
