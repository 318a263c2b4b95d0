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
/// Works on the UTF-8 bytes (every statement passes here, so no uppercased copy and no Character walk).
enum MuxStatementClassifier {
    static func pins(for sql: String) -> Set<MuxPinReason> {
        var sql = sql
        return sql.withUTF8 { pins(forUTF8: $0) }
    }

    static func pins(forUTF8 s: UnsafeBufferPointer<UInt8>) -> Set<MuxPinReason> {
        var out: Set<MuxPinReason> = []
        if hasUserVariable(s) { out.insert(.userVariable) }
        if contains(s, "TEMPORARY TABLE") { out.insert(.temporaryTable) }
        if contains(s, "GET_LOCK(") || contains(s, "LOCK TABLE") { out.insert(.lock) }
        if contains(s, "SQL_CALC_FOUND_ROWS") || contains(s, "FOUND_ROWS(") { out.insert(.foundRows) }
        var start = 0
        while start < s.count, [UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "(")].contains(s[start]) {
            start += 1
        }
        let rest = UnsafeBufferPointer(rebasing: s[start...])
        if hasPrefix(rest, "PREPARE ") { out.insert(.preparedStatement) }
        if hasPrefix(rest, "SET ") {
            var i = 4
            while i < rest.count, rest[i] == UInt8(ascii: " ") { i += 1 }
            let isUserVariable = i < rest.count && rest[i] == UInt8(ascii: "@") && !(i + 1 < rest.count && rest[i + 1] == UInt8(ascii: "@"))
            if !isUserVariable || contains(rest, "@@") { out.insert(.sessionVariable) }
        }
        return out
    }

    /// `@name` but not `@@system_variable`, outside quotes.
    static func hasUserVariable(_ s: String) -> Bool {
        var s = s
        return s.withUTF8 { hasUserVariable($0) }
    }

    static func hasUserVariable(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        var quote: UInt8 = 0
        var i = 0
        while i < s.count {
            let c = s[i]
            if quote != 0 {
                if c == quote { quote = 0 }
            } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") || c == UInt8(ascii: "`") {
                quote = c
            } else if c == UInt8(ascii: "@") {
                if i + 1 < s.count, s[i + 1] == UInt8(ascii: "@") {
                    i += 2
                    continue
                }
                if i + 1 < s.count { return true }
            }
            i += 1
        }
        return false
    }

    /// Case-insensitive ASCII search; `needle` is upper case.
    static func contains(_ s: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard s.count >= n else { return false }
        let first = needle.utf8Start[0]
        for i in 0...(s.count - n) where upper(s[i]) == first && matches(s, at: i, needle) { return true }
        return false
    }

    static func hasPrefix(_ s: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        s.count >= needle.utf8CodeUnitCount && matches(s, at: 0, needle)
    }

    private static func matches(_ s: UnsafeBufferPointer<UInt8>, at i: Int, _ needle: StaticString) -> Bool {
        let p = needle.utf8Start
        for k in 0..<needle.utf8CodeUnitCount where upper(s[i + k]) != p[k] { return false }
        return true
    }

    private static func upper(_ c: UInt8) -> UInt8 { c >= 0x61 && c <= 0x7a ? c - 0x20 : c }
}
