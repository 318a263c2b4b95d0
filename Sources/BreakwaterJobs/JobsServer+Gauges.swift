import NIOConcurrencyHelpers

/// What the dashboard's gauge snapshot reads from a running jobs section.
struct JobsGaugeSource: Sendable {
    var metrics: JobsMetrics
    var source: any JobIntake
}

extension JobsServer {
    /// The dashboard's gauge snapshot (empty when the section is not running): queue depth, attempts running,
    /// jobs done, failed attempts by reason, dead jobs.
    public func gauges() async -> [String: Double] {
        guard let source = gaugeSource.withLockedValue({ $0 }) else { return [:] }
        let c = source.metrics.counters.withLockedValue { $0 }
        var g: [String: Double] = [
            "running": Double(c.running),
            "done_total": Double(c.completed),
            "dead_total": Double(c.dead),
            "enqueued_total": Double(c.enqueued),
        ]
        for reason in FailureReason.allCases { g["failed_\(reason)_total"] = Double(c.failed[reason] ?? 0) }
        if let depth = try? await source.source.waitingCount() { g["queue_depth"] = Double(depth) }
        return g
    }
}
