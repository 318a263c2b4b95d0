import GRDB

/// Where the coalescer writes a window. Called on the coalescer's thread only; it may block.
protocol TelemetrySink: AnyObject {
    /// Writes the fold as bulk upserts in one transaction; returns how many INSERT statements it sent.
    func write(_ fold: WindowFold) throws -> Int
}

/// A readable sink failure (path and reason), retried by the coalescer.
struct SinkError: Error, CustomStringConvertible {
    var description: String
}

/// `sink sqlite PATH table T key K` through GRDB: one transaction per window holding the table check (created from
/// the key and the fields seen, columns added for new fields) and `ceil(rows / N)` statements of the form
/// `INSERT INTO t (k, ts, samples, f...) VALUES (...),(...) ON CONFLICT(k) DO UPDATE SET f = COALESCE(excluded.f, f),
/// ..., samples = excluded.samples, ts = excluded.ts WHERE excluded.ts > t.ts`: a row only moves forward in time,
/// so replaying a window after a crash changes nothing.
final class SQLiteSink: TelemetrySink {
    let path: String
    let table: String
    let key: String
    let maxRowsPerStatement: Int
    private var queue: DatabaseQueue?
    /// Called with each statement's SQL (tests count them).
    var onStatement: ((String) -> Void)?

    /// SQLite's default bound-parameter limit (SQLITE_MAX_VARIABLE_NUMBER since 3.32).
    static let maxVariables = 32_766

    init(path: String, table: String, key: String, maxRowsPerStatement: Int) {
        self.path = path
        self.table = table
        self.key = key
        self.maxRowsPerStatement = maxRowsPerStatement
    }

    func write(_ fold: WindowFold) throws -> Int {
        do {
            let db = try openQueue()
            return try db.write { db in try upsert(fold, db) }
        } catch let e as DatabaseError {
            queue = nil
            throw SinkError(description: "sqlite sink \(path) (table \(table)): \(e.message ?? "SQLite error \(e.resultCode)")")
        }
    }

    private func openQueue() throws -> DatabaseQueue {
        if let queue { return queue }
        var config = Configuration()
        config.busyMode = .timeout(5)
        let q = try DatabaseQueue(path: path, configuration: config)
        queue = q
        return q
    }

    private func upsert(_ fold: WindowFold, _ db: Database) throws -> Int {
        let fields = fold.fieldNames.sorted()
        try ensureTable(db, fields: fields)
        let columns = [key, "ts", "samples"] + fields
        let rowsPerStatement = max(1, min(maxRowsPerStatement, Self.maxVariables / columns.count))
        let q = Self.quote
        let t = q(table)
        let updates = fields.map { "\(q($0)) = COALESCE(excluded.\(q($0)), \(t).\(q($0)))" }
            + ["\"samples\" = excluded.\"samples\"", "\"ts\" = excluded.\"ts\""]
        let head = "INSERT INTO \(t) (\(columns.map(q).joined(separator: ", "))) VALUES "
        let tail = " ON CONFLICT(\(q(key))) DO UPDATE SET \(updates.joined(separator: ", ")) WHERE excluded.\"ts\" > \(t).\"ts\""
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var statements = 0
        let rows = fold.sortedRows
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.count)]
            var values: [(any DatabaseValueConvertible)?] = []
            values.reserveCapacity(chunk.count * columns.count)
            for row in chunk {
                values.append(row.key)
                values.append(row.tsMillis)
                values.append(row.samples)
                for f in fields { values.append(row.fields[f].map { $0.1.numeric }) }
            }
            let sql = head + Array(repeating: tuple, count: chunk.count).joined(separator: ", ") + tail
            onStatement?(sql)
            try db.execute(sql: sql, arguments: StatementArguments(values))
            statements += 1
            start += chunk.count
        }
        return statements
    }

    /// Creates the table from the key and the fields, or checks it has the key as its primary key and `ts`, and adds
    /// a column for every field it lacks.
    private func ensureTable(_ db: Database, fields: [String]) throws {
        let q = Self.quote
        let info = try Row.fetchAll(db, sql: "PRAGMA table_info(\(q(table)))")
        if info.isEmpty {
            let cols = ["\(q(key)) TEXT PRIMARY KEY NOT NULL", "\"ts\" INTEGER NOT NULL", "\"samples\" INTEGER NOT NULL"]
                + fields.map { "\(q($0)) NUMERIC" }
            try db.execute(sql: "CREATE TABLE \(q(table)) (\(cols.joined(separator: ", ")))")
            return
        }
        var existing: [String: Int] = [:]
        for row in info {
            let name: String = row["name"]
            existing[name] = row["pk"]
        }
        guard existing[key] == 1, info.filter({ ($0["pk"] as Int) > 0 }).count == 1 else {
            throw SinkError(description: "sqlite sink \(path): table \(table) exists but its primary key is not the single column '\(key)' (sink ... key \(key)); fix the table or name the right key")
        }
        guard existing["ts"] != nil else {
            throw SinkError(description: "sqlite sink \(path): table \(table) exists without a 'ts' column; the coalescer needs it to keep the newest row")
        }
        if existing["samples"] == nil {
            try db.execute(sql: "ALTER TABLE \(q(table)) ADD COLUMN \"samples\" INTEGER NOT NULL DEFAULT 0")
        }
        for f in fields where existing[f] == nil {
            try db.execute(sql: "ALTER TABLE \(q(table)) ADD COLUMN \(q(f)) NUMERIC")
        }
    }

    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
