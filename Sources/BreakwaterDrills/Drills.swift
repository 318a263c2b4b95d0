#if canImport(Glibc)
import Glibc
#endif
import BreakwaterConfigModel
import Foundation
import Synchronization

/// The write-ups' incidents replayed on loopback against the user's configuration. Each drill starts its
/// own backends and a child `breakwater proxy` per variant, applies bounded load for `seconds`, and stops
/// everything it started.
public struct Drills: Sendable {
    public static let names = ["health-storm", "cascade", "botnet", "fpm-burst", "port-exhaustion", "db-storm", "heartbeat-storm"]

    public var binary: String
    public var configText: String
    public var snapshot: ConfigSnapshot
    public var seconds: Double
    /// Scale: servers for health-storm, clients for the load drills (kept small in tests).
    public var scale: Int
    /// heartbeat-storm: writers (ingest nodes), distinct machines, and which database.
    public var writers = 16
    public var machines = 200
    public var database = DrillDatabase.auto

    public init(binary: String, configText: String, snapshot: ConfigSnapshot, seconds: Double, scale: Int = 1) {
        self.binary = binary
        self.configText = configText
        self.snapshot = snapshot
        self.seconds = seconds
        self.scale = max(1, scale)
    }

    public func run(_ name: String) throws -> DrillReport {
        switch name {
        case "health-storm": return try healthStorm()
        case "cascade": return try cascade()
        case "botnet": return try botnet()
        case "fpm-burst": return try fpmBurst()
        case "port-exhaustion": return try portExhaustion()
        case "db-storm": return try dbStorm()
        case "heartbeat-storm": return try heartbeatStorm()
        default:
            throw DrillError("unknown drill '\(name)'; drills: \(Self.names.joined(separator: ", "))")
        }
    }

    // MARK: - target

    /// The backend the first frontend sends traffic to by default.
    var target: BackendConfig {
        get throws {
            if let name = snapshot.frontends.first?.defaultBackend, let be = snapshot.backend(named: name), !be.servers.isEmpty { return be }
            guard let be = snapshot.backends.first(where: { !$0.servers.isEmpty }) else {
                throw DrillError("the configuration has no backend with servers to drill")
            }
            return be
        }
    }

    var checkURI: String {
        get throws {
            if case .http(_, let uri, _, _) = try target.checkKind { return uri }
            return "/healthz"
        }
    }

    /// Starts backends and the proxy for one variant, runs `body`, stops both.
    func withVariant<T>(backends count: Int, behavior: BackendBehavior, health: String?,
                        config: ([Int]) throws -> DrillConfig, _ body: (DrillBackends, DrillProxy) throws -> T) throws -> T {
        let backends = try DrillBackends.start(count: count, behavior: behavior, healthURI: health)
        defer { backends.stop() }
        let proxy = try DrillProxy(binary: binary, config: try config(backends.ports))
        defer { proxy.stop() }
        return try body(backends, proxy)
    }

    static func isCheckLine(_ l: String) -> Bool {
        l.hasPrefix("option httpchk") || l.hasPrefix("http-check") || l.hasPrefix("option tcp-check")
            || l.hasPrefix("observe") || l.hasPrefix("error-limit") || l.hasPrefix("on-error") || l.hasPrefix("timeout check")
    }

    static func withoutParams(_ w: [String], _ names: Set<String>, valued: Bool = true) -> [String] {
        var out: [String] = []
        var i = 0
        while i < w.count {
            if i >= 3, names.contains(w[i]) { i += valued ? 2 : 1; continue }
            out.append(w[i])
            i += 1
        }
        return out
    }

    // MARK: - health-storm

    /// N servers checked as configured (L7 when `option httpchk`), then with `option tcp-check`: checks/s and
    /// the proxy's CPU per check.
    func healthStorm() throws -> DrillReport {
        let be = try target
        let uri = try checkURI
        let n = 20 * scale
        let isL7: Bool = { if case .http = be.checkKind { return true }; return false }()
        func variant(_ label: String, l4: Bool) throws -> DrillRun {
            try withVariant(backends: n, behavior: BackendBehavior(), health: uri, config: { ports in
                try DrillConfig(original: configText, backend: be.name, ports: ports,
                                edit: { l4 && Self.isCheckLine($0) ? nil : $0 },
                                serverEdit: { $0.contains("check") ? $0 : $0 + ["check"] },
                                addToBackend: l4 ? ["option tcp-check"] : [], dropRequestRules: true)
            }) { backends, proxy in
                let cpu0 = proxy.cpuSeconds, c0 = backends.totalConnections, h0 = backends.totalHealthRequests
                usleep(UInt32(seconds * 1_000_000))
                let cpu = proxy.cpuSeconds - cpu0
                let checks = l4 ? Double(backends.totalConnections - c0) : Double(backends.totalHealthRequests - h0)
                return DrillRun(label: label, metrics: [
                    ("servers", Double(n)), ("checks", checks), ("checks/s", checks / seconds),
                    ("proxy CPU s", cpu), ("µs CPU per check", checks > 0 ? cpu * 1e6 / checks : 0),
                    ("app requests for checks", Double(backends.totalHealthRequests - h0)),
                ])
            }
        }
        let a = try variant(isL7 ? "as configured (L7 \(uri))" : "as configured (L4)", l4: !isL7)
        let b = try variant("option tcp-check", l4: true)
        let summary = "L7 checks run the application once per check (\(DrillReport.number(a.value("app requests for checks") ?? 0)) requests); "
            + "L4 checks open and close a connection and never reach it (\(DrillReport.number(b.value("app requests for checks") ?? 0)))."
        return DrillReport(drill: "health-storm", seconds: seconds, runs: [a, b], summary: summary)
    }

