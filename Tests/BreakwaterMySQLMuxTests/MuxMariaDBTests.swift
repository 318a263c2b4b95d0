import BreakwaterMySQLMux
import BreakwaterMySQLWire
import NIOCore
import NIOPosix
import Foundation
import XCTest

/// The multiplexer in front of a real MariaDB, driven by the Swift client and the `mariadb` command-line client.
final class MuxMariaDBTests: XCTestCase {
    private var mariadb: MariaDBServer!
    private var group: MultiThreadedEventLoopGroup!
    private var mux: MySQLMuxServer!
    private var muxPort = 0

    override func setUp() async throws {
        mariadb = try MariaDBServer()
        try mariadb.sql("CREATE TABLE shop.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64))")
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    override func tearDown() async throws {
        if let mux { try? await mux.stop(grace: .zero).get() }
        try? await group.shutdownGracefully()
        mariadb.stop()
    }

    private func startMux(
        maxBackend: Int = 4, maxClients: Int = 5000, waitMs: Int = 10000, multiplexing: Bool = true,
        otherUsers: [MuxRuntimeConfig.User] = []
    ) async throws {
        let config = MuxRuntimeConfig(
            servers: [.init(hostgroup: 10, host: "127.0.0.1", port: mariadb.port, maxConnections: maxBackend)],
            users: [.init(name: "app", password: MySQLAuthPlugin.nativePasswordHash(password: "apppw"), defaultHostgroup: 10)] + otherUsers,
            maxClientConnections: maxClients, multiplexing: multiplexing, connectTimeoutServerMaxMs: waitMs)
        // Backends are opened with the user's password, so the runtime keeps the plain one for them.
        var runtime = config
        runtime.users[0].password = "apppw"
        mux = MySQLMuxServer(eventLoop: group.next(), config: runtime)
        let address = try await mux.start(host: "127.0.0.1", port: 0).get()
        muxPort = try XCTUnwrap(address?.port)
    }

    private func client(_ password: String = "apppw", database: String? = "shop") async throws -> MySQLClientConnection {
        try await MySQLClientConnection.connect(
            to: try SocketAddress(ipAddress: "127.0.0.1", port: muxPort), user: "app", password: password,
            database: database, on: group.next())
    }

    private func backendThreads() throws -> Int {
        let out = try mariadb.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'app'")
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func testQueriesErrorsLargeResultsAndWrongPassword() async throws {
        try await startMux()
        let c = try await client()
        let ins = try await c.query("INSERT INTO items (name) VALUES ('a'), ('b')")
        XCTAssertEqual(ins.affectedRows, 2)
        do { let got = try await c.query("SELECT name FROM items ORDER BY id").rows; XCTAssertEqual(got, [["a"], ["b"]]) }
        let big = try await c.query("SELECT seq, REPEAT('z', 500) FROM seq_1_to_20000")
        XCTAssertEqual(big.rows.count, 20000)
        do {
            _ = try await c.query("SELEC 1")
            XCTFail("expected a syntax error")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 1064)
        }
        do { let got = try await c.query("SELECT 1 + 1").rows; XCTAssertEqual(got, [["2"]]) }
        try await c.close()

        do {
            _ = try await client("wrong")
            XCTFail("expected access denied")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 1045)
            XCTAssertTrue(err.message.contains("Access denied for user 'app'"), err.message)
        }

        // The mariadb command-line client (its driver chatter included) through the mux.
        let cli = try BreakwaterMySQLMuxTests.run("/usr/bin/mariadb", ["--no-defaults", "-h127.0.0.1", "-P\(muxPort)", "-uapp", "-papppw",
                                               "--skip-ssl", "-N", "-B", "shop", "-e", "SELECT COUNT(*) FROM items"])
        XCTAssertEqual(cli.status, 0, cli.output)
        XCTAssertEqual(cli.output.trimmingCharacters(in: .whitespacesAndNewlines), "2")
    }

