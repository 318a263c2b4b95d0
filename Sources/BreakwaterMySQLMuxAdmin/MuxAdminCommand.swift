/// What an admin statement is: a ProxySQL LOAD/SAVE command, driver chatter answered locally, or SQL for SQLite.
enum MuxAdminCommand: Equatable {
    enum Target: String { case servers, users, variables }
    case loadToRuntime(Target)
    case saveToDisk(Target)
    case loadFromDisk(Target)
    /// SET NAMES, SET autocommit…: OK.
    case ok
    /// A one-row answer (select @@version_comment limit 1 and friends).
    case row(column: String, value: String?)
    case sql(String)

    static func parse(_ text: String) -> MuxAdminCommand {
        var trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        while trimmed.hasSuffix(";") { trimmed = String(trimmed.dropLast()).trimmingCharacters(in: .whitespaces) }
        let words = trimmed.lowercased().split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init)
        if words.count == 5, words[1] == "mysql", let target = Target(rawValue: words[2]) {
            switch (words[0], words[3], words[4]) {
            case ("load", "to", "runtime"): return .loadToRuntime(target)
            case ("save", "to", "disk"): return .saveToDisk(target)
            case ("load", "from", "disk"): return .loadFromDisk(target)
            case ("save", "from", "runtime"), ("save", "to", "memory"): return .ok  // memory already holds what runtime runs
            default: break
            }
        }
        if words.first == "set" || words.first == "use" || trimmed.isEmpty { return .ok }
        let lower = trimmed.lowercased()
        if lower.hasPrefix("select @@version_comment") { return .row(column: "@@version_comment", value: "Breakwater MySQL mux admin") }
        if lower.hasPrefix("select @@version") { return .row(column: "@@version", value: "10.11.0-Breakwater-admin") }
        if lower.hasPrefix("select database()") { return .row(column: "DATABASE()", value: "main") }
        if lower.hasPrefix("select @@") || lower.hasPrefix("select user()") || lower.hasPrefix("select current_user") {
            return .row(column: String(trimmed.dropFirst(7)), value: nil)
        }
        if lower == "show databases" { return .sql("SELECT 'main' AS name UNION ALL SELECT 'stats' UNION ALL SELECT 'monitor'") }
        if lower == "show tables" { return .sql("SELECT name AS tables FROM sqlite_master WHERE type = 'table' ORDER BY name") }
        return .sql(trimmed)
    }
}

import Foundation
