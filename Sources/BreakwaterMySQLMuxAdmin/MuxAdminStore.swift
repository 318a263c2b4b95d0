import BreakwaterConfigModel
import BreakwaterMySQLMux
import Dispatch
import Foundation
import GRDB
import NIOCore

/// The admin tables in SQLite (GRDB): a memory database edited by SQL and, with a state file, a disk copy.
/// Every call runs on the store's own serial queue, never on an event loop.
public final class MuxAdminStore: @unchecked Sendable {
    private let memory: DatabaseQueue
    private let disk: DatabaseQueue?
    private let queue = DispatchQueue(label: "breakwater.mysql-mux.admin")

    /// Opens the tables. Without a state file or with `initial`, or when the file does not exist yet,
    /// the config's servers, users and settings fill them (and the file); otherwise the file wins.
    public init(config: MySQLMuxConfig, initial: Bool) throws {
        memory = try DatabaseQueue()
        // ProxySQL's monitor tables live in a schema of their own: `monitor.mysql_server_ping_log`.
        try memory.writeWithoutTransaction { db in try db.execute(sql: "ATTACH DATABASE ':memory:' AS monitor") }
        var loadFromDisk = false
        if let path = config.stateFile {
            let existed = FileManager.default.fileExists(atPath: path)
            if initial, existed { try FileManager.default.removeItem(atPath: path) }
            do {
                disk = try DatabaseQueue(path: path)
            } catch {
                throw MuxAdminError("cannot open the state file \(path): \(error); check the directory exists and is writable")
            }
            loadFromDisk = existed && !initial
        } else {
            disk = nil
        }
        try memory.write { db in
            for sql in MuxAdminSchema.configTables + MuxAdminSchema.statsTables { try db.execute(sql: sql) }
        }
        try disk?.write { db in for sql in MuxAdminSchema.configTables { try db.execute(sql: sql) } }
        if loadFromDisk {
            for table in MuxAdminSchema.tableNames.values { try copy(table, from: disk!, to: memory) }
        } else {
            try memory.write { db in
                for (name, value) in MuxAdminSchema.defaultVariables {
                    try db.execute(sql: "INSERT OR REPLACE INTO global_variables VALUES (?, ?)", arguments: [name, value])
                }
                try db.execute(sql: "UPDATE global_variables SET variable_value = ? WHERE variable_name = 'mysql-max_connections'",
                               arguments: ["\(config.maxClientConnections)"])
                try db.execute(sql: "UPDATE global_variables SET variable_value = ? WHERE variable_name = 'mysql-multiplexing'",
                               arguments: [config.multiplexing ? "true" : "false"])
                for s in config.servers {
                    try db.execute(sql: "INSERT OR REPLACE INTO mysql_servers (hostgroup_id, hostname, port, weight, max_connections, comment) VALUES (?, ?, ?, ?, ?, ?)",
                                   arguments: [s.hostgroup, s.host, s.port, s.weight, s.maxConnections, s.name])
                }
                for u in config.users {
                    try db.execute(sql: "INSERT OR REPLACE INTO mysql_users (username, password, default_hostgroup, max_connections) VALUES (?, ?, ?, ?)",
                                   arguments: [u.name, u.password, u.defaultHostgroup, u.maxConnections])
                }
            }
            if let disk { for table in MuxAdminSchema.tableNames.values { try copy(table, from: memory, to: disk) } }
        }
    }

    private func copy(_ table: String, from: DatabaseQueue, to: DatabaseQueue) throws {
        let rows = try from.read { db in try Row.fetchAll(db, sql: "SELECT * FROM \(table)") }
        try to.write { db in
            try db.execute(sql: "DELETE FROM \(table)")
            for row in rows {
                let columns = Array(row.columnNames)
                let marks = columns.map { _ in "?" }.joined(separator: ",")
                try db.execute(sql: "INSERT INTO \(table) (\(columns.joined(separator: ","))) VALUES (\(marks))",
                               arguments: StatementArguments(columns.map { row[$0] as DatabaseValue }))
            }
        }
    }