    func testTransactionStaysOnOneBackendConnectionAndUnpinsAtCommit() async throws {
        try await startMux(maxBackend: 4)
        let a = try await client()
        let b = try await client()
        _ = try await a.query("BEGIN")
        let first = try await a.query("SELECT CONNECTION_ID()").rows
        // Another client's statements cannot take the pinned connection.
        for _ in 0..<5 { do { let got = try await b.query("SELECT CONNECTION_ID()").rows; XCTAssertNotEqual(got, first) } }
        _ = try await a.query("INSERT INTO items (name) VALUES ('tx')")
        do { let got = try await a.query("SELECT CONNECTION_ID()").rows; XCTAssertEqual(got, first) }
        var pinned = try await mux.processList().get().map(\.pinnedReason)
        XCTAssertTrue(pinned.contains { $0.contains("transaction") }, "\(pinned)")
        let commit = try await a.query("COMMIT")
        XCTAssertFalse(commit.status.contains(.inTransaction))
        pinned = try await mux.processList().get().map(\.pinnedReason)
        XCTAssertFalse(pinned.contains { $0.contains("transaction") }, "\(pinned)")
        do { let got = try await b.query("SELECT COUNT(*) FROM items WHERE name = 'tx'").rows; XCTAssertEqual(got, [["1"]]) }
    }

    func testUserVariablesAndTemporaryTablesPin() async throws {
        try await startMux(maxBackend: 4)
        let a = try await client()
        _ = try await a.query("SET @x = 42")
        let other = try await client()
        for _ in 0..<3 { _ = try await other.query("SELECT 1") }
        do { let got = try await a.query("SELECT @x").rows; XCTAssertEqual(got, [["42"]]) }
        _ = try await a.query("CREATE TEMPORARY TABLE t (v INT)")
        _ = try await a.query("INSERT INTO t VALUES (7)")
        for _ in 0..<3 { _ = try await other.query("SELECT 1") }
        do { let got = try await a.query("SELECT v FROM t").rows; XCTAssertEqual(got, [["7"]]) }
        let reasons = try await mux.processList().get().first { $0.pinnedReason.contains("user_variable") }?.pinnedReason
        XCTAssertEqual(reasons, "temporary_table,user_variable")
        // Disconnecting ends the pins: the pinned connection is closed, not handed to someone else.
        try await a.close()
        let again = try await client()
        do { let got = try await again.query("SELECT @x").rows; XCTAssertEqual(got, [[nil]]) }
    }

    func testSessionVariablesAreReplayedOnASharedConnectionInsteadOfPinning() async throws {
        try await startMux(maxBackend: 1)
        let a = try await client()
        let b = try await client()
        _ = try await a.query("SET NAMES latin1")
        _ = try await a.query("SET time_zone = '+01:00'")
        _ = try await b.query("SET time_zone = '+05:00', SESSION sql_mode = 'ANSI'")
        var threads = Set<[[String?]]>()
        for _ in 0..<3 {
            let ra = try await a.query("SELECT @@character_set_client, @@time_zone, CONNECTION_ID()").rows
            XCTAssertEqual(ra.first?.prefix(2), ["latin1", "+01:00"])
            let rb = try await b.query("SELECT @@character_set_client, @@time_zone, @@sql_mode, CONNECTION_ID()").rows
            XCTAssertEqual(rb.first?.prefix(3), ["utf8mb4", "+05:00", "REAL_AS_FLOAT,PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,ANSI"])
            threads.insert([[ra.first?.last ?? nil]])
            threads.insert([[rb.first?.last ?? nil]])
        }
        // Both sessions ran on the pool's single backend connection, neither pinned.
        XCTAssertEqual(threads.count, 1)
        let reasons = try await mux.processList().get().map(\.pinnedReason)
        XCTAssertEqual(reasons, ["", ""])
        let replays = try await mux.globalStats().get().sessionVariableReplays
        XCTAssertGreaterThanOrEqual(replays, 6)
        // A fresh session on the used connection gets the server's defaults back.
        let c = try await client()
        let rc = try await c.query("SELECT @@character_set_client, @@time_zone").rows
        XCTAssertEqual(rc, [["utf8mb4", "SYSTEM"]])
        // A SET that is not safe to replay still pins.
        _ = try await c.query("SET autocommit = 1")
        let pinned = try await mux.processList().get().map(\.pinnedReason)
        XCTAssertTrue(pinned.contains("session_variable"), "\(pinned)")
    }

    func testLastInsertIDStaysOnTheInsertsConnection() async throws {
        try await startMux(maxBackend: 2)
        let a = try await client()
        let ins = try await a.query("INSERT INTO items (name) VALUES ('p1')")
        let b = try await client()
        _ = try await b.query("INSERT INTO items (name) VALUES ('other')")
        do { let got = try await a.query("SELECT LAST_INSERT_ID()").rows; XCTAssertEqual(got, [["\(ins.lastInsertID)"]]) }
    }

