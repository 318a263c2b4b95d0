import BreakwaterConfigModel
import BreakwaterMySQLMux
import BreakwaterMySQLMuxAdmin
import NIOCore
import NIOPosix

/// A mux and its admin interface on free loopback ports, wired as the executable wires them (tables → runtime),
/// driven with the `mariadb` command-line client.
final class MuxAdminHarness: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    let config: MySQLMuxConfig
    let store: MuxAdminStore
    let mux: MySQLMuxServer
    let admin: MuxAdminServer
    private(set) var muxPort = 0
    private(set) var adminPort = 0

    init(stateFile: String? = nil) throws {
        var config = MySQLMuxConfig(name: "main", location: .init(file: "t.cfg", line: 1))
        config.bind = .init(host: "127.0.0.1", port: 1)
        config.admin = .init(bind: .init(host: "127.0.0.1", port: 1), user: "admin", password: "admin")
        config.stateFile = stateFile
        self.config = config
        store = try MuxAdminStore(config: config, initial: false)
        mux = MySQLMuxServer(eventLoop: group.next(), config: MuxRuntimeConfig())
        admin = MuxAdminServer(config: config, store: store, mux: mux, group: group)
    }

    func start() async throws {
        try await admin.applyToRuntime(on: mux.eventLoop).get()
        let muxAddress = try await mux.start(host: "127.0.0.1", port: 0).get()
        let adminAddress = try await admin.start(host: "127.0.0.1", port: 0).get()
        guard let m = muxAddress?.port, let a = adminAddress?.port else { throw TestFailure("the mux or its admin interface did not bind") }
        muxPort = m
        adminPort = a
    }

    /// Runs statements on the admin interface; returns the tab-separated rows.
    @discardableResult
    func adminSQL(_ sql: String) throws -> String {
        let r = try BreakwaterMySQLMuxTests.run("/usr/bin/mariadb", [
            "--no-defaults", "-h127.0.0.1", "-P\(adminPort)", "-uadmin", "-padmin", "--skip-ssl", "-N", "-B", "-e", sql])
        guard r.status == 0 else { throw TestFailure("admin: \(sql): \(r.output)") }
        return r.output
    }

    func stop() async throws {
        _ = try await admin.stop().get()
        _ = try await mux.stop(grace: .zero).get()
        try await group.shutdownGracefully()
    }
}
