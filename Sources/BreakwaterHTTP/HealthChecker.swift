import BreakwaterBalancing
import BreakwaterConfigModel
import BreakwaterObservability
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Runs the active checks of every server with `check` (spec HC-4..HC-7) and applies the results —
/// and passive ejections (OBS-3) — to the balancer, with HC-9 log messages.
///
/// Checks run on the `ProbeReactor` thread, off the event loops and the request path: a layer-4
/// check is one connect and an abortive close, no parser and no buffers.
public final class HealthChecker: Sendable {
    let runtime: ProxyRuntime
    let group: EventLoopGroup
    let logger: Logger
    private let loops: Mutex<[ServerCheckLoop]> = Mutex([])

    public init(runtime: ProxyRuntime, group: EventLoopGroup, logger: Logger) {
        self.runtime = runtime
        self.group = group
        self.logger = logger
        runtime.healthChecker.withLock { $0 = self }
    }

    /// Schedules the first check of each checked server, spread over the smallest initial interval (HC-6).
    public func start() {
        var checked: [(BackendRuntime, ServerRuntime)] = []
        for backend in runtime.backends {
            for server in backend.servers where server.health != nil { checked.append((backend, server)) }
        }
        guard !checked.isEmpty else { return }
        let firstInterval = checked.map { $0.1.config.health.effectiveFastinter }.min() ?? 2000
        var created: [ServerCheckLoop] = []
        let reactor = ProbeReactor.shared
        for (k, (backend, server)) in checked.enumerated() {
            let checkLoop = ServerCheckLoop(checker: self, backend: backend, server: server, reactor: reactor)
            server.checkLoop.withLock { $0 = checkLoop }
            created.append(checkLoop)
            let offset = Int64(k) * Int64(firstInterval) / Int64(checked.count)
            reactor.submit { checkLoop.schedule(inMs: offset) }
        }
        loops_store(created)
    }

    private func loops_store(_ created: [ServerCheckLoop]) {
        loops.withLock { $0 = created }
    }

    public func stop() {
        for l in loops.withLock({ $0 }) { l.reactor.submit { l.cancel() } }
    }

    // MARK: - Applying transitions

    /// Executes a health transition of a server: balancer state, HC-9 messages, shutdown-sessions.
    func apply(_ transition: HealthState.Transition, backend: BackendRuntime, server: ServerRuntime) {
        guard transition != .none, let health = server.health else { return }
        let snap = health.snapshot
        let load = backend.balancer.load()
        switch transition {
        case .none:
            return
        case .wentDown:
            backend.balancer.setUp(server: server.index, false)
            let (after, active, backup) = Self.usableCounts(backend)
            let info = snap.lastInfo.map { ", info: \"\($0)\"" } ?? ""
            let msg = "Server \(backend.config.name)/\(server.config.name) is DOWN, reason: \(snap.lastStatus.reason)\(info), "
                + "check duration: \(snap.lastDurationMs)ms. \(active) active and \(backup) backup servers left. "
                + "\(load.servers[server.index].served) sessions active, 0 requeued, \(after.queued) remaining in queue."
            backend.logStateChange(msg, severity: 1, processLogger: logger)
            if active + backup == 0 {
                backend.logStateChange("backend \(backend.config.name) has no server available!", severity: 0, processLogger: logger)
            }
            if server.config.health.shutdownSessionsOnDown { server.shutdownSessions() }
        case .wentUp:
            backend.balancer.setUp(server: server.index, true)
            let (after, active, backup) = Self.usableCounts(backend)
            let msg = "Server \(backend.config.name)/\(server.config.name) is UP, reason: \(snap.lastStatus.reason), "
                + "check duration: \(snap.lastDurationMs)ms. \(active) active and \(backup) backup servers online. "
                + "0 sessions requeued, \(after.queued) total in queue."
            backend.logStateChange(msg, severity: 5, processLogger: logger)
        }
    }

    /// The balancer's view after a change, with the usable active and backup servers (HC-9 counts).
    private static func usableCounts(_ backend: BackendRuntime) -> (BackendLoad, active: Int, backup: Int) {
        let load = backend.balancer.load()
        var active = 0
        var backup = 0
        for (i, s) in load.servers.enumerated() where s.isUp && s.adminState != .maint {
            if backend.servers[i].config.backup { backup += 1 } else { active += 1 }
        }
        return (load, active, backup)
    }

    /// A passive observation from the data path (any event loop).
    func observe(_ event: PassiveEvent, backend: BackendRuntime, server: ServerRuntime) {
        guard let health = server.health, health.config.observe != .none else { return }
        let outcome = health.recordPassive(event, nowMs: wallClockMs())
        guard case .limitReached(let transition) = outcome else { return }
        apply(transition, backend: backend, server: server)
        // OBS-3 step 3: bring the next active check forward to at most fastinter from now.
        if let loop = server.checkLoop.withLock({ $0 }) {
            loop.reactor.submit { loop.pullEarlier(toMs: health.config.effectiveFastinter) }
        }
    }
}