    func testPreparedStatementsRunOnAnyPooledConnectionWithoutPinning() async throws {
        try await startMux(maxBackend: 1)
        let a = try await client()
        let b = try await client()
        _ = try await a.query("INSERT INTO items (name) VALUES ('p1'), ('p2')")
        let byID = try await a.prepare("SELECT name FROM items WHERE id = ?")
        let count = try await b.prepare("SELECT CAST(COUNT(*) AS CHAR) FROM items WHERE name <> ?")
        XCTAssertNotEqual(byID.statementID, 0)
        func rows(_ r: MySQLRawResponse) throws -> [[String?]] {
            try r.rows.map { try MySQLBinaryProtocol.decodeStringRow(payload: $0, columnCount: 1) }
        }
        for _ in 0..<3 {
            let ra = try await a.execute(statementID: byID.statementID, parameters: ["1"])
            XCTAssertEqual(try rows(ra), [["p1"]])
            let rb = try await b.execute(statementID: count.statementID, parameters: ["p1"])
            XCTAssertEqual(try rows(rb), [["1"]])
        }
        // Both sessions share the pool's one connection and neither is pinned.
        let reasons = try await mux.processList().get().map(\.pinnedReason)
        XCTAssertEqual(reasons, ["", ""])
        XCTAssertEqual(try backendThreads(), 1)

        // The backend connection dies between statements: the next execute re-prepares on a fresh connection,
        // even one that omits the parameter types (new-params-bound 0) because the client sent them before.
        let thread = try mariadb.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'app'")
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try mariadb.sql("KILL \(thread)")
        let deadline = Date().addingTimeInterval(10)
        while try await mux.connectionPoolStats().get()[0].free > 0, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        var execute = ByteBuffer()
        execute.writeInteger(MySQLCommand.statementExecute.rawValue)
        execute.writeInteger(byID.statementID, endianness: .little)
        execute.writeInteger(UInt8(0))
        execute.writeInteger(UInt32(1), endianness: .little)
        execute.writeInteger(UInt8(0))  // NULL bitmap of one parameter
        execute.writeInteger(UInt8(0))  // new-params-bound 0: no types
        execute.writeMySQLLengthEncodedString("2")
        let typeless = try await a.send(execute, kind: .resultSet).get()
        XCTAssertEqual(try rows(typeless), [["p2"]])
        let again = try await b.execute(statementID: count.statementID, parameters: ["zzz"])
        XCTAssertEqual(try rows(again), [["2"]])
        // One copy of each statement on the server, however many sessions and executes.
        let prepared = try mariadb.sql("SHOW GLOBAL STATUS LIKE 'Prepared_stmt_count'")
        XCTAssertEqual(prepared.trimmingCharacters(in: .whitespacesAndNewlines), "Prepared_stmt_count\t2")

        // COM_STMT_CLOSE forgets the client's id; COM_STMT_RESET answers OK.
        try await a.closeStatement(byID.statementID)
        _ = try await b.send(MySQLCommandPacket.make(.statementReset, statementID: count.statementID), kind: .okOrError).get()
        do {
            _ = try await a.execute(statementID: byID.statementID, parameters: ["1"])
            XCTFail("a closed statement must not run")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 1243)
        }
    }

    func testChangeUserEndsThePinsAndLogsInAsTheOtherUser() async throws {
        try mariadb.sql("CREATE USER 'reader'@'%' IDENTIFIED BY 'readerpw'; GRANT SELECT ON shop.* TO 'reader'@'%'")
        try await startMux(maxBackend: 2, otherUsers: [.init(name: "reader", password: "readerpw", defaultHostgroup: 10)])
        let c = try await client()
        _ = try await c.query("SET @x = 1")
        var reasons = try await mux.processList().get().map(\.pinnedReason)
        XCTAssertEqual(reasons, ["user_variable"])
        try await c.changeUser(user: "reader", password: "readerpw", database: "shop")
        reasons = try await mux.processList().get().map(\.pinnedReason)
        XCTAssertEqual(reasons, [""])
        let who = try await c.query("SELECT CURRENT_USER(), @x, DATABASE()").rows
        XCTAssertEqual(who, [["reader@%", nil, "shop"]])
        do {
            _ = try await c.query("INSERT INTO items (name) VALUES ('nope')")
            XCTFail("the reader may only read")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 1142)
        }
        do {
            try await c.changeUser(user: "app", password: "wrong")
            XCTFail("expected access denied")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 1045)
        }
    }

    func testManyClientsShareASmallPoolWithoutErrors() async throws {
        try await startMux(maxBackend: 5)
        let port = muxPort
        let loop = group!
        let results = try await withThrowingTaskGroup(of: String?.self) { tasks in
            for i in 0..<200 {
                tasks.addTask {
                    let c = try await MySQLClientConnection.connect(
                        to: try SocketAddress(ipAddress: "127.0.0.1", port: port), user: "app", password: "apppw",
                        database: "shop", on: loop.next())
                    let r = try await c.query("SELECT \(i), SLEEP(0.01)")
                    try await c.close()
                    return r.rows.first?.first ?? nil
                }
            }
            var out: [String?] = []
            for try await r in tasks { out.append(r) }
            return out
        }
        XCTAssertEqual(Set(results.compactMap { $0 }).count, 200)
        let threads = try backendThreads()
        XCTAssertLessThanOrEqual(threads, 5)
        let stats = try await mux.connectionPoolStats().get()
        XCTAssertLessThanOrEqual(stats[0].connectionsOK, 5)
        XCTAssertGreaterThanOrEqual(stats[0].queries, 200)
    }

    func testWaitQueueTimesOutWith9001AndClientLimitGives1040() async throws {
        try await startMux(maxBackend: 1, maxClients: 2, waitMs: 300)
        let a = try await client()
        _ = try await a.query("BEGIN")
        let b = try await client()
        do {
            _ = try await b.query("SELECT 1")
            XCTFail("expected error 9001")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 9001)
            XCTAssertEqual(err.message, "Max connect timeout reached while reaching hostgroup 10 after 300ms")
        }
        do {
            _ = try await client()
            XCTFail("expected error 1040")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 1040)
        }
        _ = try await a.query("COMMIT")
        do { let got = try await b.query("SELECT 1").rows; XCTAssertEqual(got, [["1"]]) }
    }

    func testBackendRestartFailsInFlightStatementThenRecovers() async throws {
        try await startMux(maxBackend: 2)
        let a = try await client()
        do { let got = try await a.query("SELECT 1").rows; XCTAssertEqual(got, [["1"]]) }
        async let slow = a.query("SELECT SLEEP(30)")
        try await Task.sleep(for: .milliseconds(300))
        mariadb.stop()
        do {
            _ = try await slow
            XCTFail("expected the in-flight statement to fail")
        } catch let MySQLWireError.server(err) {
            XCTAssertEqual(err.code, 2013)
            XCTAssertTrue(err.message.contains("Lost connection to the backend"), err.message)
        }
        try mariadb.start()
        // The pool opens a fresh connection for the same client session.
        do { let got = try await a.query("SELECT 2").rows; XCTAssertEqual(got, [["2"]]) }
    }
}

