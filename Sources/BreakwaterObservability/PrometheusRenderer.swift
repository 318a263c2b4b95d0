/// Prometheus text exposition (format 0.0.4) of the stats rows, under the names and labels of
/// HAProxy 2.6's `prometheus-exporter` service (`haproxy_frontend_*`, `haproxy_backend_*`,
/// `haproxy_server_*`, `haproxy_process_*`; labels `proxy`, `server`, `code`, `state`), so HAProxy
/// dashboards and alerts work unchanged. Families HAProxy does not have keep the `breakwater_`
/// prefix (the response-time histogram, the health counter, passive ejections). Every family has
/// `# HELP` and `# TYPE` lines and its samples right after them; empty columns produce no sample.
public enum PrometheusRenderer {
    public enum MetricType: String, Sendable {
        case gauge, counter, histogram
    }

    /// A response-time histogram of one backend.
    public struct BackendHistogram: Sendable {
        public var backend: String
        public var snapshot: ResponseTimeHistogram.Snapshot
        public init(backend: String, snapshot: ResponseTimeHistogram.Snapshot) {
            self.backend = backend
            self.snapshot = snapshot
        }
    }

    private enum Source {
        case column(StatColumn)
        /// One sample per status class, label `code`.
        case responses
        /// One sample per state, 1 for the current one, label `state`.
        case states([String])
        /// A column in seconds where the row holds ms.
        case msAsSeconds(StatColumn)
    }

    private struct Family {
        let name: String
        let help: String
        let type: MetricType
        let source: Source
        /// false for a family HAProxy's exporter does not have: it keeps the `breakwater_` prefix.
        var inHAProxy = true
    }

    private static let responseClasses: [(String, StatColumn)] = [
        ("1xx", .hrsp_1xx), ("2xx", .hrsp_2xx), ("3xx", .hrsp_3xx), ("4xx", .hrsp_4xx), ("5xx", .hrsp_5xx),
        ("other", .hrsp_other),
    ]

    private static let frontendFamilies: [Family] = [
        Family(name: "status", help: "Current status of the frontend (1 for the current state).", type: .gauge, source: .states(["DOWN", "UP"])),
        Family(name: "current_sessions", help: "Current number of active client connections.", type: .gauge, source: .column(.scur)),
        Family(name: "max_sessions", help: "Maximum observed number of active client connections.", type: .gauge, source: .column(.smax)),
        Family(name: "limit_sessions", help: "Configured session limit (frontend maxconn).", type: .gauge, source: .column(.slim)),
        Family(name: "sessions_total", help: "Total number of client connections.", type: .counter, source: .column(.stot)),
        Family(name: "bytes_in_total", help: "Total number of request bytes received.", type: .counter, source: .column(.bin)),
        Family(name: "bytes_out_total", help: "Total number of response bytes sent.", type: .counter, source: .column(.bout)),
        Family(name: "requests_denied_total", help: "Total number of requests denied by http-request rules.", type: .counter, source: .column(.dreq)),
        Family(name: "request_errors_total", help: "Total number of request errors.", type: .counter, source: .column(.ereq)),
        Family(name: "http_requests_total", help: "Total number of HTTP requests received.", type: .counter, source: .column(.req_tot)),
        Family(name: "http_responses_total", help: "Total number of HTTP responses by status class.", type: .counter, source: .responses),
    ]

