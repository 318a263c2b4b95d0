import BreakwaterConfigModel

/// One `set-param` line while its section is read (its condition is resolved when the section ends).
struct PendingSetParam {
    var name: String
    var value: String
    var condition: PendingCondition?
    var location: SourceLocation
}

/// One `pass-header` line while its section is read.
struct PendingPassHeader {
    var name: String
    var condition: PendingCondition?
    var location: SourceLocation
}

/// An `fcgi-app` section while its lines are read (spec FCGI-3). Nothing comes from `defaults`.
struct FastCGIAppDraft {
    var name: String
    var location: SourceLocation
    /// False when the header line had an error (bad or missing name, duplicate): the body is still
    /// checked, but the app is not registered.
    var register = true
    var docroot: String?
    var index: String?
    var pathInfo: String?
    var setParams: [PendingSetParam] = []
    var passHeaders: [PendingPassHeader] = []
    /// `log-stderr` lines; `global` is expanded in the second pass (a later `global` section still counts).
    var logStderr: [LogEntry] = []
    var keepConn = true
    var mpxsConns = false
    var getValues = false
    var maxReqs = 1
    var maxReqsLocation: SourceLocation?
    /// Private ACLs (FCGI-3 `acl`), usable only in this section's conditions.
    var acls: [String: [ACLTest]] = [:]
    var aclOrder: [String] = []
    /// Built when the section ends (conditions resolved); `logStderr` is filled in by `resolveFastCGI`.
    var config: FastCGIAppConfig?
}

/// `fcgi-app` sections, `use-fcgi-app`, and the FastCGI server checks (spec FCGI-1, FCGI-3, FCGI-5, FCGI-6,
/// SEED-2, SEED-3, SEED-4).
extension ConfigParseSession {
    // MARK: section

    mutating func openFastCGIApp(_ w: [String], _ loc: SourceLocation) {
        section = .fcgiApp
        var app = FastCGIAppDraft(name: w.count > 1 ? w[1] : "", location: loc)
        if w.count < 2 || w[1].isEmpty {
            error("'fcgi-app' expects <name> as an argument", loc)
            app.register = false
        } else if w.count > 2 {
            error("'fcgi-app \(w[1])' takes no argument after the name, got '\(w[2])'", loc)
        }
        if app.register, let bad = Self.badNameCharacter(app.name) {
            error("character '\(bad)' is not permitted in fcgi-app name '\(app.name)'", loc)
            app.register = false
        }
        if app.register {
            if let prev = fcgiAppNames[app.name] {
                error("fcgi-app '\(app.name)' has the same name as another fcgi-app declared at \(prev)", loc)
                app.register = false
            } else {
                fcgiAppNames[app.name] = loc
            }
        }
        currentApp = app
    }

    mutating func closeFastCGIApp() {
        guard var app = currentApp else { return }
        currentApp = nil
        guard let docroot = app.docroot else {
            if !app.name.isEmpty { error("fcgi-app '\(app.name)': no docroot configured", app.location) }
            return
        }
        if app.maxReqs > 1, !app.mpxsConns, !app.getValues {
            insertInFileOrder(Diagnostic(severity: .warning, location: app.maxReqsLocation ?? app.location,
                                         message: "fcgi-app '\(app.name)': multiplexing is off, 'option max-reqs \(app.maxReqs)' "
                                             + "is ignored (forced to 1; add 'option mpxs-conns' or 'option get-values')"))
            app.maxReqs = 1
        }
        var c = FastCGIAppConfig(name: app.name, docroot: docroot, location: app.location)
        c.index = app.index
        c.pathInfoRegex = app.pathInfo
        c.setParams = app.setParams.map {
            FastCGIAppConfig.SetParam(name: $0.name, valueTemplate: $0.value,
                                      condition: resolve($0.condition, acls: app.acls), location: $0.location)
        }
        c.passHeaders = app.passHeaders.map {
            FastCGIAppConfig.PassHeader(name: $0.name, condition: resolve($0.condition, acls: app.acls), location: $0.location)
        }
        c.keepConn = app.keepConn
        c.mpxsConns = app.mpxsConns
        c.getValues = app.getValues
        c.maxReqs = app.maxReqs
        app.config = c
        if app.register { fcgiApps.append(app) }
    }

    // MARK: lines

