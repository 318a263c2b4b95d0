import NIOConcurrencyHelpers

/// What the dashboard's gauge snapshot reads from a running telemetry section.
struct TelemetryGaugeSource: Sendable {
    var metrics: TelemetryMetrics
    var log: any TelemetryLog
}

extension TelemetryServer {
    /// The dashboard's gauge snapshot (empty when the section is not running): records accepted so far, log
    /// lag (records not yet committed by the coalescer), rows and records of the last window, sink errors.
    public func gauges() -> [String: Double] {
        guard let source = gaugeSource.withLockedValue({ $0 }) else { return [:] }
        let v = source.metrics.snapshot
        let end = source.log.endOffset
        return [
            "records_accepted_total": Double(v.acceptedRecords),
            "requests_rejected_total": Double(v.rejectedRequests),
            "log_lag_records": Double(end - min(end, UInt64(v.committedOffset))),
            "last_window_rows": Double(v.lastWindowRows),
            "last_window_records": Double(v.lastWindowRecords),
            "windows_total": Double(v.windows),
            "upsert_statements_total": Double(v.upsertStatements),
            "sink_errors_total": Double(v.sinkErrors),
        ]
    }
}
