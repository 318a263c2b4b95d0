/// The `haproxy_process_*` families: what the process-wide `show info` fields say, under the names
/// of HAProxy 2.6's exporter.
extension PrometheusRenderer {
    /// Process-wide values for the `haproxy_process_*` families.
    public struct ProcessInfo: Sendable {
        public var version: String
        public var nbthread: Int
        public var uptimeSeconds: Int
        public var startTimeSeconds: Int
        public var currentConnections: Int
        public var maxConnections: Int
        public var connectionsTotal: Int?
        public var stopping: Bool
        public init(version: String, nbthread: Int, uptimeSeconds: Int, startTimeSeconds: Int, currentConnections: Int,
                    maxConnections: Int, connectionsTotal: Int? = nil, stopping: Bool = false) {
            self.version = version
            self.nbthread = nbthread
            self.uptimeSeconds = uptimeSeconds
            self.startTimeSeconds = startTimeSeconds
            self.currentConnections = currentConnections
            self.maxConnections = maxConnections
            self.connectionsTotal = connectionsTotal
            self.stopping = stopping
        }
    }

    static func renderProcess(_ out: inout String, _ p: ProcessInfo) {
        func family(_ name: String, _ help: String, _ type: MetricType, _ value: String, _ labels: [(String, String)] = []) {
            let full = "haproxy_process_" + name
            out += "# HELP \(full) \(help)\n# TYPE \(full) \(type.rawValue)\n" + sample(full, labels, value)
        }
        family("nbthread", "Number of event-loop threads.", .gauge, String(p.nbthread))
        family("uptime_seconds", "How long ago this process was started, in seconds.", .gauge, String(p.uptimeSeconds))
        family("start_time_seconds", "Start time of this process, in seconds since the epoch.", .gauge, String(p.startTimeSeconds))
        family("max_connections", "Maximum number of concurrent connections (global maxconn).", .gauge, String(p.maxConnections))
        family("current_connections", "Number of active client connections.", .gauge, String(p.currentConnections))
        if let total = p.connectionsTotal {
            family("connections_total", "Total number of accepted client connections.", .counter, String(total))
        }
        family("stopping", "1 if this process is stopping (draining after a reload or SIGTERM), otherwise 0.",
               .gauge, p.stopping ? "1" : "0")
        family("build_info", "Build information (the version is a label).", .gauge, "1", [("version", p.version)])
    }
}