/// The check schedule of one server; every mutable field is touched only on the reactor thread.
final class ServerCheckLoop: @unchecked Sendable {
    unowned let checker: HealthChecker
    let backend: BackendRuntime
    let server: ServerRuntime
    let reactor: ProbeReactor
    private var task: ProbeReactor.Timer?
    private var due: NIODeadline = .distantFuture
    private var running = false
    private var cancelled = false
    private let address: SocketAddress?
    /// The `option httpchk` request, built once (nil for L4 checks).
    private let httpRequest: [UInt8]?

    init(checker: HealthChecker, backend: BackendRuntime, server: ServerRuntime, reactor: ProbeReactor) {
        self.checker = checker
        self.backend = backend
        self.server = server
        self.reactor = reactor
        let cfg = server.config.health
        if let path = server.config.unixSocketPath, cfg.address == nil, cfg.port == nil {
            // A UNIX-socket server (e.g. a PHP-FPM pool) is checked on its socket.
            address = try? SocketAddress(unixDomainSocketPath: path)
        } else {
            address = try? SocketAddress(ipAddress: cfg.address ?? server.config.host, port: cfg.port ?? server.config.port)
        }
        if case .http(let method, let uri, let version, _) = backend.config.checkKind {
            httpRequest = Array("\(method) \(uri) \(version)\r\nConnection: close\r\n\r\n".utf8)
        } else {
            httpRequest = nil
        }
    }

    func schedule(inMs ms: Int64) {
        guard !cancelled else { return }
        task?.cancel()
        due = .now() + .milliseconds(ms)
        task = reactor.at(due.uptimeNanoseconds) { [self] in self.run() }
    }

    func pullEarlier(toMs ms: Int) {
        guard !running, !cancelled else { return }
        let target = NIODeadline.now() + .milliseconds(Int64(ms))
        if due > target { schedule(inMs: Int64(ms)) }
    }

    func cancel() {
        cancelled = true
        task?.cancel()
    }

    private func run() {
        guard !cancelled, let health = server.health else { return }
        let cfg = server.config.health
        // No checks while in maintenance (HC-4); look again later.
        if backend.balancer.adminState(server: server.index) == .maint {
            schedule(inMs: Int64(cfg.inter))
            return
        }
        guard let address else {
            finish(passed: false, status: .socketError, info: "bad check address", start: .now())
            return
        }
        running = true
        health.setRunning()
        let start = NIODeadline.now()
        let connectTimeout: Int
        if let t = backend.config.timeouts.check, t > 0 {
            connectTimeout = min(backend.config.timeouts.connect ?? cfg.inter, cfg.inter)
        } else {
            connectTimeout = cfg.inter
        }
        // A FastCGI server is checked with a plain L4 connect (spec FCGI-1).
        switch server.config.proto == .fcgi ? .tcp : backend.config.checkKind {
        case .tcp:
            HealthProbe.tcp(reactor: reactor, address: address, timeoutMs: connectTimeout) { [self] result in
                switch result {
                case .passed: self.finish(passed: true, status: .l4ok, info: nil, start: start)
                case .refused(let info): self.finish(passed: false, status: .l4connect, info: info, start: start)
                case .timeout: self.finish(passed: false, status: .l4timeout, info: nil, start: start)
                }
            }
        case .http(_, _, _, let expect):
            let readTimeout = backend.config.timeouts.check.flatMap { $0 > 0 ? $0 : nil } ?? cfg.inter
            HealthProbe.http(reactor: reactor, address: address, connectTimeoutMs: connectTimeout, readTimeoutMs: readTimeout,
                             request: httpRequest ?? []) { [self] result in
                switch result {
                case .refused(let info): self.finish(passed: false, status: .l4connect, info: info, start: start)
                case .connectTimeout: self.finish(passed: false, status: .l4timeout, info: nil, start: start)
                case .readTimeout: self.finish(passed: false, status: .l7timeout, info: nil, start: start)
                case .invalid: self.finish(passed: false, status: .l7response, info: nil, start: start)
                case .status(let code, let line):
                    let ok = expect.map { code == $0 } ?? (200...399).contains(code)
                    self.finish(passed: ok, status: ok ? .l7ok : .l7status, info: line, start: start)
                }
            }
        }
    }

    private func finish(passed: Bool, status: CheckStatus, info: String?, start: NIODeadline) {
        running = false
        guard !cancelled, let health = server.health else { return }
        let duration = Int((NIODeadline.now() - start).nanoseconds / 1_000_000)
        let t = health.recordCheck(passed: passed, status: status, info: info, durationMs: duration, nowMs: wallClockMs())
        checker.apply(t, backend: backend, server: server)
        var interval = Double(health.nextInterval())
        let spread = checker.runtime.snapshot.global.spreadChecks
        if spread > 0 {
            interval *= 1 + Double.random(in: -Double(spread)...Double(spread)) / 100
        }
        schedule(inMs: Int64(max(1, interval)))
    }
}
