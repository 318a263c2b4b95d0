import BreakwaterMySQLWire
import DequeModule
import NIOCore

struct MuxPoolKey: Hashable {
    var hostgroup: Int
    var user: String
    var schema: String?
}

/// Per-server counters for stats_mysql_connection_pool.
public struct MuxServerStats: Sendable {
    public var server: MuxRuntimeConfig.Server
    public var used = 0
    public var free = 0
    public var connectionsOK = 0
    public var connectionsFailed = 0
    public var queries = 0
}

/// Backend connections per (hostgroup, user, schema), at most `max_connections` per server, idle ones kept,
/// and a bounded FIFO of statements waiting for one. Loop-confined: every call happens on `eventLoop`.
final class MuxPool {
    private struct Waiter {
        var id: Int
        var key: MuxPoolKey
        var user: MuxRuntimeConfig.User
        var promise: EventLoopPromise<MuxBackendConnection>
        var timeout: Scheduled<Void>
        var enqueued: NIODeadline
    }

    let eventLoop: EventLoop
    private(set) var config: MuxRuntimeConfig
    private var idle: [MuxPoolKey: [MuxBackendConnection]] = [:]
    /// Open or opening connections per server key.
    private var openCount: [String: Int] = [:]
    private var stats: [String: MuxServerStats] = [:]
    private var waiters: Deque<Waiter> = []
    private var nextWaiterID = 0
    private var roundRobin = 0
    /// Servers (`host:port`) the monitor shunned: no new borrows until a ping answers again.
    private var shunned: Set<String> = []

    init(eventLoop: EventLoop, config: MuxRuntimeConfig) {
        self.eventLoop = eventLoop
        self.config = config
    }

    /// LOAD … TO RUNTIME: new servers take effect for the next borrow; removed or OFFLINE_HARD servers' idle connections close.
    func apply(_ newConfig: MuxRuntimeConfig) {
        config = newConfig
        let liveKeys = Set(newConfig.servers.filter { $0.status != .offlineHard }.map(\.key))
        for (key, conns) in idle {
            let (keep, drop) = (conns.filter { liveKeys.contains($0.server.key) }, conns.filter { !liveKeys.contains($0.server.key) })
            idle[key] = keep
            drop.forEach { $0.close() }
        }
        serveWaiters()
    }

    /// The servers as they run: a configured ONLINE server the monitor shunned shows SHUNNED.
    func runtimeServers() -> [MuxRuntimeConfig.Server] {
        config.servers.map { server in
            var s = server
            if s.status == .online, shunned.contains(s.hostPort) { s.status = .shunned }
            return s
        }
    }

    /// The monitor's verdict on `hostPort`. Shunning closes its idle connections; coming back serves the queue.
    func setShunned(_ hostPort: String, _ isShunned: Bool) {
        if isShunned {
            guard shunned.insert(hostPort).inserted else { return }
            for (key, conns) in idle {
                idle[key] = conns.filter { $0.server.hostPort != hostPort }
                conns.filter { $0.server.hostPort == hostPort }.forEach { $0.close() }
            }
        } else {
            guard shunned.remove(hostPort) != nil else { return }
        }
        serveWaiters()
    }

    func snapshot() -> [MuxServerStats] {
        runtimeServers().map { server in
            var s = stats[server.key] ?? MuxServerStats(server: server)
            s.server = server
            s.free = idle.values.reduce(0) { $0 + $1.filter { $0.server.key == server.key }.count }
            s.used = max(0, (openCount[server.key] ?? 0) - s.free)
            return s
        }
    }

    func acquire(user: MuxRuntimeConfig.User, schema: String?) -> EventLoopFuture<MuxBackendConnection> {
        let key = MuxPoolKey(hostgroup: user.defaultHostgroup, user: user.name, schema: schema)
        let promise = eventLoop.makePromise(of: MuxBackendConnection.self)
        guard waiters.isEmpty, tryServe(key: key, user: user, promise: promise) else {
            guard waiters.count < config.maxQueuedStatements else {
                promise.fail(MySQLErrorPacket(code: 9001, message:
                    "Max connect timeout reached while reaching hostgroup \(key.hostgroup) after 0ms (the wait queue of \(config.maxQueuedStatements) statements is full)"))
                return promise.futureResult
            }
            enqueue(key: key, user: user, promise: promise)
            return promise.futureResult
        }
        return promise.futureResult
    }

    private func enqueue(key: MuxPoolKey, user: MuxRuntimeConfig.User, promise: EventLoopPromise<MuxBackendConnection>) {
        waiters.append(makeWaiter(key: key, user: user, promise: promise, detail: ""))
    }

    /// A queued statement whose wait ends with error 9001 after `mysql-connect_timeout_server_max`.
    private func makeWaiter(key: MuxPoolKey, user: MuxRuntimeConfig.User, promise: EventLoopPromise<MuxBackendConnection>,
                            detail: String) -> Waiter {
        nextWaiterID += 1
        let id = nextWaiterID
        let waitMs = config.connectTimeoutServerMaxMs
        let timeout = eventLoop.scheduleTask(in: .milliseconds(Int64(waitMs))) { [weak self] in
            guard let self, let index = self.waiters.firstIndex(where: { $0.id == id }) else { return }
            let w = self.waiters.remove(at: index)
            w.promise.fail(MySQLErrorPacket(code: 9001, message:
                "Max connect timeout reached while reaching hostgroup \(key.hostgroup) after \(waitMs)ms\(detail)"))
        }
        return Waiter(id: id, key: key, user: user, promise: promise, timeout: timeout, enqueued: .now())
    }

