import Foundation
import Testing

private let muxConfig = """
mysql-mux main
    bind 127.0.0.1:6033
    admin bind 127.0.0.1:6032 user admin password admin
    server db1 10.0.3.1:3306 hostgroup 10 max-connections 400
    user app password secret default-hostgroup 10
    multiplexing on

"""

/// db-storm and heartbeat-storm end to end with small numbers: the real binary, a throwaway MariaDB (or Galera
/// cluster) it starts and stops, and a child proxy running the configuration's data-tier section.
@Suite(.serialized) struct DataTierDrillTests {
    @Test(.timeLimit(.minutes(2)))
    func dbStormRefusesDirectClientsWithTooManyConnectionsButNotThroughTheMux() throws {
        let (code, r, text) = try drill("db-storm", seconds: 2, config: muxConfig)
        #expect(code == 0, "\(text)")
        let clients = try #require(metric(r, run: 0, "clients"), "\(text)")
        #expect(try #require(metric(r, run: 0, "errors 1040")) > 0, "direct clients beyond max_connections get 1040: \(text)")
        #expect(metric(r, run: 1, "errors 1040") == 0, "\(text)")
        #expect(metric(r, run: 1, "connected") == clients, "every client connects through the mux: \(text)")
        #expect(metric(r, run: 1, "other connect errors") == 0, "\(text)")
        #expect(try #require(metric(r, run: 1, "queries")) > 0, "\(text)")
        #expect(try #require(metric(r, run: 1, "backend connections used")) <= 20, "the pool stays under max_connections: \(text)")
        #expect(try #require(metric(r, run: 0, "connect p99 ms")) > 0)
    }
}

private let telemetryConfig = """
telemetry scada
    bind 127.0.0.1:8086
    state memory
    log dir /var/lib/breakwater/telemetry
    window 60s
    sink sqlite /var/lib/breakwater/telemetry.db table machine_heartbeat key machine_id

"""

extension DataTierDrillTests {
    /// Galera (galera-4 is a test dependency): direct writers over three nodes collide in certification;
    /// the same stream through the telemetry section's window reaches one node as a few bulk upserts.
    @Test(.timeLimit(.minutes(2)))
    func heartbeatStormOnGaleraHasNoCertificationFailuresThroughTelemetry() throws {
        let (code, r, text) = try drill("heartbeat-storm", seconds: 4, config: telemetryConfig,
                                        options: ["--writers", "4", "--machines", "20", "--database", "galera"])
        #expect(code == 0, "\(text)")
        #expect(metric(r, run: 0, "database nodes") == 3, "\(text)")
        let directRecords = try #require(metric(r, run: 0, "records"), "\(text)")
        let throughRecords = try #require(metric(r, run: 1, "records"), "\(text)")
        #expect(directRecords > 0 && throughRecords > 0, "\(text)")
        let directStatements = try #require(metric(r, run: 0, "statements"))
        let throughStatements = try #require(metric(r, run: 1, "statements"))
        #expect(throughStatements >= 1 && throughStatements * 10 < directStatements, "one upsert per window: \(text)")
        #expect(try #require(metric(r, run: 0, "cert failures")) > 0, "direct writers over three nodes conflict: \(text)")
        #expect(metric(r, run: 1, "cert failures") == 0, "\(text)")
        #expect(metric(r, run: 1, "deadlock errors (1213)") == 0 && metric(r, run: 1, "innodb deadlocks") == 0, "\(text)")
        #expect(metric(r, run: 1, "writer errors") == 0, "\(text)")
        #expect((r["summary"] as? String ?? "").contains("3-node Galera cluster"), "the report names the database")
        #expect((r["summary"] as? String ?? "").contains("20 rows in machine_heartbeat"), "every machine's row written: \(text)")
    }

    @Test(.timeLimit(.minutes(2)))
    func heartbeatStormOnOneMariaDBSaysCertificationIsNotApplicable() throws {
        let (code, r, text) = try drill("heartbeat-storm", seconds: 2, config: telemetryConfig,
                                        options: ["--writers", "2", "--machines", "10", "--database", "single"])
        #expect(code == 0, "\(text)")
        #expect(metric(r, run: 0, "database nodes") == 1, "\(text)")
        #expect(metric(r, run: 1, "cert failures") == nil, "no certification on one server: null in JSON: \(text)")
        #expect(try #require(metric(r, run: 1, "statements")) >= 1, "\(text)")
        #expect((r["summary"] as? String ?? "").contains("one MariaDB"), "\(text)")
    }
}
