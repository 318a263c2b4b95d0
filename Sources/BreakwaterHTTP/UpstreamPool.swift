import NIOCore

/// Idle server connections of one event loop, per backend/server, bounded per server
/// (spec BE-9: reuse instead of burning ephemeral ports). Touched only on its event loop.
///
/// Every server's state lives in a class box the dictionary only hands out: copying a list out and
/// back, as an earlier version did, cost O(idle) retains per request (4 µs at 250 idle connections),
/// and mutating through `Dictionary.subscript.modify` costs three heap allocations per call (its
/// coroutine frames are not inlined), six per reused connection.
///
/// How many idle connections are kept follows HAProxy 2.6 (`srv_add_to_idle_list`, `srv_use_conn`,
/// `srv_cleanup_idle_conns`): a released connection is kept only while the server's connections on
/// this loop (in use + idle) do not exceed the most it has needed at once (`estimatedNeed`); it is
/// closed otherwise, unless it would be the only idle one. Under `http-reuse safe` every client's
/// first request opens a connection of its own, so without that bound each idle client left one
/// idle server connection behind (~5 KiB each). The estimate rises at once to any new peak of
/// connections in use and decays every `needDecayInterval` (HAProxy's `pool-purge-delay`, 5 s) to the
/// mean of itself and the peak seen since, closing the idle excess above it.
final class UpstreamPool {
    /// One server's connections on this loop.
    struct ServerConnections {
        var idle: [UpstreamHandler] = []
        /// Connections opened on this loop and not closed yet, in use or idle.
        var open = 0
        /// The most in use at once since the last decay (HAProxy `max_used_conns`).
        var peakInUse = 0
        /// HAProxy `est_need_conns`.
        var estimatedNeed = 0

        var inUse: Int { max(0, open - idle.count) }

        mutating func noteUse() {
            peakInUse = max(peakInUse, inUse)
            estimatedNeed = max(estimatedNeed, inUse)
        }

        /// A released connection (still counted in use) is kept if it is the only idle one, or if
        /// the server's connections stay within the estimated need.
        var keepsReleased: Bool { idle.isEmpty || open <= max(inUse, estimatedNeed) }

        /// The periodic decay; returns how many idle connections exceed the need.
        mutating func decay() -> Int {
            let excess = open - max(peakInUse, estimatedNeed)
            estimatedNeed = max((estimatedNeed + peakInUse) / 2, peakInUse)
            peakInUse = inUse
            return max(0, min(excess, idle.count))
        }
    }

    /// One server's state, boxed so that a lookup is a read and mutations happen in the box.
    private final class Entry {
        var connections = ServerConnections()
    }

    private var servers: [UpstreamKey: Entry] = [:]

    private func entry(_ key: UpstreamKey) -> Entry {
        if let e = servers[key] { return e }
        let e = Entry()
        servers[key] = e
        return e
    }
    let maxIdlePerServer: Int
    /// The loop this pool belongs to (set once by `UpstreamPools`).
    var ownerLoop: EventLoop?
    /// Idle connections older than this are closed by `purge`.
    let idleTimeout: TimeAmount
    /// How often the need estimate decays (HAProxy `pool-purge-delay`, default 5 s).
    let needDecayInterval: TimeAmount
    private var lastDecay: NIODeadline = .now()

    init(maxIdlePerServer: Int, idleTimeout: TimeAmount = .seconds(5), needDecayInterval: TimeAmount = .seconds(5)) {
        self.maxIdlePerServer = maxIdlePerServer
        self.idleTimeout = idleTimeout
        self.needDecayInterval = needDecayInterval
    }

    /// A new connection to that server is up and bound to a request (`UpstreamConnector`).
    func opened(_ key: UpstreamKey) {
        let e = entry(key)
        e.connections.open += 1
        e.connections.noteUse()
    }

    /// A connection to that server has closed, whether idle or in use.
    func closed(_ key: UpstreamKey) {
        servers[key]?.connections.open -= 1
    }

    /// Takes the most recently parked live connection for that server, if any.
    func take(_ key: UpstreamKey) -> UpstreamHandler? {
        guard let e = servers[key] else { return nil }
        while let handler = e.connections.idle.popLast() {
            if handler.isActive, handler.channel != nil {
                // `onIdleClose` stays: the handler calls it only while it has no delegate, and
                // `remove` of a connection that is not parked finds nothing.
                handler.idleSince = nil
                e.connections.noteUse()
                return handler
            }
        }
        return nil
    }

