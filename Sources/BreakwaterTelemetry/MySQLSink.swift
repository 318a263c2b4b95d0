import BreakwaterMySQLWire
import NIOCore

/// `sink mysql mysql://user:password@host:port/db table T key K` through the shared MySQL wire client
/// (BreakwaterMySQLWire). Per window: the table check (DDL, before the transaction since MySQL commits DDL
/// implicitly), then `BEGIN`, `ceil(rows / N)` statements
/// `INSERT INTO t (k, ts, samples, f...) VALUES ... ON DUPLICATE KEY UPDATE f = IF(VALUES(ts) > ts,
/// COALESCE(VALUES(f), f), f), ..., ts = IF(VALUES(ts) > ts, VALUES(ts), ts)` (ts assigned last: MySQL evaluates the
/// assignments left to right), `COMMIT`. Keys travel as hex literals, values as numbers, so no escaping is involved.
final class MySQLSink: TelemetrySink {
    struct Endpoint {
        var host: String
        var port: Int
        var user: String
        var password: String
        var database: String
    }

    let endpoint: Endpoint
    let table: String
    let key: String
    let maxRowsPerStatement: Int
    let group: any EventLoopGroup
    private var connection: MySQLClientConnection?

    init(url: String, table: String, key: String, maxRowsPerStatement: Int, group: any EventLoopGroup) throws {
        guard let e = Self.parse(url) else {
            throw SinkError(description: "sink mysql: cannot read '\(url)' as mysql://user:password@host:port/database")
        }
        endpoint = e
        self.table = table
        self.key = key
        self.maxRowsPerStatement = maxRowsPerStatement
        self.group = group
    }

    static func parse(_ url: String) -> Endpoint? {
        guard url.hasPrefix("mysql://") else { return nil }
        var rest = Substring(url.dropFirst(8))
        var user = "root", password = ""
        if let at = rest.lastIndex(of: "@") {
            let cred = rest[..<at]
            if let colon = cred.firstIndex(of: ":") {
                user = String(cred[..<colon])
                password = String(cred[cred.index(after: colon)...])
            } else {
                user = String(cred)
            }
            rest = rest[rest.index(after: at)...]
        }
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let database = String(rest[rest.index(after: slash)...])
        let hostPort = rest[..<slash]
        var host = hostPort, port = 3306
        if let colon = hostPort.lastIndex(of: ":") {
            guard let p = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(p) else { return nil }
            host = hostPort[..<colon]
            port = p
        }
        guard !host.isEmpty, !database.isEmpty else { return nil }
        return Endpoint(host: String(host), port: port, user: user, password: password, database: database)
    }

    private var place: String { "sink mysql \(endpoint.host):\(endpoint.port)/\(endpoint.database) (table \(table))" }

    func write(_ fold: WindowFold) throws -> Int {
        do {
            let c = try connected()
            let fields = fold.fieldNames.sorted()
            try ensureTable(c, fields: fields)
            _ = try c.query("BEGIN").wait()
            var statements = 0
            do {
                for sql in upsertStatements(fold, fields: fields) {
                    _ = try c.query(sql).wait()
                    statements += 1
                }
                _ = try c.query("COMMIT").wait()
            } catch {
                _ = try? c.query("ROLLBACK").wait()
                throw error
            }
            return statements
        } catch let e as SinkError {
            drop()
            throw e
        } catch {
            drop()
            throw SinkError(description: "\(place): \(error)")
        }
    }

    private func connected() throws -> MySQLClientConnection {
        if let connection, connection.channel.isActive { return connection }
        let address = try SocketAddress.makeAddressResolvingHost(endpoint.host, port: endpoint.port)
        let c = try MySQLClientConnection.connect(
            to: address, user: endpoint.user, password: endpoint.password, database: endpoint.database,
            on: group.next()).wait()
        connection = c
        return c
    }

    private func drop() {
        _ = connection?.close()
        connection = nil
    }

    func upsertStatements(_ fold: WindowFold, fields: [String]) -> [String] {
        let q = Self.quote
        let columns = [key, "ts", "samples"] + fields
        let newer = "VALUES(`ts`) > `ts`"
        let updates = fields.map { "\(q($0)) = IF(\(newer), COALESCE(VALUES(\(q($0))), \(q($0))), \(q($0)))" }
            + ["`samples` = IF(\(newer), VALUES(`samples`), `samples`)", "`ts` = IF(\(newer), VALUES(`ts`), `ts`)"]
        let head = "INSERT INTO \(q(table)) (\(columns.map(q).joined(separator: ", "))) VALUES "
        let tail = " ON DUPLICATE KEY UPDATE " + updates.joined(separator: ", ")
        let rows = fold.sortedRows
        var out: [String] = []
        var start = 0
        while start < rows.count {
            let chunk = rows[start..<min(start + maxRowsPerStatement, rows.count)]
            let tuples = chunk.map { row -> String in
                let hex = row.key.utf8.map { String(format: "%02x", $0) }.joined()
                let values = ["X'\(hex)'", String(row.tsMillis), String(row.samples)]
                    + fields.map { f in row.fields[f].map { "\($0.1.numeric)" } ?? "NULL" }
                return "(" + values.joined(separator: ", ") + ")"
            }
            out.append(head + tuples.joined(separator: ", ") + tail)
            start += chunk.count
        }
        return out
    }

    /// Creates the table (InnoDB, key VARCHAR(768) utf8mb4 primary key) or checks it has the key as primary key and
    /// `ts`; adds a DOUBLE column per new field.
    private func ensureTable(_ c: MySQLClientConnection, fields: [String]) throws {
        let q = Self.quote
        let cols = ["\(q(key)) VARCHAR(768) CHARACTER SET utf8mb4 NOT NULL PRIMARY KEY", "`ts` BIGINT NOT NULL",
                    "`samples` INT NOT NULL DEFAULT 0"] + fields.map { "\(q($0)) DOUBLE NULL" }
        _ = try c.query("CREATE TABLE IF NOT EXISTS \(q(table)) (\(cols.joined(separator: ", "))) ENGINE=InnoDB").wait()
        let shown = try c.query("SHOW COLUMNS FROM \(q(table))").wait()
        var existing: [String: String] = [:]
        for row in shown.rows { if let name = row.first ?? nil { existing[name] = row.count > 3 ? (row[3] ?? "") : "" } }
        guard existing[key] == "PRI", existing.values.filter({ $0 == "PRI" }).count == 1 else {
            throw SinkError(description: "\(place): the table's primary key is not the single column '\(key)' (sink ... key \(key)); fix the table or name the right key")
        }
        guard existing["ts"] != nil else {
            throw SinkError(description: "\(place): the table has no 'ts' column; the coalescer needs it to keep the newest row")
        }
        if existing["samples"] == nil { _ = try c.query("ALTER TABLE \(q(table)) ADD COLUMN `samples` INT NOT NULL DEFAULT 0").wait() }
        let missing = fields.filter { existing[$0] == nil }
        if !missing.isEmpty {
            _ = try c.query("ALTER TABLE \(q(table)) " + missing.map { "ADD COLUMN \(q($0)) DOUBLE NULL" }.joined(separator: ", ")).wait()
        }
    }

    static func quote(_ identifier: String) -> String { "`" + identifier.replacingOccurrences(of: "`", with: "``") + "`" }
}
