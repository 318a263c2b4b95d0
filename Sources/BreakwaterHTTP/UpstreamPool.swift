import NIOCore

/// Idle server connections of one event loop, per backend/server, bounded per server
/// (spec BE-9: reuse instead of burning ephemeral ports). Touched only on its event loop.
///
/// Every list is mutated in place through the dictionary's modify accessor: copying a list out and
/// back, as an earlier version did, cost O(idle) retains per request (4 µs at 250 idle connections).
final class UpstreamPool {
    private var idle: [UpstreamKey: [UpstreamHandler]] = [:]
    let maxIdlePerServer: Int
    /// The loop this pool belongs to (set once by `UpstreamPools`).
    var ownerLoop: EventLoop?
    /// Idle connections older than this are closed by `purge`.
    let idleTimeout: TimeAmount

    init(maxIdlePerServer: Int, idleTimeout: TimeAmount = .seconds(5)) {
        self.maxIdlePerServer = maxIdlePerServer
        self.idleTimeout = idleTimeout
    }

    /// Takes the most recently parked live connection for that server, if any.
    func take(_ key: UpstreamKey) -> UpstreamHandler? {
        while let handler = idle[key]?.popLast() {
            if handler.isActive, handler.channel != nil {
                // `onIdleClose` stays: the handler calls it only while it has no delegate, and
                // `remove` of a connection that is not parked finds nothing.
                handler.idleSince = nil
                return handler
            }
        }
        return nil
    }

    /// Parks a connection; closes it if the pool for that server is full.
    func park(_ handler: UpstreamHandler) {
        guard handler.isActive, idle[handler.key]?.count ?? 0 < maxIdlePerServer else {
            handler.close()
            return
        }
        handler.delegate = nil
        handler.idleSince = .now()
        // Set once per connection, not per park: one closure allocation fewer per request.
        if handler.onIdleClose == nil {
            handler.onIdleClose = { [weak self] h in self?.remove(h) }
        }
        idle[handler.key, default: []].append(handler)
    }

    func remove(_ handler: UpstreamHandler) {
        guard let i = idle[handler.key]?.firstIndex(where: { $0 === handler }) else { return }
        idle[handler.key]?.remove(at: i)
    }

    /// Closes connections idle for longer than `idleTimeout`.
    func purge(now: NIODeadline = .now()) {
        for key in idle.keys {
            idle[key]?.removeAll { h in
                guard let since = h.idleSince, now - since > idleTimeout || !h.isActive else { return false }
                h.onIdleClose = nil
                h.close()
                return true
            }
        }
    }

    /// Closes the idle connections to one server (see `UpstreamPools.evictIdle`).
    func closeIdle(_ key: UpstreamKey) {
        guard let list = idle.removeValue(forKey: key) else { return }
        for h in list {
            h.onIdleClose = nil
            h.close()
        }
    }

    func closeAll() {
        for (_, list) in idle {
            for h in list {
                h.onIdleClose = nil
                h.close()
            }
        }
        idle = [:]
    }

    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }
}

/// One `UpstreamPool` per event loop, looked up by the loop's identity.
final class UpstreamPools: @unchecked Sendable {
    // Each pool is only ever touched on its own event loop; the dictionary itself is immutable.
    private let pools: [ObjectIdentifier: UpstreamPool]

    init(group: EventLoopGroup, maxIdlePerServer: Int) {
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in group.makeIterator() {
            let pool = UpstreamPool(maxIdlePerServer: maxIdlePerServer)
            pool.ownerLoop = loop
            pools[ObjectIdentifier(loop)] = pool
        }
        self.pools = pools
    }

    func pool(for loop: EventLoop) -> UpstreamPool {
        loop.preconditionInEventLoop()
        return pools[ObjectIdentifier(loop)]!
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