    private static let backendFamilies: [Family] = [
        Family(name: "status", help: "Current status of the backend (1 for the current state).", type: .gauge, source: .states(["DOWN", "UP"])),
        Family(name: "current_queue", help: "Current number of requests waiting in the backend queue.", type: .gauge, source: .column(.qcur)),
        Family(name: "max_queue", help: "Maximum observed number of queued requests.", type: .gauge, source: .column(.qmax)),
        Family(name: "current_sessions", help: "Current number of requests assigned to the backend (served or queued).", type: .gauge, source: .column(.scur)),
        Family(name: "max_sessions", help: "Maximum observed number of requests assigned to the backend.", type: .gauge, source: .column(.smax)),
        Family(name: "limit_sessions", help: "Backend fullconn.", type: .gauge, source: .column(.slim)),
        Family(name: "sessions_total", help: "Total number of requests assigned to the backend.", type: .counter, source: .column(.stot)),
        Family(name: "bytes_in_total", help: "Total number of request bytes sent to servers.", type: .counter, source: .column(.bin)),
        Family(name: "bytes_out_total", help: "Total number of response bytes sent to clients.", type: .counter, source: .column(.bout)),
        Family(name: "requests_denied_total", help: "Total number of requests denied by http-request rules.", type: .counter, source: .column(.dreq)),
        Family(name: "connection_errors_total", help: "Total number of failed connection attempts to servers.", type: .counter, source: .column(.econ)),
        Family(name: "response_errors_total", help: "Total number of response errors.", type: .counter, source: .column(.eresp)),
        Family(name: "retry_warnings_total", help: "Total number of connection retries.", type: .counter, source: .column(.wretr)),
        Family(name: "redispatch_warnings_total", help: "Total number of redispatches.", type: .counter, source: .column(.wredis)),
        Family(name: "weight", help: "Sum of the effective weights of the usable servers.", type: .gauge, source: .column(.weight)),
        Family(name: "active_servers", help: "Number of usable active servers.", type: .gauge, source: .column(.act)),
        Family(name: "backup_servers", help: "Number of usable backup servers.", type: .gauge, source: .column(.bck)),
        Family(name: "loadbalanced_total", help: "Total number of times a server was selected by load balancing.", type: .counter, source: .column(.lbtot)),
        Family(name: "http_requests_total", help: "Total number of HTTP requests.", type: .counter, source: .column(.req_tot)),
        Family(name: "http_responses_total", help: "Total number of HTTP responses by status class.", type: .counter, source: .responses),
    ]

    private static let serverStates = ["DOWN", "UP", "MAINT", "DRAIN", "NOLB"]

    private static let serverFamilies: [Family] = [
        Family(name: "status", help: "Current status of the server (1 for the current state).", type: .gauge, source: .states(serverStates)),
        Family(name: "current_queue", help: "Current number of requests in the server's own queue.", type: .gauge, source: .column(.qcur)),
        Family(name: "max_queue", help: "Maximum observed number of requests in the server's own queue.", type: .gauge, source: .column(.qmax)),
        Family(name: "queue_limit", help: "Configured maxqueue of the server.", type: .gauge, source: .column(.qlimit)),
        Family(name: "current_sessions", help: "Current number of requests being served.", type: .gauge, source: .column(.scur)),
        Family(name: "max_sessions", help: "Maximum observed number of requests being served.", type: .gauge, source: .column(.smax)),
        Family(name: "limit_sessions", help: "Configured maxconn of the server.", type: .gauge, source: .column(.slim)),
        Family(name: "sessions_total", help: "Total number of requests sent to the server.", type: .counter, source: .column(.stot)),
        Family(name: "bytes_in_total", help: "Total number of request bytes sent to the server.", type: .counter, source: .column(.bin)),
        Family(name: "bytes_out_total", help: "Total number of response bytes received from the server.", type: .counter, source: .column(.bout)),
        Family(name: "connection_errors_total", help: "Total number of failed connection attempts.", type: .counter, source: .column(.econ)),
        Family(name: "response_errors_total", help: "Total number of response errors.", type: .counter, source: .column(.eresp)),
        Family(name: "retry_warnings_total", help: "Total number of connection retries.", type: .counter, source: .column(.wretr)),
        Family(name: "redispatch_warnings_total", help: "Total number of redispatches.", type: .counter, source: .column(.wredis)),
        Family(name: "weight", help: "Current weight of the server.", type: .gauge, source: .column(.weight)),
        Family(name: "check_failures_total", help: "Total number of failed health checks.", type: .counter, source: .column(.chkfail)),
        Family(name: "check_up_down_total", help: "Total number of UP to DOWN transitions.", type: .counter, source: .column(.chkdown)),
        Family(name: "downtime_seconds_total", help: "Total time spent DOWN, in seconds.", type: .counter, source: .column(.downtime)),
        Family(name: "check_duration_seconds", help: "Duration of the last health check, in seconds.", type: .gauge, source: .msAsSeconds(.check_duration)),
        Family(name: "check_health", help: "Current health counter of the server (HC-3 h).", type: .gauge, source: .column(.check_health), inHAProxy: false),
        Family(name: "passive_ejections_total", help: "Total number of times the passive error limit was reached.", type: .counter, source: .column(.hanafail), inHAProxy: false),
        Family(name: "loadbalanced_total", help: "Total number of times the server was selected by load balancing.", type: .counter, source: .column(.lbtot)),
        Family(name: "http_responses_total", help: "Total number of HTTP responses by status class.", type: .counter, source: .responses),
    ]

