import BreakwaterConfigModel

/// Second pass: cross references and whole-configuration checks (spec CFG-5, FE-4, PRX-1, PRX-6).
extension ConfigParseSession {
    mutating func validate(_ snapshot: ConfigSnapshot) {
        var backendsByName: [String: ProxyDraft] = [:]
        var frontendOnly: Set<String> = []
        for d in finished {
            if d.kind.hasBackendCapability {
                if backendsByName[d.name] == nil { backendsByName[d.name] = d }
            } else {
                frontendOnly.insert(d.name)
            }
        }

        var expectWarned: Set<SourceLocation> = []
        for d in finished {
            if d.kind.hasBackendCapability, d.checkKind == .tcp, d.httpCheckExpectStatus != nil,
               let at = d.httpCheckExpectLocation, expectWarned.insert(at).inserted {
                warning("'http-check expect' has no effect without 'option httpchk' (\(d.sectionDescription) uses layer-4 checks)", at)
            }
            if d.mode == .tcp && !d.hasFailedMode {
                let at = d.modeLocation ?? d.location
                let why = d.modeLocation == nil ? " (tcp is the built-in default; add 'mode http')" : ""
                if d.kind.hasFrontendCapability {
                    error("\(d.sectionDescription): mode tcp is not supported yet\(why)", at)
                } else if !d.servers.isEmpty {
                    error("\(d.sectionDescription) has servers: mode tcp is not supported yet\(why)", at)
                }
            }

            if d.kind.hasFrontendCapability {
                if d.binds.isEmpty && !d.hasFailedBind {
                    warning("\(d.sectionDescription) has no 'bind' directive; declare it as a backend if this was intended", d.location)
                }
                func check(_ target: String, _ keyword: String, _ loc: SourceLocation) -> (String, SourceLocation)? {
                    guard let be = backendsByName[target] else {
                        if frontendOnly.contains(target) {
                            return ("\(keyword) '\(target)': frontend '\(target)' has no backend capability", loc)
                        }
                        return ("unable to find required \(keyword): '\(target)'", loc)
                    }
                    if d.mode == .http && be.mode != .http {
                        return ("http \(d.kind.rawValue) '\(d.name)' tries to use incompatible tcp backend '\(target)'", loc)
                    }
                    if be.stickTableLocation != nil, be.servers.isEmpty, be.kind == .backend {
                        warning("\(keyword) '\(target)': backend '\(target)' only holds a stick-table and has no server; "
                                + "requests routed to it get 503", loc)
                    }
                    return nil
                }
                for ub in d.useBackends {
                    if let (m, l) = check(ub.backend, "use_backend", ub.location) { error(m, l) }
                }
                if let db = d.defaultBackend {
                    if let (m, l) = check(db, "default_backend", d.defaultBackendLocation ?? d.location) { error(m, l) }
                }
            }

            if d.mode == .http {
                var missing: [String] = []
                if d.kind.hasFrontendCapability, d.timeouts.client == nil { missing.append("timeout client") }
                if d.carriesBackendTraffic {
                    if d.timeouts.connect == nil { missing.append("timeout connect") }
                    if d.timeouts.server == nil { missing.append("timeout server") }
                }
                if !missing.isEmpty {
                    warning("missing timeouts for \(d.sectionDescription): add "
                            + missing.map { "'\($0)'" }.joined(separator: ", ")
                            + " (while not invalid, this will cause problems)", d.location)
                }
            }
        }

        validateStickTables()

        // Only for an otherwise valid configuration: an unreadable file or a bad bind line already
        // explains why nothing listens.
        if !snapshot.hasAnyListener && !hadUnreadableFile && errorCount == 0 {
            warning("no enabled listener found (no frontend or listen section with a 'bind'); "
                    + "'breakwater proxy' and 'breakwater check' refuse such a configuration",
                    SourceLocation(file: firstFile ?? "config", line: 0))
        }
    }
}