/// The load case: 2,000 concurrent clients over a pool of 20 backend connections, zero errors.
final class MuxStormTests: XCTestCase {
    func testTwoThousandClientsOverAPoolOfTwenty() async throws {
        let mariadb = try MariaDBServer()
        defer { mariadb.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let mux = MySQLMuxServer(eventLoop: group.next(), config: MuxRuntimeConfig(
            servers: [.init(hostgroup: 10, host: "127.0.0.1", port: mariadb.port, maxConnections: 20)],
            users: [.init(name: "app", password: "apppw", defaultHostgroup: 10)],
            maxClientConnections: 5000, connectTimeoutServerMaxMs: 60000))
        let bound = try await mux.start(host: "127.0.0.1", port: 0).get()
        let port = try XCTUnwrap(bound?.port)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
        // Every client connects first and holds its connection, so all 2,000 are open at once.
        var clients: [MySQLClientConnection] = []
        try await withThrowingTaskGroup(of: MySQLClientConnection.self) { tasks in
            for _ in 0..<2000 {
                tasks.addTask {
                    try await MySQLClientConnection.connect(to: address, user: "app", password: "apppw", on: group.next())
                }
            }
            for try await c in tasks { clients.append(c) }
        }
        XCTAssertEqual(clients.count, 2000)
        let answers = try await withThrowingTaskGroup(of: String?.self) { tasks in
            for (i, c) in clients.enumerated() {
                tasks.addTask { try await c.query("SELECT \(i)").rows.first?.first ?? nil }
            }
            var out = Set<String>()
            for try await a in tasks { if let a { out.insert(a) } }
            return out
        }
        XCTAssertEqual(answers.count, 2000)
        let stats = try await mux.connectionPoolStats().get()
        XCTAssertLessThanOrEqual(stats[0].connectionsOK, 20)
        for c in clients { try? await c.close() }
        _ = try await mux.stop(grace: .zero).get()
        try await group.shutdownGracefully()
    }
}
