@testable import BreakwaterMySQLMux
import XCTest

/// Which SET statements are replayed on a borrowed connection, and the combined SET that replays them.
final class MuxSetStatementTests: XCTestCase {
    func testWhitelistedAssignmentsAreReplayableAndTheRestPins() {
        XCTAssertEqual(MuxSetStatement.parse("SET NAMES latin1"), .replayable([.init(name: "names", value: "latin1")]))
        XCTAssertEqual(MuxSetStatement.parse("set names 'utf8mb4' collate 'utf8mb4_bin';"),
                       .replayable([.init(name: "names", value: "'utf8mb4' collate 'utf8mb4_bin'")]))
        XCTAssertEqual(MuxSetStatement.parse("SET time_zone = '+01:00', SESSION sql_mode='ANSI,TRADITIONAL'"),
                       .replayable([.init(name: "time_zone", value: "'+01:00'"), .init(name: "sql_mode", value: "'ANSI,TRADITIONAL'")]))
        XCTAssertEqual(MuxSetStatement.parse("SET @@session.time_zone := 'UTC'"), .replayable([.init(name: "time_zone", value: "'UTC'")]))
        XCTAssertEqual(MuxSetStatement.parse("SET CHARACTER SET utf8"), .replayable([.init(name: "character set", value: "utf8")]))
        XCTAssertEqual(MuxSetStatement.parse("SET autocommit = 0"), .pins)
        XCTAssertEqual(MuxSetStatement.parse("SET GLOBAL time_zone = '+00:00'"), .pins)
        XCTAssertEqual(MuxSetStatement.parse("SET @@global.sql_mode = ''"), .pins)
        XCTAssertEqual(MuxSetStatement.parse("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"), .pins)
        XCTAssertEqual(MuxSetStatement.parse("SET time_zone = @tz"), .pins)
        XCTAssertEqual(MuxSetStatement.parse("SET NAMES DEFAULT"), .pins)
        XCTAssertEqual(MuxSetStatement.parse("SET @x = 1"), .other)
        XCTAssertEqual(MuxSetStatement.parse("SELECT 1"), .other)
    }

    func testReplayBringsABackendToTheSessionsStateInOneStatement() {
        var session = MuxSessionVariables()
        session.apply([.init(name: "names", value: "latin1"), .init(name: "time_zone", value: "'+01:00'")])
        XCTAssertEqual(session.replayStatement(from: MuxSessionVariables()), "SET NAMES latin1, time_zone = '+01:00'")
        XCTAssertNil(session.replayStatement(from: session))

        var other = MuxSessionVariables()
        other.apply([.init(name: "sql_mode", value: "'ANSI'"), .init(name: "time_zone", value: "'+05:00'")])
        XCTAssertEqual(session.replayStatement(from: other),
                       "SET NAMES latin1, sql_mode = DEFAULT, time_zone = '+01:00'")
        // A session with nothing set puts a used backend back to the state of a fresh connection.
        XCTAssertEqual(MuxSessionVariables().replayStatement(from: session),
                       "SET NAMES utf8mb4 COLLATE utf8mb4_general_ci, time_zone = DEFAULT")
        // SET NAMES overrides an earlier character_set_results.
        var s2 = MuxSessionVariables()
        s2.apply([.init(name: "character_set_results", value: "binary")])
        s2.apply([.init(name: "names", value: "utf8")])
        XCTAssertEqual(s2.assignments, [.init(name: "names", value: "utf8")])
    }
}
