/// Session variables set with `SET` that Breakwater tracks per client session and per backend connection, so
/// a borrowed connection is brought to the client's state with one combined SET instead of pinning the client
/// (ProxySQL's way). Assignments are kept in the order they were made, the value text as the client wrote it.
struct MuxSessionVariables: Equatable, Sendable {
    struct Assignment: Equatable, Sendable {
        /// Lower-cased variable name; `names` and `character set` for the two charset statements.
        var name: String
        /// The value text as written (`'+01:00'`, `utf8mb4 COLLATE utf8mb4_bin`, `DEFAULT`…).
        var value: String

        var sql: String { name == "names" || name == "character set" ? "\(name.uppercased()) \(value)" : "\(name) = \(value)" }
    }

    private(set) var assignments: [Assignment] = []

    var isEmpty: Bool { assignments.isEmpty }

    /// What a fresh backend connection has: the mux logs in with utf8mb4_general_ci (collation 45).
    static let baselineCharset = Assignment(name: "names", value: "utf8mb4 COLLATE utf8mb4_general_ci")

    /// Variables one `SET NAMES` / `SET CHARACTER SET` overrides.
    static let charsetGroup: Set<String> = [
        "names", "character set", "character_set_client", "character_set_connection", "character_set_results",
        "collation_connection",
    ]

    mutating func apply(_ new: [Assignment]) {
        for a in new {
            if a.name == "names" || a.name == "character set" {
                assignments.removeAll { Self.charsetGroup.contains($0.name) }
            } else {
                assignments.removeAll { $0.name == a.name }
            }
            assignments.append(a)
        }
    }

