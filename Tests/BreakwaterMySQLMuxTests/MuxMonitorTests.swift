import BreakwaterConfigModel
import BreakwaterMySQLMux
import BreakwaterMySQLMuxAdmin
import BreakwaterMySQLWire
import Foundation
import NIOCore
import NIOPosix
import XCTest

/// The monitor against a real MariaDB that is stopped and started again, driven and read through the admin interface.
final class MuxMonitorTests: XCTestCase {
    func testFailedPingsShunTheServerAndAnAnswerBringsItBackOnline() async throws {
        let mariadb = try MariaDBServer()
        defer { mariadb.stop() }
        try mariadb.sql("CREATE USER 'monitor'@'%' IDENTIFIED BY 'monpw'")
        let h = try MuxAdminHarness()
        try await h.start()
        let (group, muxPort) = (h.group, h.muxPort)
        func adminSQL(_ sql: String) throws -> String { try h.adminSQL(sql) }
        _ = try adminSQL("""
            insert into mysql_servers (hostgroup_id, hostname, port, max_connections) values (10, '127.0.0.1', \(mariadb.port), 4);
            insert into mysql_users (username, password, default_hostgroup) values ('app', 'apppw', 10);
            update global_variables set variable_value='monpw' where variable_name='mysql-monitor_password';
            update global_variables set variable_value=100 where variable_name='mysql-monitor_ping_interval';
            update global_variables set variable_value=300 where variable_name='mysql-monitor_connect_interval';
            update global_variables set variable_value=2 where variable_name='mysql-monitor_ping_max_failures';
            update global_variables set variable_value=1500 where variable_name='mysql-connect_timeout_server_max';
            load mysql servers to runtime; load mysql users to runtime; load mysql variables to runtime;
            """)
        func status() throws -> String {
            try adminSQL("select status from runtime_mysql_servers where port = \(mariadb.port)").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if try condition() { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
            throw TestFailure("timed out waiting for \(what)")
        }
        try waitFor("a successful ping") {
            try adminSQL("select count(*) from monitor.mysql_server_ping_log where ping_error is null and ping_success_time_us > 0") != "0\n"
        }
        try waitFor("a successful connect check") {
            try adminSQL("select count(*) from monitor.mysql_server_connect_log where connect_error is null") != "0\n"
        }
        XCTAssertEqual(try status(), "ONLINE")
        let client = try await MySQLClientConnection.connect(
            to: try SocketAddress(ipAddress: "127.0.0.1", port: muxPort), user: "app", password: "apppw", on: group.next())
        do { let got = try await client.query("SELECT 1").rows; XCTAssertEqual(got, [["1"]]) }

        mariadb.stop()
        try waitFor("SHUNNED") { try status() == "SHUNNED" }
        XCTAssertNotEqual(try adminSQL("select count(*) from monitor.mysql_server_ping_log where ping_error is not null"), "0\n")
        do {
            _ = try await client.query("SELECT 2")
            XCTFail("a shunned server must not take statements")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 9001)
            XCTAssertTrue(err.message.hasPrefix("Max connect timeout reached while reaching hostgroup 10 after 1500ms"), err.message)
        }

        try mariadb.start()
        try waitFor("ONLINE again") { try status() == "ONLINE" }
        do { let got = try await client.query("SELECT 3").rows; XCTAssertEqual(got, [["3"]]) }
        let rows = Int(try adminSQL("select count(*) from monitor.mysql_server_ping_log").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        XCTAssertGreaterThan(rows, 4)
        try await client.close()
        try await h.stop()
    }
}
