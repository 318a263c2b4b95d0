/// Why a client session holds on to its backend connection instead of returning it after each statement.
public enum MuxPinReason: String, Sendable, Hashable, CaseIterable, Comparable {
    case transaction
    case userVariable = "user_variable"
    case temporaryTable = "temporary_table"
    case lock
    case foundRows = "found_rows"
    case lastInsertID = "last_insert_id"
    case preparedStatement = "prepared_statement"
    case multiplexingOff = "multiplexing_off"
    /// SET NAMES, sql_mode, time_zone, autocommit…: pinned until replay on a borrowed connection exists.
    case sessionVariable = "session_variable"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Reads a statement's text for session-bound effects. Conservative: a false positive only costs multiplexing.
enum MuxStatementClassifier {
    static func pins(for sql: String) -> Set<MuxPinReason> {
        let s = sql.uppercased()
        var out: Set<MuxPinReason> = []
        if hasUserVariable(s) { out.insert(.userVariable) }
        if s.contains("TEMPORARY TABLE") { out.insert(.temporaryTable) }
        if s.contains("GET_LOCK(") || s.contains("LOCK TABLE") { out.insert(.lock) }
        if s.contains("SQL_CALC_FOUND_ROWS") || s.contains("FOUND_ROWS(") { out.insert(.foundRows) }
        let trimmed = s.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "(" }
        if trimmed.hasPrefix("PREPARE ") { out.insert(.preparedStatement) }
        if trimmed.hasPrefix("SET "), !trimmed.dropFirst(4).drop(while: { $0 == " " }).hasPrefix("@") || trimmed.contains("@@") {
            out.insert(.sessionVariable)
        }
        return out
    }

    /// `@name` but not `@@system_variable`, outside quotes.
    static func hasUserVariable(_ s: String) -> Bool {
        var quote: Character? = nil
        var previous: Character = " "
        var chars = s.makeIterator()
        while let c = chars.next() {
            if let q = quote {
                if c == q { quote = nil }
            } else if c == "'" || c == "\"" || c == "`" {
                quote = c
            } else if c == "@" && previous != "@" {
                if let next = chars.next() {
                    if next != "@" { return true }
                    previous = next
                    continue
                }
            }
            previous = c
        }
        return false
    }
}