    /// Runs `body` on the store's queue and completes the future on `eventLoop`.
    func async<T: Sendable>(on eventLoop: EventLoop, _ body: @escaping @Sendable () throws -> T) -> EventLoopFuture<T> {
        let promise = eventLoop.makePromise(of: T.self)
        queue.async { promise.completeWith(Result { try body() }) }
        return promise.futureResult
    }

    /// A result: column names and text rows, or the number of changed rows.
    struct SQLResult: Sendable {
        var columns: [String]
        var rows: [[String?]]
        var changes: Int
    }

    func execute(_ sql: String) throws -> SQLResult {
        try memory.write { db in
            let statement = try db.makeStatement(sql: sql)
            if statement.isReadonly {
                let columns = statement.columnNames
                let rows = try Row.fetchAll(statement).map { row in
                    (0..<columns.count).map { i -> String? in
                        let v: DatabaseValue = row[i]
                        switch v.storage {
                        case .null: return nil
                        case .int64(let n): return String(n)
                        case .double(let d): return String(d)
                        case .string(let s): return s
                        case .blob(let b): return String(decoding: b, as: UTF8.self)
                        }
                    }
                }
                return SQLResult(columns: columns, rows: rows, changes: 0)
            }
            try statement.execute()
            return SQLResult(columns: [], rows: [], changes: db.changesCount)
        }
    }

    func save(_ what: String) throws {
        guard let disk, let table = MuxAdminSchema.tableNames[what] else {
            throw MuxAdminError("SAVE … TO DISK needs a 'state-file' line in the mysql-mux section")
        }
        try copy(table, from: memory, to: disk)
    }

    func loadFromDisk(_ what: String) throws {
        guard let disk, let table = MuxAdminSchema.tableNames[what] else {
            throw MuxAdminError("LOAD … FROM DISK needs a 'state-file' line in the mysql-mux section")
        }
        try copy(table, from: disk, to: memory)
    }

    /// Reads the memory tables into a runtime configuration, refusing bad values with a readable message.
    func runtimeConfig() throws -> MuxRuntimeConfig {
        try memory.read { db in
            var config = MuxRuntimeConfig()
            for row in try Row.fetchAll(db, sql: "SELECT hostgroup_id, hostname, port, status, max_connections FROM mysql_servers") {
                let statusText = (row[3] as String?)?.uppercased() ?? "ONLINE"
                guard let status = MuxRuntimeConfig.ServerStatus(rawValue: statusText) else {
                    throw MuxAdminError("mysql_servers: unknown status '\(statusText)'")
                }
                config.servers.append(.init(hostgroup: row[0], host: row[1], port: row[2], status: status, maxConnections: row[4]))
            }
            for row in try Row.fetchAll(db, sql: "SELECT username, password, default_hostgroup, active FROM mysql_users") {
                config.users.append(.init(name: row[0], password: row[1] ?? "", defaultHostgroup: row[2], active: (row[3] as Int) == 1))
            }
            for row in try Row.fetchAll(db, sql: "SELECT variable_name, variable_value FROM global_variables") {
                let name: String = row[0], value: String = row[1]
                func int() throws -> Int {
                    guard let v = Int(value), v >= 0 else { throw MuxAdminError("global_variables: '\(name)' must be a number, got '\(value)'") }
                    return v
                }
                switch name {
                case "mysql-max_connections": config.maxClientConnections = try int()
                case "mysql-multiplexing": config.multiplexing = ["1", "true", "on"].contains(value.lowercased())
                case "mysql-connect_timeout_server": config.connectTimeoutServerMs = try int()
                case "mysql-connect_timeout_server_max": config.connectTimeoutServerMaxMs = try int()
                case "mysql-monitor_enabled": config.monitor.enabled = ["1", "true", "on"].contains(value.lowercased())
                case "mysql-monitor_username": config.monitor.username = value
                case "mysql-monitor_password": config.monitor.password = value
                case "mysql-monitor_connect_interval": config.monitor.connectIntervalMs = max(try int(), 100)
                case "mysql-monitor_connect_timeout": config.monitor.connectTimeoutMs = max(try int(), 1)
                case "mysql-monitor_ping_interval": config.monitor.pingIntervalMs = max(try int(), 100)
                case "mysql-monitor_ping_timeout": config.monitor.pingTimeoutMs = max(try int(), 1)
                case "mysql-monitor_ping_max_failures": config.monitor.pingMaxFailures = max(try int(), 1)
                case "mysql-monitor_history_rows": config.monitor.maxLogRows = max(try int(), 1)
                default: break  // pool tuning variables are stored as written
                }
            }
            return config
        }
    }