    /// The SET statement that turns a backend connection in state `backend` into this state, or nil if they match.
    /// Variables only the backend has go back to their defaults (the server's global value, as on a fresh connection).
    func replayStatement(from backend: MuxSessionVariables) -> String? {
        guard backend != self else { return nil }
        var parts: [String] = []
        let charset = assignments.filter { Self.charsetGroup.contains($0.name) }
        let backendCharset = backend.assignments.filter { Self.charsetGroup.contains($0.name) }
        if charset != backendCharset {
            if !backendCharset.isEmpty { parts.append(Self.baselineCharset.sql) }
            parts += charset.map(\.sql)
        }
        let mine = Dictionary(assignments.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        for a in backend.assignments where !Self.charsetGroup.contains(a.name) && mine[a.name] == nil {
            parts.append("\(a.name) = DEFAULT")
        }
        let theirs = Dictionary(backend.assignments.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        for a in assignments where !Self.charsetGroup.contains(a.name) && theirs[a.name] != a.value {
            parts.append(a.sql)
        }
        return parts.isEmpty ? nil : "SET " + parts.joined(separator: ", ")
    }
}

/// Reads a `SET` statement: replayable session assignments, or something that must pin the session.
enum MuxSetStatement: Equatable {
    /// Every assignment is a whitelisted session variable (or NAMES / CHARACTER SET).
    case replayable([MuxSessionVariables.Assignment])
    /// A SET Breakwater cannot replay safely (autocommit, GLOBAL, SET TRANSACTION, an unknown variable…).
    case pins
    /// Not a SET of system variables (user variables are classified elsewhere).
    case other

    /// Session variables that are safe to replay, after ProxySQL's tracked list. `autocommit` is absent on purpose:
    /// it is transaction state and keeps its own handling.
    static let whitelist: Set<String> = [
        "sql_mode", "time_zone", "character_set_client", "character_set_connection", "character_set_results",
        "character_set_database", "collation_connection", "sql_auto_is_null", "sql_select_limit", "sql_safe_updates",
        "sql_big_selects", "sql_quote_show_create", "sql_notes", "sql_warnings", "net_read_timeout", "net_write_timeout",
        "max_join_size", "group_concat_max_len", "foreign_key_checks", "unique_checks", "innodb_lock_wait_timeout",
        "innodb_strict_mode", "lc_time_names", "lc_messages", "long_query_time", "optimizer_switch",
        "optimizer_search_depth", "optimizer_prune_level", "max_execution_time", "max_statement_time", "max_sort_length",
        "sort_buffer_size", "join_buffer_size", "tmp_table_size", "max_heap_table_size", "div_precision_increment",
        "transaction_isolation", "tx_isolation", "transaction_read_only", "tx_read_only", "default_storage_engine",
        "default_tmp_storage_engine", "auto_increment_increment", "auto_increment_offset", "big_tables",
        "query_cache_type", "session_track_gtids", "wsrep_sync_wait",
    ]

    static func parse(_ sql: String) -> MuxSetStatement {
        var text = Substring(sql).drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        while let last = text.last, last == ";" || last == " " || last == "\n" || last == "\t" || last == "\r" { text = text.dropLast() }
        guard text.count > 4, text.prefix(4).uppercased() == "SET ", !text.contains("/*") else { return .other }
        let items = splitTopLevel(text.dropFirst(4))
        if items.contains(where: { $0.hasPrefix("@") && !$0.hasPrefix("@@") }) { return .other }
        var out: [MuxSessionVariables.Assignment] = []
        for item in items {
            guard let a = assignment(item) else { return .pins }
            out.append(a)
        }
        return out.isEmpty ? .pins : .replayable(out)
    }

    private static func assignment(_ item: Substring) -> MuxSessionVariables.Assignment? {
        let upper = item.uppercased()
        for (prefix, name) in [("NAMES ", "names"), ("CHARACTER SET ", "character set"), ("CHARSET ", "character set")]
        where upper.hasPrefix(prefix) {
            let value = item.dropFirst(prefix.count).trimmingSpaces
            // One charset name, optionally with COLLATE; DEFAULT is the server's, not what the mux logged in with.
            guard !value.isEmpty, value.uppercased() != "DEFAULT", value.allSatisfy({ $0.isLetter || $0.isNumber || " _'\"`".contains($0) })
            else { return nil }
            return .init(name: name, value: value)
        }
        guard let eq = item.firstIndex(where: { $0 == "=" }) else { return nil }
        var name = item[..<eq].trimmingSpaces.lowercased()
        if name.hasSuffix(":") { name.removeLast() }
        for prefix in ["session ", "local ", "@@session.", "@@local.", "@@"] where name.hasPrefix(prefix) {
            name = String(name.dropFirst(prefix.count)).trimmingSpaces
            break
        }
        var value = item[item.index(after: eq)...].trimmingSpaces
        if value.hasPrefix("=") { value = String(value.dropFirst()).trimmingSpaces }  // `:=` was split at its '='
        guard whitelist.contains(name), !value.isEmpty, !value.contains("@") else { return nil }
        return .init(name: name, value: value)
    }

    /// Splits at commas outside quotes and parentheses.
    private static func splitTopLevel(_ s: Substring) -> [Substring] {
        var parts: [Substring] = []
        var depth = 0
        var quote: Character?
        var start = s.startIndex
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            if let q = quote {
                if c == "\\" { i = s.index(after: i); if i == s.endIndex { break } } else if c == q { quote = nil }
            } else if c == "'" || c == "\"" || c == "`" {
                quote = c
            } else if c == "(" {
                depth += 1
            } else if c == ")" {
                depth -= 1
            } else if c == ",", depth == 0 {
                parts.append(s[start..<i].trimmingSpacesSubstring)
                start = s.index(after: i)
            }
            i = s.index(after: i)
        }
        parts.append(s[start...].trimmingSpacesSubstring)
        return parts.filter { !$0.isEmpty }
    }
}

extension StringProtocol {
    fileprivate var trimmingSpacesSubstring: Substring {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return s
    }

    fileprivate var trimmingSpaces: String { String(trimmingSpacesSubstring) }
}
