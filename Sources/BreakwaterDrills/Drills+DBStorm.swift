import BreakwaterConfigModel
import Foundation
import NIOPosix

/// `db-storm`: the first write-up's connection storm against a database. N clients connect at once to a
/// throwaway MariaDB with a small `max_connections`, directly and then through the configuration's
/// `mysql-mux` section (its multiplexing and limits, its servers pointed at the throwaway server).
extension Drills {
    /// MariaDB's `max_connections` in the drill (the write-up's overloaded primary, scaled down).
    static let dbStormMaxConnections = 20

    func dbStorm() throws -> DrillReport {
        guard let mux = snapshot.mysqlMuxes.first else {
            return DrillReport(drill: "db-storm", seconds: seconds, runs: [], summary: "", skippedReason: "needs a mysql-mux section")
        }
        let clients = 60 * scale
        let maxConnections = Self.dbStormMaxConnections * scale
        let db = try DrillMariaDB(maxConnections: maxConnections)
        defer { db.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let port = db.nodes[0].port

        try db.sql("FLUSH STATUS")
        let direct = try MySQLStorm(port: port, user: DrillMariaDB.user, password: DrillMariaDB.password,
                                    count: clients, seconds: seconds).run(group: group)
        let directUsed = try db.status("Max_used_connections")

        try db.sql("FLUSH STATUS")
        let (text, muxPort, poolSize) = try Self.dbStormConfig(mux, databasePort: port, maxConnections: maxConnections)
        let proxy = try DrillProxy(binary: binary, config: DrillConfig(text: text, port: muxPort))
        defer { proxy.stop() }
        let through = try MySQLStorm(port: muxPort, user: DrillMariaDB.user, password: DrillMariaDB.password,
                                     count: clients, seconds: seconds).run(group: group)
        let muxUsed = try db.status("Max_used_connections")

        func run(_ label: String, _ r: MySQLStorm.Result, used: Double) -> DrillRun {
            DrillRun(label: label, metrics: [
                ("clients", Double(clients)), ("connected", Double(r.connected)), ("errors 1040", Double(r.errors1040)),
                ("other connect errors", Double(r.otherErrors)), ("connect p50 ms", r.connectPercentile(0.5)),
                ("connect p99 ms", r.connectPercentile(0.99)), ("queries", Double(r.queries)), ("query errors", Double(r.queryErrors)),
                ("backend connections used", used),
            ])
        }
        var summary = "\(clients) clients at once against max_connections \(maxConnections): directly \(direct.errors1040) got 1040 "
            + "(\(Int(directUsed)) server connections); through mysql-mux \(mux.name) \(through.errors1040) got 1040, "
            + "\(through.connected) connected over \(Int(muxUsed)) server connections (pool \(poolSize))."
        if let e = direct.firstOtherError ?? through.firstOtherError { summary += " First other error: \(e)" }
        return DrillReport(drill: "db-storm", seconds: seconds,
                           runs: [run("direct", direct, used: directUsed), run("through mysql-mux \(mux.name)", through, used: muxUsed)],
                           summary: summary)
    }

    /// The section rewritten for the drill: listeners on free loopback ports, its servers' pool on the throwaway
    /// server (their `max-connections` summed, capped below its `max_connections`), the drill's user.
    static func dbStormConfig(_ mux: MySQLMuxConfig, databasePort: Int, maxConnections: Int) throws -> (text: String, port: Int, pool: Int) {
        let port = try DrillConfig.freePort(), adminPort = try DrillConfig.freePort()
        let hostgroup = mux.users.first?.defaultHostgroup ?? mux.servers.first?.hostgroup ?? 0
        let configured = mux.servers.filter { $0.hostgroup == hostgroup }.map(\.maxConnections).reduce(0, +)
        let pool = max(1, min(configured > 0 ? configured : maxConnections, maxConnections - 4))
        let text = """
            mysql-mux \(mux.name)
                bind 127.0.0.1:\(port)
                admin bind 127.0.0.1:\(adminPort) user \(mux.admin?.user ?? "admin") password \(mux.admin?.password ?? "admin")
                server drilldb 127.0.0.1:\(databasePort) hostgroup \(hostgroup) max-connections \(pool)
                user \(DrillMariaDB.user) password \(DrillMariaDB.password) default-hostgroup \(hostgroup)
                max-client-connections \(mux.maxClientConnections)
                multiplexing \(mux.multiplexing ? "on" : "off")

            """
        return (text, port, pool)
    }
}

extension DrillConfig {
    /// A configuration the drill wrote itself, listening on `port`.
    init(text: String, port: Int) {
        self.text = text
        self.port = port
    }
}
