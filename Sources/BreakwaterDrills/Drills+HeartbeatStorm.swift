#if canImport(Glibc)
import Glibc
#endif
import BreakwaterConfigModel
import Foundation
import NIOPosix

/// Which database `heartbeat-storm` writes to.
public enum DrillDatabase: String, Sendable, CaseIterable {
    /// A 3-node Galera cluster when galera-4 is installed, else one MariaDB.
    case auto
    case galera
    case single
}

/// `heartbeat-storm`: the second write-up's Galera incident. W writers send machine heartbeats straight into the
/// database (spread over every node), then the same stream goes through the configuration's telemetry section
/// (its log and coalescing window) into one node. Reports statements, certification failures, deadlocks and the
/// flow-control paused fraction both ways.
extension Drills {
    func heartbeatStorm() throws -> DrillReport {
        guard let section = snapshot.telemetrySections.first else {
            return DrillReport(drill: "heartbeat-storm", seconds: seconds, runs: [], summary: "", skippedReason: "needs a telemetry section")
        }
        let galera = database == .galera || (database == .auto && DrillMariaDB.galeraAvailable)
        let db = try DrillMariaDB(maxConnections: 100, galera: galera)
        defer { db.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        try db.sql(HeartbeatWriters.createDirectTable)
        let load = HeartbeatWriters(writers: writers, machines: machines, seconds: seconds)

        let before = try DatabaseCounters(db)
        let directResult = try load.direct(ports: db.nodes.map(\.port), user: DrillMariaDB.user, password: DrillMariaDB.password, group: group)
        let direct = try DatabaseCounters(db).since(before)

        let windowMs = min(section.windowMs, max(1000, Int(seconds * 1000) / 5))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bw-drill-hb-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let (text, port) = try Self.heartbeatConfig(section, directory: dir.path, windowMs: windowMs, databasePort: db.nodes[0].port)
        let proxy = try DrillProxy(binary: binary, config: DrillConfig(text: text, port: port))
        defer { proxy.stop() }
        let before2 = try DatabaseCounters(db)
        let cpuBefore = proxy.cpuSeconds
        let throughResult = load.ingest(port: port)
        // The last window is written after the load stops: wait until the coalescer has committed the whole log.
        let drained = Self.waitForLogDrained(port: port, timeout: Double(windowMs) / 1000 * 3 + 10)
        let cpuPer1k = throughResult.records > 0 ? (proxy.cpuSeconds - cpuBefore) / Double(throughResult.records) * 1000 : .nan
        let through = try DatabaseCounters(db).since(before2)
        let rows = Double((try? db.sql("SELECT COUNT(*) FROM drill.\(section.sink.table)").trimmingCharacters(in: .whitespacesAndNewlines)) ?? "") ?? 0

        let databaseLabel = galera ? "a 3-node Galera cluster on loopback (galera-4, writers spread over the 3 nodes directly, the sink on node 1)"
            : "one MariaDB on loopback (galera-4 is not installed, so no certification: cert failures and flow control are n/a)"
        func run(_ label: String, _ r: HeartbeatWriters.Result, _ c: DatabaseCounters, cpu: Double) -> DrillRun {
            DrillRun(label: label, metrics: [
                ("writers", Double(writers)), ("machines", Double(machines)), ("records", Double(r.records)),
                ("statements", c.statements), ("cert failures", galera ? c.certFailures : .nan),
                ("deadlock errors (1213)", Double(r.deadlockErrors)), ("innodb deadlocks", c.deadlocks),
                ("flow control paused", galera ? c.pausedFraction : .nan),
                ("writer errors", Double(r.otherErrors)), ("database nodes", Double(db.nodes.count)),
                ("breakwater CPU s per 1k records", cpu),
            ])
        }
        let directRun = run("direct", directResult, direct, cpu: .nan)
        let throughRun = run("through telemetry \(section.name)", throughResult, through, cpu: cpuPer1k)
        var summary = "Database: \(databaseLabel). Window \(windowMs) ms"
            + (windowMs < section.windowMs ? " (the section's \(section.windowMs / 1000) s, shortened to fit --duration)" : "") + ". "
        func deadlocks(_ r: DrillRun) -> Int { Int((r.value("deadlock errors (1213)") ?? 0) + (r.value("innodb deadlocks") ?? 0)) }
        func cert(_ r: DrillRun) -> String { galera ? DrillReport.number(r.value("cert failures") ?? 0) : "n/a" }
        summary += "Direct: \(Int(direct.statements)) statements, \(cert(directRun)) cert failures, \(deadlocks(directRun)) deadlocks; "
            + "through Breakwater: \(Int(through.statements)) statements, \(cert(throughRun)) cert failures, \(deadlocks(throughRun)) deadlocks, "
            + "\(Int(rows)) rows in \(section.sink.table)."
        if !drained { summary += " The coalescer had not drained the log when the drill stopped waiting." }
        if let e = directResult.firstError ?? throughResult.firstError { summary += " First writer error: \(e)" }
        return DrillReport(drill: "heartbeat-storm", seconds: seconds, runs: [directRun, throughRun], summary: summary)
    }

    /// The section rewritten for the drill: ingest on a free loopback port, `state memory`, its log in a temp
    /// directory, the window given, and a MySQL sink on the throwaway database (same table and key).
    static func heartbeatConfig(_ t: TelemetryConfig, directory: String, windowMs: Int, databasePort: Int) throws -> (text: String, port: Int) {
        let port = try DrillConfig.freePort()
        let l = t.limits
        let text = """
            telemetry \(t.name)
                bind 127.0.0.1:\(port)
                state memory
                log dir \(directory)/log
                window \(windowMs)ms
                sink mysql mysql://\(DrillMariaDB.user):\(DrillMariaDB.password)@127.0.0.1:\(databasePort)/drill table \(t.sink.table) key \(t.sink.key)
                max-body-size \(l.maxBodyBytes)
                max-batch-records \(l.maxBatchRecords)
                max-fields \(l.maxFieldsPerRecord)
                max-key-length \(l.maxKeyLength)
                max-log-size \(l.maxLogBytes)
                upsert-max-rows \(l.upsertMaxRows)
                max-machines \(l.maxMachines)

            """
        return (text, port)
    }

    /// Polls `/metrics` until `log_lag_records` is 0 and a window was written.
    static func waitForLogDrained(port: Int, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let text = DownSampler.fetch(port: port, path: "/metrics") {
                let lag = metricValue(text, "breakwater_telemetry_log_lag_records")
                let windows = metricValue(text, "breakwater_telemetry_windows_total")
                if lag == 0, (windows ?? 0) > 0 { return true }
            }
            usleep(200_000)
        }
        return false
    }