    public static func render(rows: [StatsRow], histograms: [BackendHistogram] = [], process: ProcessInfo? = nil) -> String {
        var out = ""
        if let process { renderProcess(&out, process) }
        let frontends = rows.filter { $0.type == .frontend }
        let backends = rows.filter { $0.type == .backend }
        let servers = rows.filter { $0.type == .server }
        for family in frontendFamilies {
            emit(&out, prefix: "frontend_", family, frontends) { [("proxy", $0.proxy)] }
        }
        for family in backendFamilies {
            emit(&out, prefix: "backend_", family, backends) { [("proxy", $0.proxy)] }
        }
        if !histograms.isEmpty {
            let name = "breakwater_backend_response_time_seconds"
            out += "# HELP \(name) Time from server connection to complete response headers (Tr), in seconds.\n"
            out += "# TYPE \(name) histogram\n"
            for h in histograms {
                let proxy = [("proxy", h.backend)]
                for (i, bound) in ResponseTimeHistogram.boundsMs.enumerated() {
                    out += sample(name + "_bucket", proxy + [("le", seconds(bound))], String(h.snapshot.cumulative[i]))
                }
                out += sample(name + "_bucket", proxy + [("le", "+Inf")], String(h.snapshot.count))
                out += sample(name + "_sum", proxy, seconds(h.snapshot.sumMs))
                out += sample(name + "_count", proxy, String(h.snapshot.count))
            }
        }
        for family in serverFamilies {
            emit(&out, prefix: "server_", family, servers) { [("proxy", $0.proxy), ("server", $0.name)] }
        }
        return out
    }

    private static func emit(_ out: inout String, prefix: String, _ family: Family, _ rows: [StatsRow],
                             labels: (StatsRow) -> [(String, String)]) {
        var samples = ""
        let name = (family.inHAProxy ? "haproxy_" : "breakwater_") + prefix + family.name
        for row in rows {
            let base = labels(row)
            switch family.source {
            case .column(let c):
                if let v = row.int(c) { samples += sample(name, base, String(v)) }
            case .msAsSeconds(let c):
                if let v = row.int(c) { samples += sample(name, base, seconds(v)) }
            case .responses:
                for (code, c) in responseClasses {
                    if let v = row.int(c) { samples += sample(name, base + [("code", code)], String(v)) }
                }
            case .states(let states):
                let current = stateLabel(row)
                for s in states { samples += sample(name, base + [("state", s)], s == current ? "1" : "0") }
            }
        }
        guard !samples.isEmpty else { return }
        out += "# HELP \(name) \(family.help)\n# TYPE \(name) \(family.type.rawValue)\n" + samples
    }

    /// The `state` label of a row, as HAProxy's exporter: frontends and backends UP/DOWN, servers
    /// UP/DOWN/MAINT/DRAIN.
    static func stateLabel(_ row: StatsRow) -> String {
        switch row.displayState {
        case .up: return "UP"
        case .goingDown, .noCheck: return "UP"
        case .goingUp, .down, .unknown: return "DOWN"
        case .maint: return "MAINT"
        case .drain: return "DRAIN"
        }
    }

    static func sample(_ name: String, _ labels: [(String, String)], _ value: String) -> String {
        if labels.isEmpty { return "\(name) \(value)\n" }
        let text = labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
        return "\(name){\(text)} \(value)\n"
    }

    /// Label value escaping: backslash, double quote and line feed.
    static func escape(_ value: String) -> String {
        var out = ""
        for ch in value {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            case "\r\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }

    /// Milliseconds as a decimal number of seconds (`1` → `0.001`, `2500` → `2.5`), exact.
    static func seconds(_ ms: Int) -> String {
        let sign = ms < 0 ? "-" : ""
        let m = ms.magnitude
        let whole = m / 1000
        var frac = String(m % 1000)
        while frac.count < 3 { frac = "0" + frac }
        while frac.hasSuffix("0") { frac.removeLast() }
        return sign + String(whole) + (frac.isEmpty ? "" : "." + frac)
    }
}
