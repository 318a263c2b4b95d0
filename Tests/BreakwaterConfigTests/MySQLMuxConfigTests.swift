import BreakwaterConfigModel
import Testing

@testable import BreakwaterConfig

/// `mysql-mux NAME` sections (issue 11).
@Suite struct MySQLMuxConfigTests {
    /// The issue's block on lines 1-8, then `extra` from line 9.
    static func issueBlock(_ extra: [String] = []) -> [String] {
        [
            "mysql-mux main",
            "    bind 127.0.0.1:6033",
            "    admin bind 127.0.0.1:6032 user admin password admin",
            "    state-file /var/lib/breakwater/mux.sqlite",
            "    server db1 127.0.0.1:3306 hostgroup 10 max-connections 400",
            "    user poora_app password secret default-hostgroup 10",
            "    max-client-connections 8000",
            "    multiplexing on",
        ] + extra
    }

    @Test func theIssueBlockParses() throws {
        let r = parse(Self.issueBlock())
        expectNoErrors(r)
        let mux = try #require(r.snapshot?.mysqlMuxes.first)
        #expect(mux.name == "main")
        #expect(mux.bind == .init(host: "127.0.0.1", port: 6033))
        #expect(mux.admin == .init(bind: .init(host: "127.0.0.1", port: 6032), user: "admin", password: "admin"))
        #expect(mux.stateFile == "/var/lib/breakwater/mux.sqlite")
        #expect(mux.servers.map(\.name) == ["db1"])
        #expect(mux.servers.first?.hostgroup == 10)
        #expect(mux.servers.first?.maxConnections == 400)
        #expect(mux.servers.first?.port == 3306)
        #expect(mux.users.first?.name == "poora_app")
        #expect(mux.users.first?.password == "secret")
        #expect(mux.users.first?.defaultHostgroup == 10)
        #expect(mux.maxClientConnections == 8000)
        #expect(mux.multiplexing)
    }

    @Test func serverAndUserLinesAreOptional() throws {
        let r = parse(["mysql-mux m", "  bind 127.0.0.1:6033", "  admin bind 127.0.0.1:6032 user a password b",
                       "  multiplexing off"])
        expectNoErrors(r)
        let mux = try #require(r.snapshot?.mysqlMuxes.first)
        #expect(mux.servers.isEmpty && mux.users.isEmpty && !mux.multiplexing && mux.stateFile == nil)
        #expect(mux.maxClientConnections == MySQLMuxConfig.defaultMaxClientConnections)
    }

    @Test func badLinesAreErrorsWithTheirLine() {
        expectError(parse(Self.issueBlock(["    multiplexing maybe"])), line: 9, "multiplexing")
        expectError(parse(Self.issueBlock(["    max-client-connections lots"])), line: 9, "max-client-connections")
        expectError(parse(Self.issueBlock(["    server db2 127.0.0.1 hostgroup 10"])), line: 9, "server db2")
        expectError(parse(Self.issueBlock(["    server db1 127.0.0.1:3307 hostgroup 10"])), line: 9, "already defined")
        expectError(parse(Self.issueBlock(["    server db2 127.0.0.1:3307 hostgrup 10"])), line: 9, "did you mean 'hostgroup'")
        expectError(parse(Self.issueBlock(["    user bob default-hostgroup 10"])), line: 9, "password")
        expectError(parse(Self.issueBlock(["    admin bind 127.0.0.1:6032 user admin"])), line: 9, "admin")
        expectError(parse(Self.issueBlock(["    bnd 127.0.0.1:1"])), line: 9, "did you mean 'bind'")
        expectError(parse(Self.issueBlock(["    bind /tmp/sock"])), line: 9, "bind")
        expectError(parse(["mysql-mux m", "  admin bind 127.0.0.1:6032 user a password b"]), line: 1, "needs a 'bind")
        expectError(parse(["mysql-mux"]), line: 1, "expects <name>")
    }
}