    /// What the running mux reports, copied into the live tables before a statement reads them.
    struct LiveState: Sendable {
        var pool: [MuxServerStats]
        var processes: [MuxProcess]
        var globals: MuxGlobalStats
        var servers: [MuxRuntimeConfig.Server]
        var pingLog: [MuxMonitorLogRow]
        var connectLog: [MuxMonitorLogRow]
    }

    func refreshLiveTables(_ live: LiveState) throws {
        try refreshStats(pool: live.pool, processes: live.processes, clients: live.processes.count, globals: live.globals)
        try memory.write { db in
            try db.execute(sql: "DELETE FROM runtime_mysql_servers")
            let comments = Dictionary(try Row.fetchAll(db, sql: "SELECT hostgroup_id, hostname, port, weight, comment FROM mysql_servers")
                .map { row -> (String, (Int, String)) in ("\(row[0] as Int)/\(row[1] as String):\(row[2] as Int)", (row[3], row[4])) },
                uniquingKeysWith: { a, _ in a })
            for s in live.servers {
                let (weight, comment) = comments["\(s.hostgroup)/\(s.host):\(s.port)"] ?? (1, "")
                try db.execute(sql: "INSERT INTO runtime_mysql_servers VALUES (?,?,?,?,?,?,?)", arguments: [
                    s.hostgroup, s.host, s.port, s.status.rawValue, weight, s.maxConnections, comment])
            }
            for (table, rows) in [("mysql_server_ping_log", live.pingLog), ("mysql_server_connect_log", live.connectLog)] {
                try db.execute(sql: "DELETE FROM monitor.\(table)")
                for r in rows {
                    try db.execute(sql: "INSERT INTO monitor.\(table) VALUES (?,?,?,?,?)", arguments: [
                        r.hostname, r.port, r.timeStartUs, r.successTimeUs, r.error])
                }
            }
        }
    }

    func refreshStats(pool: [MuxServerStats], processes: [MuxProcess], clients: Int, globals: MuxGlobalStats = .init()) throws {
        try memory.write { db in
            try db.execute(sql: "DELETE FROM stats_mysql_connection_pool")
            for s in pool {
                try db.execute(sql: "INSERT INTO stats_mysql_connection_pool VALUES (?,?,?,?,?,?,?,?,?,0)", arguments: [
                    s.server.hostgroup, s.server.host, s.server.port, s.server.status.rawValue, s.used, s.free,
                    s.connectionsOK, s.connectionsFailed, s.queries])
            }
            try db.execute(sql: "DELETE FROM stats_mysql_processlist")
            for p in processes {
                try db.execute(sql: "INSERT INTO stats_mysql_processlist VALUES (?,?,?,?,?,NULL,NULL,NULL,?,0,?,?)", arguments: [
                    p.sessionID, p.user, p.database, p.clientHost, p.clientPort, p.command, p.info, p.pinnedReason])
            }
            try db.execute(sql: "DELETE FROM stats_mysql_global")
            let pinned = processes.filter { !$0.pinnedReason.isEmpty }.count
            for (k, v) in [("Client_Connections_connected", clients), ("Client_Connections_pinned", pinned),
                           ("Server_Connections_connected", pool.reduce(0) { $0 + $1.used + $1.free }),
                           ("Questions", pool.reduce(0) { $0 + $1.queries }),
                           ("Session_variable_replays", globals.sessionVariableReplays)] {
                try db.execute(sql: "INSERT INTO stats_mysql_global VALUES (?, ?)", arguments: [k, "\(v)"])
            }
        }
    }
}

public struct MuxAdminError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension MuxAdminStore {
    /// The runtime configuration the tables currently describe (for tests and `breakwater check`-style tools).
    public func runtimeConfigForTesting() throws -> MuxRuntimeConfig { try runtimeConfig() }
}
