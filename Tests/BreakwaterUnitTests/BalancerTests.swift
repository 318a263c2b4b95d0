import BreakwaterBalancing
import BreakwaterConfigModel
import Synchronization
import Testing

/// Server selection and queueing (spec BE-3..BE-6), without any I/O.
@Suite struct BalancerTests {
    static let here = SourceLocation(file: "t.cfg", line: 1)

    static func backend(_ algorithm: BalanceAlgorithm, servers: [(String, Int, Int)], maxQueue: Int = 100) -> BackendConfig {
        var b = BackendConfig(name: "be", location: here)
        b.balance = algorithm
        b.maxQueue = maxQueue
        b.servers = servers.map { name, weight, maxconn in
            var s = ServerConfig(name: name, host: "127.0.0.1", port: 80, location: here)
            s.weight = weight
            s.maxconn = maxconn
            return s
        }
        return b
    }

    static func pick(_ b: BackendBalancer) -> Int? {
        if case .server(let i) = b.acquire(grant: { _ in }) { return i }
        return nil
    }

    @Test func roundRobinEqualWeightsAlternateInDeclarationOrder() {
        let b = BackendBalancer(backend: Self.backend(.roundrobin, servers: [("s1", 1, 0), ("s2", 1, 0)]))
        var picks: [Int] = []
        for _ in 0..<6 {
            let i = Self.pick(b)!
            picks.append(i)
            b.release(server: i)
        }
        #expect(picks == [0, 1, 0, 1, 0, 1])
    }

    @Test func roundRobinWeightsAreProportionalAndInterleaved() {
        let b = BackendBalancer(backend: Self.backend(.roundrobin, servers: [("s1", 1, 0), ("s2", 3, 0)]))
        var counts = [0, 0]
        var picks: [Int] = []
        for _ in 0..<8 {
            let i = Self.pick(b)!
            counts[i] += 1
            picks.append(i)
            b.release(server: i)
        }
        #expect(counts == [2, 6])
        // Smooth: s1 never appears twice in a row.
        #expect(!zip(picks, picks.dropFirst()).contains { $0 == 0 && $1 == 0 })
    }

    @Test func leastConnSequentialRequestsAlternate() {
        let b = BackendBalancer(backend: Self.backend(.leastconn, servers: [("s1", 1, 0), ("s2", 1, 0)]))
        var picks: [Int] = []
        for _ in 0..<4 {
            let i = Self.pick(b)!
            picks.append(i)
            b.release(server: i)
        }
        #expect(picks == [0, 1, 0, 1])
    }

    @Test func leastConnAvoidsTheBusyServer() {
        let b = BackendBalancer(backend: Self.backend(.leastconn, servers: [("s1", 1, 0), ("s2", 1, 0)]))
        let first = Self.pick(b)!
        #expect(first == 0)
        let slow = Self.pick(b)!
        #expect(slow == 1)
        b.release(server: first)
        // s2 keeps one long request; every short one goes to s1.
        for _ in 0..<5 {
            let i = Self.pick(b)!
            #expect(i == 0)
            b.release(server: i)
        }
    }

    @Test func fullServersQueueAndReleaseHandsTheSlotToTheOldestWaiter() {
        let b = BackendBalancer(backend: Self.backend(.roundrobin, servers: [("s1", 1, 1)]))
        #expect(Self.pick(b) == 0)
        let granted = Mutex<[String]>([])
        let first = b.acquire { s in granted.withLock { $0.append("first:\(s)") } }
        let second = b.acquire { s in granted.withLock { $0.append("second:\(s)") } }
        #expect(first == .queued(ticket: 1, position: 1))
        #expect(second == .queued(ticket: 2, position: 2))
        #expect(b.queuedCount == 2)
        b.release(server: 0)
        #expect(granted.withLock { $0 } == ["first:0"])
        #expect(b.served(server: 0) == 1)
        b.release(server: 0)
        #expect(granted.withLock { $0 } == ["first:0", "second:0"])
        #expect(b.queuedCount == 0)
    }

    @Test func roundRobinNewArrivalsDoNotOvertakeTheQueue() {
        let b = BackendBalancer(backend: Self.backend(.roundrobin, servers: [("s1", 1, 1), ("s2", 1, 1)]))
        _ = Self.pick(b)
        _ = Self.pick(b)
        guard case .queued = b.acquire(grant: { _ in }) else {
            Issue.record("expected queueing")
            return
        }
        // Even with a slot freed and immediately re-taken by the waiter, a newcomer queues behind.
        b.release(server: 0)
        guard case .queued = b.acquire(grant: { _ in }) else {
            Issue.record("newcomer should queue behind")
            return
        }
    }

    @Test func cancelRemovesAWaiterOnce() {
        let b = BackendBalancer(backend: Self.backend(.leastconn, servers: [("s1", 1, 1)]))
        _ = Self.pick(b)
        guard case .queued(let ticket, _) = b.acquire(grant: { _ in }) else {
            Issue.record("expected queueing")
            return
        }
        #expect(b.cancel(ticket: ticket))
        #expect(!b.cancel(ticket: ticket))
        #expect(b.queuedCount == 0)
    }

    @Test func queueBoundIsEnforced() {
        let b = BackendBalancer(backend: Self.backend(.leastconn, servers: [("s1", 1, 1)], maxQueue: 2))
        _ = Self.pick(b)
        _ = b.acquire { _ in }
        _ = b.acquire { _ in }
        #expect(b.acquire { _ in } == .queueFull)
    }

    @Test func noUsableServerWhenAllInMaintenance() {
        var config = Self.backend(.roundrobin, servers: [("s1", 1, 0), ("s2", 1, 0)])
        config.servers[0].disabled = true
        let b = BackendBalancer(backend: config)
        #expect(Self.pick(b) == 1)
        b.setAdminState(server: 1, .maint)
        #expect(b.acquire { _ in } == .noServer)
    }

    @Test func serverLeavingMaintenanceDrainsTheQueue() {
        var config = Self.backend(.leastconn, servers: [("s1", 1, 1), ("s2", 1, 1)])
        config.servers[1].disabled = true
        let b = BackendBalancer(backend: config)
        _ = Self.pick(b)
        let granted = Mutex<[Int]>([])
        _ = b.acquire { s in granted.withLock { $0.append(s) } }
        b.setAdminState(server: 1, .ready)
        #expect(granted.withLock { $0 } == [1])
    }

    @Test func excludingSkipsAServerForRedispatch() {
        let b = BackendBalancer(backend: Self.backend(.leastconn, servers: [("s1", 1, 0), ("s2", 1, 0)]))
        if case .server(let i) = b.acquire(excluding: 0, grant: { _ in }) {
            #expect(i == 1)
        } else {
            Issue.record("expected a server")
        }
    }

    @Test func backupServersOnlyWhenNoActiveIsUsable() {
        var config = Self.backend(.roundrobin, servers: [("s1", 1, 0), ("bk", 1, 0)])
        config.servers[1].backup = true
        let b = BackendBalancer(backend: config)
        #expect(Self.pick(b) == 0)
        b.release(server: 0)
        #expect(Self.pick(b) == 0)
        b.release(server: 0)
        b.setUp(server: 0, false)
        #expect(Self.pick(b) == 1)
    }
}