    /// Parks a connection; closes it if the pool for that server is full or holds what it needs.
    func park(_ handler: UpstreamHandler) {
        let current = servers[handler.key]?.connections
        guard handler.isActive, current?.idle.count ?? 0 < maxIdlePerServer, current?.keepsReleased ?? true else {
            handler.close()
            return
        }
        handler.delegate = nil
        handler.idleSince = .now()
        // Set once per connection, not per park: one closure allocation fewer per request.
        if handler.onIdleClose == nil {
            handler.onIdleClose = { [weak self] h in self?.remove(h) }
        }
        entry(handler.key).connections.idle.append(handler)
    }

    func remove(_ handler: UpstreamHandler) {
        guard let e = servers[handler.key], let i = e.connections.idle.firstIndex(where: { $0 === handler }) else { return }
        e.connections.idle.remove(at: i)
    }

    /// Closes connections idle for longer than `idleTimeout`, and every `needDecayInterval` the
    /// oldest idle ones above the decayed need estimate.
    func purge(now: NIODeadline = .now()) {
        let decays = now - lastDecay >= needDecayInterval
        if decays { lastDecay = now }
        for e in servers.values {
            e.connections.idle.removeAll { h in
                guard let since = h.idleSince, now - since > idleTimeout || !h.isActive else { return false }
                retire(h)
                return true
            }
            guard decays else { continue }
            let excess = e.connections.decay()
            guard excess > 0 else { continue }
            // The list is oldest first (parks append, takes pop the newest).
            for h in e.connections.idle.prefix(excess) { retire(h) }
            e.connections.idle.removeFirst(excess)
        }
    }

    private func retire(_ h: UpstreamHandler) {
        h.onIdleClose = nil
        h.close()
    }

    /// Closes the idle connections to one server (see `UpstreamPools.evictIdle`).
    func closeIdle(_ key: UpstreamKey) {
        guard let e = servers[key], !e.connections.idle.isEmpty else { return }
        let list = e.connections.idle
        e.connections.idle = []
        for h in list { retire(h) }
    }

    func closeAll() {
        for e in servers.values {
            let list = e.connections.idle
            e.connections.idle = []
            for h in list { retire(h) }
        }
    }

    var idleCount: Int { servers.values.reduce(0) { $0 + $1.connections.idle.count } }

    /// That server's counts on this loop (tests, `show` commands).
    func connections(_ key: UpstreamKey) -> ServerConnections { servers[key]?.connections ?? ServerConnections() }
}

/// One `UpstreamPool` (and one `HeadStoragePool`) per event loop, looked up by the loop's identity.
final class UpstreamPools: @unchecked Sendable {
    // Each pool is only ever touched on its own event loop; the dictionaries themselves are immutable.
    private let pools: [ObjectIdentifier: UpstreamPool]
    private let headStores: [ObjectIdentifier: HeadStoragePool]

    init(group: EventLoopGroup, maxIdlePerServer: Int) {
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        var headStores: [ObjectIdentifier: HeadStoragePool] = [:]
        for loop in group.makeIterator() {
            let pool = UpstreamPool(maxIdlePerServer: maxIdlePerServer)
            pool.ownerLoop = loop
            pools[ObjectIdentifier(loop)] = pool
            headStores[ObjectIdentifier(loop)] = HeadStoragePool()
        }
        self.pools = pools
        self.headStores = headStores
    }

    func pool(for loop: EventLoop) -> UpstreamPool {
        loop.preconditionInEventLoop()
        return pools[ObjectIdentifier(loop)]!
    }

    /// The head storage idle client connections of `loop` hand back (nil for a loop not in the group).
    func headStorage(for loop: EventLoop) -> HeadStoragePool? {
        loop.preconditionInEventLoop()
        return headStores[ObjectIdentifier(loop)]
    }

    /// Starts a once-a-second purge of stale idle connections on every loop.
    func startPurging(group: EventLoopGroup) {
        for loop in group.makeIterator() {
            let id = ObjectIdentifier(loop)
            loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
                self.pools[id]?.purge()
            }
        }
    }

    /// Closes idle connections to `key` on every other loop. A FastCGI worker serves one connection
    /// at a time, so an idle kept connection parked on another loop would hold a worker while this
    /// loop's new connection waits in the application's accept queue (spec FCGI-10 with `maxconn`).
    func evictIdle(_ key: UpstreamKey, except loop: EventLoop) {
        let current = ObjectIdentifier(loop)
        for (id, pool) in pools where id != current {
            guard let owner = pool.ownerLoop else { continue }
            // The pool is only touched on its own loop; the dictionary lookup happens there too.
            owner.execute { [self] in self.pools[id]?.closeIdle(key) }
        }
    }

    func closeAll(group: EventLoopGroup) {
        for loop in group.makeIterator() {
            let id = ObjectIdentifier(loop)
            loop.execute { [self] in self.pools[id]?.closeAll() }
        }
    }
}
