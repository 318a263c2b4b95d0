import BreakwaterConfigModel
import DequeModule
import Synchronization

/// Picks servers for requests and queues requests when every usable server is full (spec BE-3..BE-6).
///
/// Shared by all event loops of a process: every method may be called from any thread. The lock is
/// held only for a few arithmetic steps; grant callbacks run after it is released.
public final class BackendBalancer: Sendable {
    /// Outcome of asking for a server.
    public enum Acquisition: Sendable, Equatable {
        /// Use this server (index into the backend's server list); the slot is already counted.
        case server(Int)
        /// Every usable server is full; the request waits in the backend queue at this 1-based position.
        case queued(ticket: UInt64, position: Int)
        /// No server is usable at all (all down, in maintenance or draining).
        case noServer
        /// The backend queue is at its bound.
        case queueFull
    }

    /// Called exactly once with a server index when a queued request is given a slot.
    public typealias Grant = @Sendable (Int) -> Void

    private struct Server {
        let config: ServerConfig
        var weight: Int
        var adminState: ServerAdminState
        var isUp = true
        var served = 0
        var maxServed = 0
        var totalSelected = 0
        /// Sequence number of the last change of this server's leastconn key; lower wins ties (FIFO).
        var keySequence: UInt64 = 0
        /// Smooth weighted round robin accumulator.
        var currentWeight = 0

        var isUsable: Bool { isUp && adminState == .ready && weight > 0 }
        var isFull: Bool { config.maxconn > 0 && served >= config.maxconn }
    }

    private struct Waiter {
        let ticket: UInt64
        let grant: Grant
    }

    private struct State {
        var servers: [Server]
        var queue: Deque<Waiter> = []
        var nextTicket: UInt64 = 1
        var sequence: UInt64 = 0
        var maxQueued = 0
    }

    public let algorithm: BalanceAlgorithm
    public let maxQueue: Int
    private let state: Mutex<State>

    public init(backend: BackendConfig) {
        algorithm = backend.balance
        maxQueue = backend.maxQueue
        var servers: [Server] = []
        for (i, s) in backend.servers.enumerated() {
            var server = Server(config: s, weight: s.weight, adminState: s.disabled ? .maint : .ready)
            // Declaration order breaks the first ties: the first server takes the first request.
            server.keySequence = UInt64(i)
            servers.append(server)
        }
        state = Mutex(State(servers: servers, sequence: UInt64(servers.count)))
    }

    /// Asks for a server for a new request. `excluding` skips one server (redispatch after failures).
    public func acquire(excluding: Int? = nil, grant: @escaping Grant) -> Acquisition {
        acquire(excluding: excluding, makeGrant: { grant })
    }

    /// As `acquire(excluding:grant:)`, but the grant callback is only built when the request has to
    /// queue — the common path allocates no closure.
    public func acquire(excluding: Int? = nil, makeGrant: () -> Grant) -> Acquisition {
        state.withLock { s in
            let anyUsable = s.servers.indices.contains { s.servers[$0].isUsable && $0 != excluding }
            guard anyUsable else { return .noServer }
            // Round robin keeps arrivals FIFO: nobody overtakes a queued request (BE-6).
            let mustQueue = algorithm == .roundrobin && !s.queue.isEmpty
            if !mustQueue, let index = Self.pick(&s, algorithm: algorithm, excluding: excluding) {
                Self.take(&s, index)
                return .server(index)
            }
            guard s.queue.count < maxQueue else { return .queueFull }
            let ticket = s.nextTicket
            s.nextTicket += 1
            s.queue.append(Waiter(ticket: ticket, grant: makeGrant()))
            s.maxQueued = max(s.maxQueued, s.queue.count)
            return .queued(ticket: ticket, position: s.queue.count)
        }
    }

    /// Takes a slot on a specific server (retry on the same server). Returns false if it is not usable.
    public func acquire(server index: Int) -> Bool {
        state.withLock { s in
            guard s.servers.indices.contains(index), s.servers[index].isUsable else { return false }
            Self.take(&s, index)
            return true
        }
    }

    /// Returns a slot. If a request is waiting and the server can take it, the slot goes straight
    /// to the oldest waiter, whose grant runs on the caller's thread after the lock is released.
    public func release(server index: Int) {
        let handoff: (Grant, Int)? = state.withLock { s in
            guard s.servers.indices.contains(index) else { return nil }
            s.servers[index].served -= 1
            s.sequence += 1
            s.servers[index].keySequence = s.sequence
            guard !s.queue.isEmpty else { return nil }
            // The freed slot goes to the oldest waiter, on this server if it is usable, else on any.
            let target: Int?
            if s.servers[index].isUsable && !s.servers[index].isFull {
                target = index
            } else {
                target = Self.pick(&s, algorithm: algorithm, excluding: nil)
            }
            guard let t = target, let waiter = s.queue.popFirst() else { return nil }
            Self.take(&s, t)
            return (waiter.grant, t)
        }
        if let (grant, server) = handoff { grant(server) }
    }

    /// Removes a waiter (queue timeout, client abort). False if it was already granted a server:
    /// the grant then arrives (or has arrived) and the caller must release that slot.
    public func cancel(ticket: UInt64) -> Bool {
        state.withLock { s in
            guard let i = s.queue.firstIndex(where: { $0.ticket == ticket }) else { return false }
            s.queue.remove(at: i)
            return true
        }
    }

