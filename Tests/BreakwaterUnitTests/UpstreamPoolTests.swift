import NIOCore
import NIOEmbedded
import Testing
@testable import BreakwaterHTTP

/// The idle bound of the server-connection pool (HAProxy 2.6's need estimate): a released connection
/// is kept while the server's connections stay within the most it needed at once, and the excess goes.
@Suite struct UpstreamPoolTests {
    let key = UpstreamKey(backend: 0, server: 0)

    /// A connected server connection as the connector hands it to the pool's counts.
    func open(_ pool: UpstreamPool) throws -> (UpstreamHandler, EmbeddedChannel) {
        let handler = UpstreamHandler(key: key)
        let channel = EmbeddedChannel(handler: handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
        pool.opened(key)
        let key = self.key
        channel.closeFuture.assumeIsolated().whenComplete { _ in pool.closed(key) }
        return (handler, channel)
    }

    /// Runs the embedded loops so closes complete (and reach `closed`).
    func settle(_ channels: [EmbeddedChannel]) {
        for c in channels { c.embeddedEventLoop.run() }
    }

    @Test("one request at a time: each fresh connection beyond the one idle connection is closed on release")
    func sequentialUseKeepsOne() throws {
        let pool = UpstreamPool(maxIdlePerServer: 100)
        var channels: [EmbeddedChannel] = []
        for _ in 0..<5 {
            let (h, c) = try open(pool)
            channels.append(c)
            pool.park(h)
            settle(channels)
        }
        #expect(pool.idleCount == 1)
        #expect(channels.filter { $0.isActive }.count == 1)
        #expect(pool.connections(key).open == 1)
    }

    @Test("connections in use at once are all kept when released, then the decay closes the idle excess")
    func concurrentUseKeepsPeakThenDecays() throws {
        let pool = UpstreamPool(maxIdlePerServer: 100, idleTimeout: .seconds(3600), needDecayInterval: .seconds(5))
        let opened = try (0..<4).map { _ in try open(pool) }
        for (h, _) in opened { pool.park(h) }
        #expect(pool.idleCount == 4, "4 were in use at once: all 4 stay")
        #expect(pool.connections(key).estimatedNeed == 4)

        // One request at a time from now on: a taken connection goes back (open 4 <= need 4).
        let reused = try #require(pool.take(key))
        pool.park(reused)
        #expect(pool.idleCount == 4)

        // Each decay moves the estimate to the mean of itself and the peak in use since the last one
        // (HAProxy's srv_cleanup_idle_conns), closing the idle excess above the estimate it had.
        let channels = opened.map { $0.1 }
        var now = NIODeadline.now() + .seconds(6)
        pool.purge(now: now)  // excess 4 - max(peak 4, need 4) = 0; need -> 4, peak -> 0
        #expect(pool.idleCount == 4)
        now = now + .seconds(6)
        pool.purge(now: now)  // excess 4 - max(0, 4) = 0; need -> 2
        #expect(pool.idleCount == 4)
        now = now + .seconds(6)
        pool.purge(now: now)  // excess 4 - max(0, 2) = 2; need -> 1
        settle(channels)
        #expect(pool.idleCount == 2)
        #expect(pool.connections(key).open == 2)
        // The oldest go first.
        #expect(channels.map(\.isActive) == [false, false, true, true])
        now = now + .seconds(6)
        pool.purge(now: now)  // excess 2 - max(0, 1) = 1; need -> 0
        #expect(pool.idleCount == 1)
        // Nothing decays between two intervals.
        pool.purge(now: now + .seconds(1))
        #expect(pool.idleCount == 1)
    }

    @Test("the per-server cap still applies")
    func capStillApplies() throws {
        let pool = UpstreamPool(maxIdlePerServer: 2)
        let opened = try (0..<3).map { _ in try open(pool) }
        for (h, _) in opened { pool.park(h) }
        #expect(pool.idleCount == 2)
    }
}
