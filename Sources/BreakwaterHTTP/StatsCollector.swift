import BreakwaterObservability

/// Reads the runtime's counters into the stats views (`show stat`, Prometheus, the stats page).
/// Read-only: it never changes data-path state.
public struct StatsCollector: Sendable {
    public let runtime: ProxyRuntime

    public init(runtime: ProxyRuntime) {
        self.runtime = runtime
    }

    /// Prometheus text exposition (placeholder until the metrics work lands).
    public func prometheusText() -> String {
        "# breakwater metrics\n"
    }

    /// The HTML stats page (placeholder until the stats page work lands).
    public func htmlPage(refreshMs: Int?) -> String {
        "<html><body><h1>Breakwater statistics</h1></body></html>\n"
    }
}