    /// Changes a server's administrative state; a server becoming usable drains the queue into it.
    public func setAdminState(server index: Int, _ newState: ServerAdminState) {
        let grants = state.withLock { s -> [(Grant, Int)] in
            guard s.servers.indices.contains(index) else { return [] }
            s.servers[index].adminState = newState
            return Self.dispatchQueue(&s, algorithm: algorithm)
        }
        for (grant, server) in grants { grant(server) }
    }

    /// Marks a server up or down (health); going up drains the queue into it.
    public func setUp(server index: Int, _ up: Bool) {
        let grants = state.withLock { s -> [(Grant, Int)] in
            guard s.servers.indices.contains(index) else { return [] }
            s.servers[index].isUp = up
            return Self.dispatchQueue(&s, algorithm: algorithm)
        }
        for (grant, server) in grants { grant(server) }
    }

    public func setWeight(server index: Int, _ weight: Int) {
        let grants = state.withLock { s -> [(Grant, Int)] in
            guard s.servers.indices.contains(index) else { return [] }
            s.servers[index].weight = max(0, min(256, weight))
            return Self.dispatchQueue(&s, algorithm: algorithm)
        }
        for (grant, server) in grants { grant(server) }
    }

    public func load() -> BackendLoad {
        state.withLock { s in
            BackendLoad(
                servers: s.servers.map {
                    ServerLoad(name: $0.config.name, served: $0.served, maxconn: $0.config.maxconn, weight: $0.weight,
                               adminState: $0.adminState, isUp: $0.isUp, maxServed: $0.maxServed,
                               totalSelected: $0.totalSelected)
                },
                queued: s.queue.count, maxQueued: s.maxQueued)
        }
    }

    public func adminState(server index: Int) -> ServerAdminState? {
        state.withLock { s in s.servers.indices.contains(index) ? s.servers[index].adminState : nil }
    }

    public var queuedCount: Int { state.withLock { $0.queue.count } }

    public func served(server index: Int) -> Int {
        state.withLock { s in s.servers.indices.contains(index) ? s.servers[index].served : 0 }
    }

    // MARK: - Selection (called with the lock held)

    private static func take(_ s: inout State, _ index: Int) {
        s.servers[index].served += 1
        s.servers[index].totalSelected += 1
        s.servers[index].maxServed = max(s.servers[index].maxServed, s.servers[index].served)
        s.sequence += 1
        s.servers[index].keySequence = s.sequence
    }

    private static func dispatchQueue(_ s: inout State, algorithm: BalanceAlgorithm) -> [(Grant, Int)] {
        var out: [(Grant, Int)] = []
        while !s.queue.isEmpty, let index = pick(&s, algorithm: algorithm, excluding: nil) {
            let waiter = s.queue.removeFirst()
            take(&s, index)
            out.append((waiter.grant, index))
        }
        return out
    }

    private static func pick(_ s: inout State, algorithm: BalanceAlgorithm, excluding: Int?) -> Int? {
        // Backup servers only when no active server is usable (BE-3).
        let activeUsable = s.servers.indices.contains { i in
            s.servers[i].isUsable && !s.servers[i].config.backup && i != excluding
        }
        // One pass over the servers, no candidate array: this runs under the lock on every request.
        switch algorithm {
        case .leastconn: return pickLeastConn(s, excluding: excluding, backup: !activeUsable)
        case .roundrobin: return pickRoundRobin(&s, excluding: excluding, backup: !activeUsable)
        }
    }

    private static func isCandidate(_ s: State, _ i: Int, excluding: Int?, backup: Bool) -> Bool {
        s.servers[i].isUsable && !s.servers[i].isFull && i != excluding && s.servers[i].config.backup == backup
    }

    /// BE-4: key 0 when idle, else (inflight + 1) * 4096 / (16 * weight); ties go to the least recently keyed.
    private static func pickLeastConn(_ s: State, excluding: Int?, backup: Bool) -> Int? {
        var best: Int?
        var bestKey = 0
        for i in s.servers.indices where isCandidate(s, i, excluding: excluding, backup: backup) {
            let key = leastConnKey(s.servers[i])
            guard let b = best else {
                best = i
                bestKey = key
                continue
            }
            if key < bestKey || (key == bestKey && s.servers[i].keySequence < s.servers[b].keySequence) {
                best = i
                bestKey = key
            }
        }
        return best
    }

    private static func leastConnKey(_ server: Server) -> Int {
        server.served == 0 ? 0 : (server.served + 1) * 4096 / (16 * server.weight)
    }

    /// BE-5: smooth weighted round robin; equal weights give s1, s2, s1, s2 …
    private static func pickRoundRobin(_ s: inout State, excluding: Int?, backup: Bool) -> Int? {
        var total = 0
        var best: Int?
        for i in s.servers.indices where isCandidate(s, i, excluding: excluding, backup: backup) {
            s.servers[i].currentWeight += s.servers[i].weight
            total += s.servers[i].weight
            if best == nil || s.servers[i].currentWeight > s.servers[best!].currentWeight { best = i }
        }
        guard let best else { return nil }
        s.servers[best].currentWeight -= total
        return best
    }
}