    static func metricValue(_ text: String, _ name: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }
}

/// The database's counters the drill compares, summed over every node (deltas between two readings), and the
/// worst node's flow-control paused fraction over the interval.
struct DatabaseCounters {
    var statements: Double
    var certFailures: Double
    var deadlocks: Double
    var pausedNs: [Double]
    var at: Date

    init(_ db: DrillMariaDB) throws {
        statements = try db.statusSum("Com_insert")
        certFailures = try db.statusSum("wsrep_local_cert_failures")
        deadlocks = try db.statusSum("Innodb_deadlocks")
        pausedNs = try db.nodes.indices.map { try db.status("wsrep_flow_control_paused_ns", node: $0) }
        at = Date()
    }

    var pausedFraction: Double = 0

    func since(_ earlier: DatabaseCounters) -> DatabaseCounters {
        var d = self
        d.statements -= earlier.statements
        d.certFailures -= earlier.certFailures
        d.deadlocks -= earlier.deadlocks
        let elapsedNs = at.timeIntervalSince(earlier.at) * 1e9
        let paused = zip(pausedNs, earlier.pausedNs).map { $0 - $1 }.max() ?? 0
        d.pausedFraction = elapsedNs > 0 ? (paused / elapsedNs * 1000).rounded() / 1000 : 0
        return d
    }
}