    mutating func parseFastCGIAppLine(_ w: [String], _ loc: SourceLocation) {
        guard var app = currentApp else { return }
        defer { currentApp = app }
        let kw = w[0]
        switch kw {
        case "docroot", "index", "path-info":
            let what = ["docroot": "<path>", "index": "<filename>", "path-info": "<regex>"][kw]!
            guard w.count >= 2, !w[1].isEmpty else { error("'\(kw)' expects \(what) as an argument", loc); return }
            guard w.count == 2 else { error("'\(kw)' expects one argument, got extra argument '\(w[2])'", loc); return }
            switch kw {
            case "docroot": app.docroot = w[1]
            case "index": app.index = w[1]
            default:
                do {
                    _ = try Regex(w[1])
                } catch {
                    self.error("'path-info': invalid regex '\(w[1])': \(error)", loc)
                    return
                }
                app.pathInfo = w[1]
            }
        case "set-param":
            parseSetParam(w, loc, &app)
        case "pass-header":
            guard w.count >= 2, !w[1].isEmpty else { error("'pass-header' expects <name> as an argument", loc); return }
            guard let name = checkedHeaderName(w[1], loc) else { return }
            let cond = fastCGICondition(w, from: 2, loc, app, display: "pass-header \(name)")
            guard cond.ok else { return }
            app.passHeaders.append(PendingPassHeader(name: name.lowercased(), condition: cond.condition, location: loc))
        case "log-stderr":
            guard w.count >= 2 else { error("'log-stderr' expects 'global' or a target and a facility", loc); return }
            if w[1] == "global" {
                guard w.count == 2 else { error("'log-stderr global' takes no argument, got '\(w[2])'", loc); return }
                app.logStderr.append(.global)
            } else if let t = parseLogTarget(w, loc) {
                app.logStderr.append(.target(t))
            }
        case "option":
            parseFastCGIOption(w, loc, &app, enable: true)
        case "no":
            guard w.count >= 2 else { error("'no' expects 'option' or 'log-stderr'", loc); return }
            if w[1] == "option" {
                parseFastCGIOption(Array(w.dropFirst()), loc, &app, enable: false)
            } else if w[1] == "log-stderr" {
                guard w.count == 2 else { error("'no log-stderr' takes no argument", loc); return }
                app.logStderr = []
            } else {
                error("'no' is only supported before 'option' and 'log-stderr' in 'fcgi-app' section, not '\(w[1])'", loc)
            }
        case "acl":
            parseACLDefinition(w, loc, acls: &app.acls, order: &app.aclOrder, owner: app.name)
        default:
            unknownKeyword(kw, section: "fcgi-app", candidates: UnsupportedKeywords.fcgiAppKeywords, loc)
        }
    }

    /// `set-param NAME VALUE [if|unless COND]` (FCGI-6, SEED-2, SEED-3).
    mutating func parseSetParam(_ w: [String], _ loc: SourceLocation, _ app: inout FastCGIAppDraft) {
        guard w.count >= 3, !w[1].isEmpty else {
            error("'set-param' expects <name> and <value> as arguments", loc)
            return
        }
        let name = w[1], value = w[2]
        let normalized = FastCGIAppConfig.normalizedParamName(name)
        let template: FastCGIValueTemplate
        do {
            template = try FastCGIValueTemplate(value)
        } catch {
            self.error("'set-param \(name)': invalid value '\(value)': \(error.message)", loc)
            return
        }
        let cond = fastCGICondition(w, from: 3, loc, app, display: "set-param \(name)")
        guard cond.ok else { return }
        if value.isEmpty {
            var msg = "'set-param \(name) \"\"': HAProxy rejects an empty set-param value"
            if normalized == "HTTP_PROXY" { msg += "; the Proxy header is already hidden" }
            msg += " (accepted as a Breakwater extension: \(normalized) is never sent)"
            seedWarning(msg, loc)
        } else if template.usesCaptures {
            seedWarning("'set-param \(name) \(value)': HAProxy sends '\\1' literally (set-param values have no regex "
                        + "back-references); Breakwater expands '\\1'…'\\9' to the captures of the 'path-info' regex (a Breakwater extension)", loc)
        }
        app.setParams.append(PendingSetParam(name: name, value: value, condition: cond.condition, location: loc))
    }

    /// The optional `if|unless COND` of a set-param/pass-header rule starting at `w[start]`, against the app's
    /// private ACLs; `ok` is false after an error.
    mutating func fastCGICondition(_ w: [String], from start: Int, _ loc: SourceLocation, _ app: FastCGIAppDraft,
                                   display: String) -> (ok: Bool, condition: PendingCondition?) {
        guard w.count > start else { return (true, nil) }
        guard w[start] == "if" || w[start] == "unless" else {
            error("'\(display)': unexpected argument '\(w[start])' (expected 'if' or 'unless')", loc)
            return (false, nil)
        }
        guard let c = parseCondition(w[start...], loc, acls: app.acls, owner: app.name) else { return (false, nil) }
        return (true, c)
    }