    // MARK: - cascade

    /// Servers that slow down under load: active L7 checks (timeout check 300ms) eject healthy but slow
    /// servers; `option tcp-check` + `observe layer7` keeps them.
    func cascade() throws -> DrillReport {
        let be = try target
        let uri = try checkURI
        let n = max(4, min(be.servers.count, 8))
        let behavior = BackendBehavior(serviceMs: 20, slowdownPerInflightMs: 40, slowHealth: true)
        func variant(_ label: String, passive: Bool) throws -> DrillRun {
            try withVariant(backends: n, behavior: behavior, health: uri, config: { ports in
                try DrillConfig(original: configText, backend: be.name, ports: ports,
                                edit: { Self.isCheckLine($0) ? nil : $0 },
                                serverEdit: { Self.withoutParams($0, ["check"], valued: false) + ["check", "inter", "500ms", "fall", "2", "rise", "2"] },
                                addToBackend: passive ? ["option tcp-check", "observe layer7", "error-limit 10", "on-error mark-down"]
                                    : ["option httpchk GET \(uri)", "timeout check 300ms"],
                                addToFrontends: ["stats enable", "stats uri /__drill_stats"], dropRequestRules: true)
            }) { _, proxy in
                var load = LoadClient(port: proxy.port)
                load.clients = 6 * n * scale
                load.seconds = seconds
                load.timeoutSeconds = Int(seconds) + 5
                let sampler = DownSampler(port: proxy.port, backend: be.name)
                sampler.start()
                let r = load.run()
                let maxDown = sampler.stop()
                return DrillRun(label: label, metrics: [
                    ("servers", Double(n)), ("requests", Double(r.total)), ("200", Double(r.count(200))),
                    ("503", Double(r.count(503))), ("504", Double(r.count(504))), ("max servers DOWN", Double(maxDown)),
                    ("p99 ms", r.percentile(0.99)),
                ])
            }
        }
        let a = try variant("L7 checks (timeout check 300ms)", passive: false)
        let b = try variant("tcp-check + observe layer7", passive: true)
        let summary = "Slow-but-healthy servers: L7 checks ejected up to \(DrillReport.number(a.value("max servers DOWN") ?? 0)) of \(n); "
            + "L4 checks with passive observation ejected \(DrillReport.number(b.value("max servers DOWN") ?? 0))."
        return DrillReport(drill: "cascade", seconds: seconds, runs: [a, b], summary: summary)
    }

    // MARK: - botnet

    /// Abusive clients (no pause, 127.1.0.x) and polite ones (one request per 200 ms, 127.2.0.x) through the
    /// configuration's own stick-table rules.
    func botnet() throws -> DrillReport {
        let tracks = snapshot.frontends.contains { $0.stickTable != nil || !$0.tcpConnectionRules.isEmpty }
            || snapshot.backends.contains { $0.stickTable != nil }
        guard tracks else {
            return DrillReport(drill: "botnet", seconds: seconds, runs: [], summary: "",
                               skippedReason: "the configuration has no stick-table: nothing limits abusive clients (see the second write-up's 'http_req_rate(10s)' rules)")
        }
        let be = try target
        return try withVariant(backends: max(1, min(be.servers.count, 4)), behavior: BackendBehavior(serviceMs: 1), health: try checkURI, config: { ports in
            try DrillConfig(original: configText, backend: be.name, ports: ports)
        }) { _, proxy in
            var abusive = LoadClient(port: proxy.port)
            abusive.clients = 10 * scale
            abusive.sourceAddresses = (1...abusive.clients).map { "127.1.0.\($0)" }
            abusive.seconds = seconds
            abusive.timeoutSeconds = Int(seconds) + 2
            var polite = LoadClient(port: proxy.port)
            polite.clients = 4
            polite.sourceAddresses = (1...4).map { "127.2.0.\($0)" }
            polite.pauseMs = 200
            polite.seconds = seconds
            polite.timeoutSeconds = Int(seconds) + 2
            let politeResult = Mutex<LoadResult?>(nil)
            let politeLoad = polite
            let t = Thread { let r = politeLoad.run(); politeResult.withLock { $0 = r } }
            t.start()
            let a = abusive.run()
            while !t.isFinished { usleep(20_000) }
            let p = politeResult.withLock { $0 } ?? LoadResult()
            let run = DrillRun(label: "as configured", metrics: [
                ("abusive requests", Double(a.total)), ("abusive served 200", Double(a.count(200))),
                ("abusive share served %", a.total > 0 ? 100 * Double(a.count(200)) / Double(a.total) : 0),
                ("abusive refused or tarpitted", Double(a.total - a.count(200))),
                ("polite requests", Double(p.total)), ("polite served 200 %", p.total > 0 ? 100 * Double(p.count(200)) / Double(p.total) : 0),
                ("polite p99 ms", p.percentile(0.99)),
            ])
            let summary = "Abusive clients got \(DrillReport.number(run.value("abusive share served %") ?? 0)) % of their requests served; "
                + "polite clients \(DrillReport.number(run.value("polite served 200 %") ?? 0)) % with p99 \(DrillReport.number(p.percentile(0.99))) ms."
            return DrillReport(drill: "botnet", seconds: seconds, runs: [run], summary: summary)
        }
    }

