import Testing
@testable import BreakwaterHTTP
#if canImport(Glibc)
import Glibc
#endif

/// The listening sockets a reload hands over: a bind has one per event loop, all under one key.
@Suite struct ListenerSocketsTests {
    @Test("a key listed several times keeps every descriptor, in order; malformed items are skipped")
    func inheritedGroups() {
        let env = [ListenerSockets.environmentKey: "127.0.0.1:80=5;[::1]:443=9;127.0.0.1:80=6;junk;x=y;127.0.0.1:80=7"]
        let groups = ListenerSockets.inheritedGroups(from: env)
        #expect(groups["127.0.0.1:80"] == [5, 6, 7])
        #expect(groups["[::1]:443"] == [9])
        #expect(groups.count == 2)
        #expect(ListenerSockets.inheritedGroups(from: [:]).isEmpty)
    }

    @Test("sockets of one bind share its port, including a port the kernel chose for port 0")
    func sharedPort() throws {
        let first = try ListenerSockets.open(host: "127.0.0.1", port: 0, backlog: 8)
        defer { close(first) }
        let port = try #require(ListenerSockets.boundPort(first))
        #expect(port > 0)
        // SO_REUSEPORT: a second socket of the same user binds the same address.
        let second = try ListenerSockets.open(host: "127.0.0.1", port: port, backlog: 8)
        defer { close(second) }
        #expect(ListenerSockets.boundPort(second) == port)
    }
}