    /// Gives an idle connection or opens one if a server has room; false if the caller must wait.
    private func tryServe(key: MuxPoolKey, user: MuxRuntimeConfig.User, promise: EventLoopPromise<MuxBackendConnection>) -> Bool {
        while var list = idle[key], let conn = list.popLast() {
            idle[key] = list
            if conn.isClosed || !usable(conn.server) { continue }
            promise.succeed(conn)
            countQuery(conn.server)
            return true
        }
        let candidates = config.servers.filter { $0.hostgroup == key.hostgroup && usable($0) }
        guard !candidates.isEmpty else { return false }
        for offset in 0..<candidates.count {
            let server = candidates[(roundRobin + offset) % candidates.count]
            if (openCount[server.key] ?? 0) >= server.maxConnections {
                // Full: an idle connection for another user or schema on this server gives up its slot.
                guard let victimKey = idle.first(where: { $0.value.contains { $0.server.key == server.key } })?.key,
                    let victim = idle[victimKey]?.popLast()
                else { continue }
                victim.close()
                openCount[server.key, default: 1] -= 1
            }
            roundRobin &+= 1
            open(server: server, key: key, user: user, promise: promise)
            return true
        }
        return false
    }

    private func usable(_ server: MuxRuntimeConfig.Server) -> Bool {
        !shunned.contains(server.hostPort) && config.servers.contains { $0.key == server.key && $0.status == .online }
    }

    private func open(server: MuxRuntimeConfig.Server, key: MuxPoolKey, user: MuxRuntimeConfig.User,
                      promise: EventLoopPromise<MuxBackendConnection>) {
        openCount[server.key, default: 0] += 1
        MuxBackendConnection.connect(
            server: server, user: user, schema: key.schema, eventLoop: eventLoop,
            timeout: .milliseconds(Int64(config.connectTimeoutServerMs)),
            onClose: { [weak self] conn in self?.closed(conn) }
        ).whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let conn):
                self.stats[server.key, default: MuxServerStats(server: server)].connectionsOK += 1
                self.countQuery(server)
                promise.succeed(conn)
            case .failure(let error):
                self.openCount[server.key, default: 1] -= 1
                self.stats[server.key, default: MuxServerStats(server: server)].connectionsFailed += 1
                // Retry after a short back-off while the statement's wait budget lasts.
                self.eventLoop.scheduleTask(in: .milliseconds(200)) {
                    self.enqueueFront(key: key, user: user, promise: promise, lastError: "\(error)")
                }
            }
        }
    }

    private func enqueueFront(key: MuxPoolKey, user: MuxRuntimeConfig.User, promise: EventLoopPromise<MuxBackendConnection>, lastError: String) {
        waiters.prepend(makeWaiter(key: key, user: user, promise: promise, detail: " (last connect error: \(lastError))"))
        serveWaiters()
    }

    private func countQuery(_ server: MuxRuntimeConfig.Server) {
        stats[server.key, default: MuxServerStats(server: server)].queries += 1
    }

    /// A borrower is done with `conn`: hand it to the first waiter of its key, or keep it idle.
    func release(_ conn: MuxBackendConnection) {
        conn.sink = nil
        guard !conn.isClosed else { return }
        // A server no longer ONLINE (OFFLINE_SOFT drains, SHUNNED, removed): the connection closes once returned.
        if !usable(conn.server) {
            conn.close()
            return
        }
        if let index = waiters.firstIndex(where: { $0.key == conn.poolKey }) {
            let w = waiters.remove(at: index)
            w.timeout.cancel()
            countQuery(conn.server)
            w.promise.succeed(conn)
            return
        }
        conn.lastUsed = .now()
        idle[conn.poolKey, default: []].append(conn)
        serveWaiters()
    }

    private func closed(_ conn: MuxBackendConnection) {
        openCount[conn.server.key, default: 1] -= 1
        if var list = idle[conn.poolKey], let i = list.firstIndex(where: { $0 === conn }) {
            list.remove(at: i)
            idle[conn.poolKey] = list
        }
        serveWaiters()
    }

    /// Serves waiters in FIFO order while servers have room.
    private func serveWaiters() {
        while let first = waiters.first {
            let promise = eventLoop.makePromise(of: MuxBackendConnection.self)
            guard tryServe(key: first.key, user: first.user, promise: promise) else { return }
            let w = waiters.removeFirst()
            w.timeout.cancel()
            w.promise.completeWith(promise.futureResult)
        }
    }

    func closeAll() {
        for conns in idle.values { conns.forEach { $0.close() } }
        idle = [:]
        while let w = waiters.popFirst() {
            w.timeout.cancel()
            w.promise.fail(MySQLErrorPacket(code: 9001, message: "Breakwater is shutting down"))
        }
    }
}
