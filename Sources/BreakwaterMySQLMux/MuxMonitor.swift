import BreakwaterMySQLWire
import DequeModule
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One row of `monitor.mysql_server_ping_log` or `monitor.mysql_server_connect_log`, as ProxySQL names them.
public struct MuxMonitorLogRow: Sendable, Equatable {
    public var hostname: String
    public var port: Int
    /// Wall-clock start of the check, microseconds since 1970.
    public var timeStartUs: Int64
    /// How long the check took when it succeeded; 0 with an error.
    public var successTimeUs: Int64
    public var error: String?
}

/// The monitor's settings: the `mysql-monitor_*` admin variables (ProxySQL's defaults).
public struct MuxMonitorSettings: Sendable, Equatable {
    public var enabled = true
    public var username = "monitor"
    public var password = "monitor"
    public var connectIntervalMs = 60_000
    public var connectTimeoutMs = 600
    public var pingIntervalMs = 10_000
    public var pingTimeoutMs = 1_000
    public var pingMaxFailures = 3
    /// Rows kept per log table (oldest dropped first).
    public var maxLogRows = 10_000

    public init() {}
}

/// ProxySQL's monitor: every backend server is connected to on one interval and pinged on another with the
/// monitor user. `pingMaxFailures` missed pings in a row shun the server (the pool stops borrowing from it);
/// the first answered ping brings it back. Loop-confined: runs on the mux's event loop and never blocks.
final class MuxMonitor {
    private struct Target {
        var host: String
        var port: Int
        var key: String { "\(host):\(port)" }
    }

    private struct Probe {
        var connection: MySQLClientConnection?
        var inFlight = false
        var failures = 0
    }

    let eventLoop: EventLoop
    private(set) var settings: MuxMonitorSettings
    private var targets: [Target] = []
    private var probes: [String: Probe] = [:]
    private var pingTask: RepeatedTask?
    private var connectTask: RepeatedTask?
    private(set) var pingLog: Deque<MuxMonitorLogRow> = []
    private(set) var connectLog: Deque<MuxMonitorLogRow> = []
    /// Called with a server's `host:port` and whether it is now shunned.
    private let setShunned: (String, Bool) -> Void

    init(eventLoop: EventLoop, setShunned: @escaping (String, Bool) -> Void) {
        self.eventLoop = eventLoop
        self.settings = MuxMonitorSettings()
        self.setShunned = setShunned
    }

    /// LOAD … TO RUNTIME: the servers to watch and the intervals; timers restart only when the settings change.
    func apply(servers: [MuxRuntimeConfig.Server], settings newSettings: MuxMonitorSettings) {
        var seen = Set<String>()
        targets = servers.filter { $0.status != .offlineHard }.map { Target(host: $0.host, port: $0.port) }
            .filter { seen.insert($0.key).inserted }
        for (key, probe) in probes where !seen.contains(key) {
            probe.connection.map { _ = $0.close() }
            probes[key] = nil
            setShunned(key, false)
        }
        let restart = newSettings != settings || pingTask == nil
        settings = newSettings
        if restart { schedule() }
    }

    func stop() {
        pingTask?.cancel()
        connectTask?.cancel()
        pingTask = nil
        connectTask = nil
        for probe in probes.values { probe.connection.map { _ = $0.close() } }
        probes = [:]
    }

    private func schedule() {
        pingTask?.cancel()
        connectTask?.cancel()
        pingTask = nil
        connectTask = nil
        guard settings.enabled else { return }
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        pingTask = eventLoop.scheduleRepeatedTask(
            initialDelay: .milliseconds(Int64(min(settings.pingIntervalMs, 1000))), delay: .milliseconds(Int64(max(settings.pingIntervalMs, 10)))
        ) { _ in loopBound.value.pingAll() }
        connectTask = eventLoop.scheduleRepeatedTask(
            initialDelay: .zero, delay: .milliseconds(Int64(max(settings.connectIntervalMs, 10)))
        ) { _ in loopBound.value.connectAll() }
    }

    // MARK: connect checks

    private func connectAll() {
        for target in targets { connectCheck(target) }
    }