    // MARK: - fpm-burst

    /// A burst of 8 × workers concurrent requests at a pool of `workers` (100 ms each): with server `maxconn`
    /// the excess waits in Breakwater's queue; without it, it waits in the pool's backlog until
    /// `timeout server` (500 ms here) turns it into a 504.
    func fpmBurst() throws -> DrillReport {
        let be = try target
        let workers = be.servers.first.map { $0.maxconn > 0 ? min($0.maxconn, 8 * scale) : 4 * scale } ?? 4
        let behavior = BackendBehavior(workers: workers, serviceMs: 100)
        func variant(_ label: String, maxconn: Bool) throws -> DrillRun {
            try withVariant(backends: 1, behavior: behavior, health: try checkURI, config: { ports in
                try DrillConfig(original: configText, backend: be.name, ports: ports,
                                edit: { $0.hasPrefix("timeout server") || $0.hasPrefix("timeout queue") ? nil : $0 },
                                serverEdit: { w in
                                    let base = Self.withoutParams(w, ["maxconn"])
                                    return maxconn ? base + ["maxconn", "\(workers)"] : base
                                },
                                addToBackend: ["timeout server 500ms", "timeout queue 10s"], dropRequestRules: true)
            }) { _, proxy in
                var load = LoadClient(port: proxy.port)
                load.clients = 8 * workers
                load.seconds = seconds
                load.timeoutSeconds = Int(seconds) + 11
                let r = load.run()
                return DrillRun(label: label, metrics: [
                    ("workers", Double(workers)), ("clients", Double(load.clients)), ("requests", Double(r.total)),
                    ("200", Double(r.count(200))), ("503", Double(r.count(503))), ("504", Double(r.count(504))),
                    ("p50 ms", r.percentile(0.5)), ("p99 ms", r.percentile(0.99)),
                ])
            }
        }
        let a = try variant("maxconn \(workers) (queue)", maxconn: true)
        let b = try variant("no maxconn", maxconn: false)
        let summary = "With maxconn the burst queued in Breakwater (\(DrillReport.number(a.value("504") ?? 0)) 504s); "
            + "without it the pool's backlog timed out \(DrillReport.number(b.value("504") ?? 0)) requests as 504."
        return DrillReport(drill: "fpm-burst", seconds: seconds, runs: [a, b], summary: summary)
    }

    // MARK: - port-exhaustion

    /// Keep-alive clients through the configuration's `http-reuse`, then with `http-reuse never`: server
    /// connections opened per second and the TIME_WAIT sockets they leave.
    func portExhaustion() throws -> DrillReport {
        let be = try target
        func variant(_ label: String, never: Bool) throws -> DrillRun {
            try withVariant(backends: 1, behavior: BackendBehavior(), health: try checkURI, config: { ports in
                try DrillConfig(original: configText, backend: be.name, ports: ports,
                                edit: { never && $0.hasPrefix("http-reuse") ? nil : $0 },
                                addToBackend: never ? ["http-reuse never"] : [], dropRequestRules: true)
            }) { backends, proxy in
                var load = LoadClient(port: proxy.port)
                load.clients = 4 * scale
                load.seconds = seconds
                let c0 = backends.totalConnections
                let r = load.run()
                let conns = Double(backends.totalConnections - c0)
                return DrillRun(label: label, metrics: [
                    ("requests", Double(r.total)), ("req/s", Double(r.total) / seconds),
                    ("server connections opened", conns), ("server connections/s", conns / seconds),
                    ("TIME_WAIT on server links", Double(TimeWait.count(ports: Set(backends.ports)))),
                ])
            }
        }
        let a = try variant("http-reuse \(be.httpReuse.rawValue)", never: be.httpReuse == .never)
        let b = try variant("http-reuse never", never: true)
        let summary = "Reuse opened \(DrillReport.number(a.value("server connections/s") ?? 0)) server connections/s; "
            + "no reuse \(DrillReport.number(b.value("server connections/s") ?? 0))/s, leaving \(DrillReport.number(b.value("TIME_WAIT on server links") ?? 0)) sockets in TIME_WAIT for 60 s."
        return DrillReport(drill: "port-exhaustion", seconds: seconds, runs: [a, b], summary: summary)
    }
}