    /// `option X` / `no option X` in an `fcgi-app` section (FCGI-3, FCGI-10); w[0] == "option".
    mutating func parseFastCGIOption(_ w: [String], _ loc: SourceLocation, _ app: inout FastCGIAppDraft, enable: Bool) {
        let prefix = enable ? "" : "no "
        guard w.count >= 2 else { error("'\(prefix)option' expects an option name", loc); return }
        let name = w[1]
        switch name {
        case "keep-conn", "mpxs-conns", "get-values":
            guard w.count == 2 else { error("'\(prefix)option \(name)' takes no argument, got '\(w[2])'", loc); return }
            switch name {
            case "keep-conn": app.keepConn = enable
            case "mpxs-conns": app.mpxsConns = enable
            default: app.getValues = enable
            }
        case "max-reqs":
            guard enable else { error("negation is not supported for option 'max-reqs'", loc); return }
            guard w.count >= 3 else { error("option 'max-reqs' expects an integer argument", loc); return }
            guard w.count == 3 else { error("option 'max-reqs' expects one argument, got extra argument '\(w[3])'", loc); return }
            guard let n = attempt(loc, { try ValueParsers.integer(w[2], keyword: "option max-reqs", range: 0...Int(Int32.max)) }) else { return }
            guard n > 0 else { error("option 'max-reqs' expects a strictly positive integer argument, got '\(w[2])'", loc); return }
            app.maxReqs = n
            app.maxReqsLocation = loc
        default:
            var msg = "unknown option '\(name)' in 'fcgi-app' section"
            if let s = UnsupportedKeywords.suggestion(for: name, among: UnsupportedKeywords.fcgiAppOptions) {
                msg += "; did you mean '\(s)'?"
            }
            error(msg, loc)
        }
    }

    /// `use-fcgi-app NAME` (FCGI-1): backend and listen only, one app per backend. Resolved in the second pass.
    mutating func parseUseFastCGIApp(_ w: [String], _ loc: SourceLocation, _ p: inout ProxyDraft) {
        guard p.kind == .backend || p.kind == .listen else {
            error("'use-fcgi-app' only available in backend or listen section", loc)
            return
        }
        guard w.count >= 2, !w[1].isEmpty else { error("'use-fcgi-app' expects <name> as an argument", loc); return }
        guard expectArgs(w, 1, loc) else { return }
        if let prev = p.fcgiAppName, let at = p.fcgiAppLocation {
            if prev != w[1] {
                error("'use-fcgi-app': only one fcgi-app supported per backend (\(p.sectionDescription) already uses '\(prev)' at \(at))", loc)
            }
            return
        }
        p.fcgiAppName = w[1]
        p.fcgiAppLocation = loc
    }

    // MARK: second pass

    /// Resolves `use-fcgi-app` references and the `log-stderr` targets, then applies the server rules of FCGI-1
    /// and SEED-4 (a FastCGI backend none of whose servers wrote a `proto` gets `proto fcgi` on every server).
    /// Runs before the snapshot is built; diagnostics cite the referencing line.
    mutating func resolveFastCGI() {
        resolvedFastCGIApps = [:]
        for app in fcgiApps {
            guard var c = app.config, resolvedFastCGIApps[app.name] == nil else { continue }
            c.logStderr = logTargets(app.logStderr)
            resolvedFastCGIApps[app.name] = c
        }
        // Names declared by an fcgi-app section that had errors: no "not found" on top of those.
        let declared = Set(fcgiAppNames.keys)
        for i in finished.indices where finished[i].kind.hasBackendCapability {
            let d = finished[i]
            guard let appName = d.fcgiAppName, let at = d.fcgiAppLocation else {
                for s in d.servers where s.proto == .fcgi {
                    error("proxy '\(d.name)': FCGI server '\(s.name)' has no FCGI app configured (add 'use-fcgi-app <name>')",
                          s.location)
                }
                continue
            }
            guard resolvedFastCGIApps[appName] != nil else {
                if !declared.contains(appName) {
                    var msg = "fcgi-app '\(appName)' not found"
                    if let s = UnsupportedKeywords.suggestion(for: appName, among: fcgiApps.map(\.name)) { msg += "; did you mean '\(s)'?" }
                    error(msg, at)
                }
                continue
            }
            if d.mode != .http {
                error("proxy '\(d.name)': FCGI application cannot be used in non-HTTP mode ('use-fcgi-app' needs 'mode http')", at)
                continue
            }
            let noneWritten = d.serverParams.allSatisfy { $0.proto == nil }
            if !d.servers.isEmpty, noneWritten {
                let n = d.servers.count
                let haproxy = "proxy '\(d.name)': FCGI app configured but no FCGI server found"
                let fix = "write 'proto fcgi' on the 'server' lines"
                seedWarning(strict ? "\(haproxy) (\(fix))"
                                : "\(haproxy): HAProxy rejects this; Breakwater treats " + (n == 1 ? "its server" : "all \(n) servers")
                                    + " as 'proto fcgi' (a Breakwater extension; \(fix))", at)
                for j in finished[i].servers.indices { finished[i].servers[j].proto = .fcgi }
            } else if !d.servers.contains(where: { $0.proto == .fcgi }) {
                error("proxy '\(d.name)': FCGI app configured but no FCGI server found (add 'proto fcgi' to its FastCGI servers)", at)
            }
        }
    }
}
