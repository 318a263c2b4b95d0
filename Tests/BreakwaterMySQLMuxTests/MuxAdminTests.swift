import BreakwaterConfigModel
import BreakwaterMySQLMux
import BreakwaterMySQLMuxAdmin
import BreakwaterMySQLWire
import Foundation
import NIOCore
import NIOPosix
import XCTest

/// The admin interface driven by the `mariadb` command-line client with the seed's statements.
final class MuxAdminTests: XCTestCase {
    func testSeedStatementsProvisionARunningMux() async throws {
        let mariadb = try MariaDBServer()
        defer { mariadb.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bw-mux-admin-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let h = try MuxAdminHarness(stateFile: dir.appendingPathComponent("mux.sqlite").path)
        try await h.start()
        let (config, group, muxPort, adminPort) = (h.config, h.group, h.muxPort, h.adminPort)
        func adminSQL(_ sql: String) throws -> String { try h.adminSQL(sql) }
        // The seed's seven statements exactly as the write-up has them, pasted into the mariadb client.
        let seed = """
            insert into mysql_servers (hostgroup_id, hostname, port, max_connections) values (10, 'rds.charity-cluster.internal', 3306, 400);
            insert into mysql_users (username, password, default_hostgroup) values ('poora_app', 'secure_hash_password', 10);
            update global_variables set variable_value=8000 where variable_name='mysql-max_connections';
            update global_variables set variable_value=1 where variable_name='mysql-multiplexing';
            load mysql servers to runtime;
            load mysql users to runtime;
            load mysql variables to runtime;
            """
        let exact = try BreakwaterMySQLMuxTests.run("/usr/bin/mariadb", [
            "--no-defaults", "-h127.0.0.1", "-P\(adminPort)", "-uadmin", "-padmin", "--skip-ssl"], stdin: seed)
        XCTAssertEqual(exact.status, 0, exact.output)
        XCTAssertEqual(try adminSQL("select hostname, port, max_connections from mysql_servers"),
                       "rds.charity-cluster.internal\t3306\t400\n")
        // Then the same statements pointed at the test's MariaDB and its user.
        let local = """
            delete from mysql_servers;
            insert into mysql_servers (hostgroup_id, hostname, port, max_connections) values (10, '127.0.0.1', \(mariadb.port), 400);
            insert into mysql_users (username, password, default_hostgroup) values ('app', 'apppw', 10);
            load mysql servers to runtime;
            load mysql users to runtime;
            """
        let fed = try BreakwaterMySQLMuxTests.run("/usr/bin/mariadb", [
            "--no-defaults", "-h127.0.0.1", "-P\(adminPort)", "-uadmin", "-padmin", "--skip-ssl"], stdin: local)
        XCTAssertEqual(fed.status, 0, fed.output)

        // Before LOAD nothing ran; after it the mux serves the user.
        let conn = try await MySQLClientConnection.connect(
            to: try SocketAddress(ipAddress: "127.0.0.1", port: muxPort), user: "app", password: "apppw",
            database: "shop", on: group.next())
        _ = try await conn.query("SET @pin = 1")
        let r = try await conn.query("SELECT @pin")
        XCTAssertEqual(r.rows, [["1"]])

        XCTAssertEqual(try adminSQL("select variable_value from global_variables where variable_name='mysql-max_connections'"), "8000\n")
        let pool = try adminSQL("select hostgroup, srv_port, ConnOK from stats_mysql_connection_pool")
        XCTAssertEqual(pool, "10\t\(mariadb.port)\t1\n")
        let pinned = try adminSQL("select user, pinned_reason from stats_mysql_processlist")
        XCTAssertEqual(pinned, "app\tuser_variable\n")
        XCTAssertThrowsError(try adminSQL("delete from stats_mysql_processlist"))
        let wrong = try BreakwaterMySQLMuxTests.run("/usr/bin/mariadb", [
            "--no-defaults", "-h127.0.0.1", "-P\(adminPort)", "-uadmin", "-pnope", "--skip-ssl", "-e", "select 1"])
        XCTAssertNotEqual(wrong.status, 0)

        // SAVE … TO DISK makes the state file win over the config at the next start.
        _ = try adminSQL("save mysql servers to disk; save mysql users to disk; save mysql variables to disk")
        let reopened = try MuxAdminStore(config: config, initial: false)
        XCTAssertEqual(try reopenedServers(reopened), 1)
        let rebuilt = try MuxAdminStore(config: config, initial: true)
        XCTAssertEqual(try reopenedServers(rebuilt), 0)

        try await conn.close()
        try await h.stop()
    }

    private func reopenedServers(_ store: MuxAdminStore) throws -> Int {
        try store.runtimeConfigForTesting().servers.count
    }
}