    /// A fresh connection and login with the monitor user, closed at once: the connect log's row.
    private func connectCheck(_ target: Target) {
        let started = Self.wallClockUs()
        let begin = NIODeadline.now()
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        open(target).whenComplete { result in
            let monitor = loopBound.value
            switch result {
            case .success(let conn):
                monitor.record(&monitor.connectLog, MuxMonitorLogRow(
                    hostname: target.host, port: target.port, timeStartUs: started, successTimeUs: Self.elapsedUs(since: begin), error: nil))
                _ = conn.close()
            case .failure(let error):
                monitor.record(&monitor.connectLog, MuxMonitorLogRow(
                    hostname: target.host, port: target.port, timeStartUs: started, successTimeUs: 0, error: Self.describe(error)))
            }
        }
    }

    // MARK: pings

    private func pingAll() {
        for target in targets { ping(target) }
    }

    /// COM_PING on the server's kept monitor connection (opened first if there is none), bounded by the ping timeout.
    private func ping(_ target: Target) {
        var probe = probes[target.key] ?? Probe()
        guard !probe.inFlight else { return }
        probe.inFlight = true
        probes[target.key] = probe
        let started = Self.wallClockUs()
        let begin = NIODeadline.now()
        let timeout = TimeAmount.milliseconds(Int64(settings.pingTimeoutMs))
        let loop = eventLoop
        let connection: EventLoopFuture<MySQLClientConnection> =
            probe.connection.map { loop.makeSucceededFuture($0) } ?? open(target)
        let loopBound = NIOLoopBound(self, eventLoop: loop)
        connection.flatMap { conn -> EventLoopFuture<MySQLClientConnection> in
            loopBound.value.probes[target.key]?.connection = conn
            let answered = conn.send(MySQLCommandPacket.make(.ping), kind: .okOrError).map { _ in conn }
            let expiry = loop.scheduleTask(in: timeout) {
                conn.channel.close(promise: nil)
            }
            answered.whenComplete { _ in expiry.cancel() }
            return answered
        }.whenComplete { result in
            loopBound.value.pingFinished(target, started: started, begin: begin, result: result)
        }
    }

    private func pingFinished(_ target: Target, started: Int64, begin: NIODeadline, result: Result<MySQLClientConnection, Error>) {
        guard var probe = probes[target.key] else {
            // The server left the configuration meanwhile.
            if case .success(let conn) = result { _ = conn.close() }
            return
        }
        probe.inFlight = false
        switch result {
        case .success:
            record(&pingLog, MuxMonitorLogRow(
                hostname: target.host, port: target.port, timeStartUs: started, successTimeUs: Self.elapsedUs(since: begin), error: nil))
            probe.failures = 0
            probes[target.key] = probe
            setShunned(target.key, false)
        case .failure(let error):
            let elapsed = Self.elapsedUs(since: begin)
            let why = elapsed >= Int64(settings.pingTimeoutMs) * 1000 ? "timeout on ping (\(settings.pingTimeoutMs) ms)" : Self.describe(error)
            record(&pingLog, MuxMonitorLogRow(hostname: target.host, port: target.port, timeStartUs: started, successTimeUs: 0, error: why))
            probe.connection.map { _ = $0.close() }
            probe.connection = nil
            // As ProxySQL: a server that refuses the monitor's login is up; only other errors count towards shunning.
            if case MySQLWireError.server(let err) = error, err.code == 1045 {
                probes[target.key] = probe
                return
            }
            probe.failures += 1
            probes[target.key] = probe
            if probe.failures >= settings.pingMaxFailures { setShunned(target.key, true) }
        }
    }

    // MARK: helpers

    private func open(_ target: Target) -> EventLoopFuture<MySQLClientConnection> {
        MySQLClientConnection.connect(
            host: target.host, port: target.port, user: settings.username, password: settings.password,
            on: eventLoop, connectTimeout: .milliseconds(Int64(settings.connectTimeoutMs)))
    }

    private func record(_ log: inout Deque<MuxMonitorLogRow>, _ row: MuxMonitorLogRow) {
        log.append(row)
        while log.count > max(settings.maxLogRows, 1) { log.removeFirst() }
    }

    private static func describe(_ error: Error) -> String {
        if case MySQLWireError.server(let err) = error { return "\(err.code): \(err.message)" }
        return "\(error)"
    }

    static func wallClockUs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
    }

    private static func elapsedUs(since begin: NIODeadline) -> Int64 {
        (NIODeadline.now() - begin).nanoseconds / 1000
    }
}
