import NIOCore

/// Idle server connections of one event loop, per backend/server, bounded per server
/// (spec BE-9: reuse instead of burning ephemeral ports). Touched only on its event loop.
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
        while var list = idle[key], let handler = list.popLast() {
            idle[key] = list
            if handler.isActive, handler.channel != nil {
                handler.idleSince = nil
                handler.onIdleClose = nil
                return handler
            }
        }
        return nil
    }

    /// Parks a connection; closes it if the pool for that server is full.
    func park(_ handler: UpstreamHandler) {
        var list = idle[handler.key, default: []]
        guard handler.isActive, list.count < maxIdlePerServer else {
            handler.close()
            return
        }
        handler.delegate = nil
        handler.idleSince = .now()
        handler.onIdleClose = { [weak self] h in self?.remove(h) }
        list.append(handler)
        idle[handler.key] = list
    }

    func remove(_ handler: UpstreamHandler) {
        guard var list = idle[handler.key], let i = list.firstIndex(where: { $0 === handler }) else { return }
        list.remove(at: i)
        idle[handler.key] = list
    }

    /// Closes connections idle for longer than `idleTimeout`.
    func purge(now: NIODeadline = .now()) {
        for (key, list) in idle {
            var keep: [UpstreamHandler] = []
            for h in list {
                if let since = h.idleSince, now - since > idleTimeout || !h.isActive {
                    h.onIdleClose = nil
                    h.close()
                } else {
                    keep.append(h)
                }
            }
            idle[key] = keep
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
