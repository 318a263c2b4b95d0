import BreakwaterConfigModel

/// Words Breakwater does not implement but HAProxy 2.6 knows (generated `HAProxy26Keywords`) are
/// "not supported yet", never "unknown": a missing feature must not read like a typo.
extension ConfigParseSession {
    /// Emits the "not supported yet" error and returns true when `name` is in HAProxy's `table`.
    mutating func rejectHAProxyKeyword(_ display: String, name: String, in table: Set<String>,
                                       _ loc: SourceLocation) -> Bool {
        guard table.contains(name) else { return false }
        error("\(display) is not supported yet (HAProxy 2.6 has it; Breakwater does not implement it)", loc)
        return true
    }

    /// The same for a section keyword, picking HAProxy's table for the section.
    mutating func rejectHAProxySectionKeyword(_ kw: String, section: String, _ loc: SourceLocation) -> Bool {
        switch section {
        case "global": return rejectHAProxyKeyword("'\(kw)'", name: kw, in: HAProxy26Keywords.global, loc)
        case "defaults", "frontend", "backend", "listen":
            return rejectHAProxyKeyword("'\(kw)'", name: kw, in: HAProxy26Keywords.proxy, loc)
        default: return false
        }
    }

    /// A fetch name, with HAProxy's `-m`-suffixed ACL spellings (`url_beg`) and `req.`/`res.` names.
    static func isHAProxyFetch(_ name: String) -> Bool {
        HAProxy26Keywords.fetches.contains(name)
    }
}
