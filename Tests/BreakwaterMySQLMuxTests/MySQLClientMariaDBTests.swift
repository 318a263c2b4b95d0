import BreakwaterMySQLWire
import NIOCore
import NIOPosix
import XCTest

/// The wire codec's client against a real MariaDB from Debian.
final class MySQLClientMariaDBTests: XCTestCase {
    func testRoundTripAgainstMariaDB() async throws {
        let server = try MariaDBServer()
        defer { server.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: server.port)

        let conn = try await MySQLClientConnection.connect(
            to: address, user: "app", password: "apppw", database: "shop", on: group.next())
        XCTAssertTrue(conn.serverInfo.serverVersion.contains("MariaDB"), conn.serverInfo.serverVersion)

        let created = try await conn.query("CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64))")
        XCTAssertFalse(created.isResultSet)
        let inserted = try await conn.query("INSERT INTO items (name) VALUES ('a'), (NULL), ('c')")
        XCTAssertEqual(inserted.affectedRows, 3)
        XCTAssertEqual(inserted.lastInsertID, 1)
        let selected = try await conn.query("SELECT id, name FROM items ORDER BY id")
        XCTAssertEqual(selected.columns, ["id", "name"])
        XCTAssertEqual(selected.rows, [["1", "a"], ["2", nil], ["3", "c"]])

        // A large result set: several wire packets' worth of rows, one value bigger than the default buffer.
        let big = try await conn.query("SELECT seq, REPEAT('x', 1000) FROM seq_1_to_5000")
        XCTAssertEqual(big.rows.count, 5000)
        XCTAssertEqual(big.rows.last?[0], "5000")

        let blob = try await conn.query("SELECT REPEAT('y', 20000000)")
        XCTAssertEqual(blob.rows.first?.first??.utf8.count, 20_000_000)

        do {
            _ = try await conn.query("SELECT * FROM no_such_table")
            XCTFail("expected an error")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 1146)
            XCTAssertEqual(err.sqlState, "42S02")
        }
        // The connection is still usable after an error; pipelined queries come back in order.
        async let one = conn.query("SELECT 1")
        async let two = conn.query("SELECT 2")
        let (r1, r2) = try await (one, two)
        XCTAssertEqual(r1.rows, [["1"]])
        XCTAssertEqual(r2.rows, [["2"]])

        let begun = try await conn.query("BEGIN")
        XCTAssertTrue(begun.status.contains(.inTransaction))
        let committed = try await conn.query("COMMIT")
        XCTAssertFalse(committed.status.contains(.inTransaction))

        let prep = try await conn.prepare("SELECT name FROM items WHERE id = ?")
        XCTAssertEqual(prep.parameterCount, 1)
        let exec = try await conn.execute(statementID: prep.statementID, parameters: ["3"])
        XCTAssertEqual(try exec.rows.map { try MySQLBinaryProtocol.decodeStringRow(payload: $0, columnCount: 1) }, [["c"]])
        try await conn.closeStatement(prep.statementID)
        try await conn.ping()
        try await conn.close()

        do {
            _ = try await MySQLClientConnection.connect(to: address, user: "app", password: "wrong", on: group.next())
            XCTFail("expected access denied")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 1045)
        }
        try await group.shutdownGracefully()
    }
}
