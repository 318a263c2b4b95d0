import Foundation

/// Every metric of a telemetry section (exposed at `GET /metrics` in the Prometheus text format).
final class TelemetryMetrics: @unchecked Sendable {
    struct Values {
        /// breakwater_telemetry_accepted_records_total (counter): records fsynced and applied.
        var acceptedRecords = 0
        /// breakwater_telemetry_rejected_requests_total (counter): 400/413/415 answers.
        var rejectedRequests = 0
        /// breakwater_telemetry_log_full_refusals_total (counter): 503 answers because max-log-size was reached.
        var logFullRefusals = 0
        /// breakwater_telemetry_log_write_errors_total (counter).
        var logWriteErrors = 0
        /// breakwater_telemetry_state_errors_total (counter): batches logged but not applied to the latest state.
        var stateErrors = 0
        /// breakwater_telemetry_fsyncs_total (counter): one per group commit.
        var fsyncs = 0
        /// breakwater_telemetry_windows_total (counter): windows written to the sink.
        var windows = 0
        /// breakwater_telemetry_window_rows (gauge): rows of the last window written.
        var lastWindowRows = 0
        /// breakwater_telemetry_window_records (gauge): records folded into the last window written.
        var lastWindowRecords = 0
        /// breakwater_telemetry_upsert_statements_total (counter): INSERT statements sent to the sink.
        var upsertStatements = 0
        /// breakwater_telemetry_rows_written_total (counter).
        var rowsWritten = 0
        /// breakwater_telemetry_sink_errors_total (counter): failed window writes (each retried).
        var sinkErrors = 0
        /// breakwater_telemetry_upsert_seconds (summary sum/count): one window's transaction.
        var upsertSecondsSum = 0.0
        var upsertCount = 0
        /// breakwater_telemetry_committed_offset (gauge).
        var committedOffset = 0
    }

    private let lock = NSLock()
    private var values = Values()
    let section: String

    init(section: String) { self.section = section }

    func add(_ key: WritableKeyPath<Values, Int>, _ n: Int) { lock.withLock { values[keyPath: key] += n } }
    func set(_ key: WritableKeyPath<Values, Int>, _ n: Int) { lock.withLock { values[keyPath: key] = n } }
    func update(_ body: (inout Values) -> Void) { lock.withLock { body(&values) } }
    var snapshot: Values { lock.withLock { values } }

    /// The exposition text; `logEnd`, `logBytes` are read from the log at scrape time.
    func render(logEnd: UInt64, logBytes: Int, stateMachines: Int?) -> String {
        let v = snapshot
        let l = "{section=\"\(section)\"}"
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP breakwater_telemetry_\(name) \(help)\n# TYPE breakwater_telemetry_\(name) \(type)\n"
            out += "breakwater_telemetry_\(name)\(l) \(value)\n"
        }
        metric("accepted_records_total", "counter", "Records fsynced to the log and applied to the latest state.", "\(v.acceptedRecords)")
        metric("rejected_requests_total", "counter", "Ingest requests refused as malformed or oversized.", "\(v.rejectedRequests)")
        metric("log_full_refusals_total", "counter", "Ingest requests refused because the log reached max-log-size.", "\(v.logFullRefusals)")
        metric("log_write_errors_total", "counter", "Group commits whose write or fsync failed.", "\(v.logWriteErrors)")
        metric("state_errors_total", "counter", "Batches logged but not applied to the latest state (answered 503).", "\(v.stateErrors)")
        metric("fsyncs_total", "counter", "Group-commit fsyncs of the log.", "\(v.fsyncs)")
        metric("log_lag_records", "gauge", "Records in the log not yet committed by the coalescer.", "\(logEnd - min(logEnd, UInt64(v.committedOffset)))")
        metric("log_bytes", "gauge", "Bytes of log segments on disk.", "\(logBytes)")
        metric("committed_offset", "gauge", "The coalescer's committed log offset.", "\(v.committedOffset)")
        metric("windows_total", "counter", "Windows written to the sink.", "\(v.windows)")
        metric("window_rows", "gauge", "Rows (distinct machines) of the last window written.", "\(v.lastWindowRows)")
        metric("window_records", "gauge", "Records folded into the last window written.", "\(v.lastWindowRecords)")
        metric("upsert_statements_total", "counter", "Bulk INSERT statements sent to the sink.", "\(v.upsertStatements)")
        metric("rows_written_total", "counter", "Rows sent to the sink in bulk upserts.", "\(v.rowsWritten)")
        metric("sink_errors_total", "counter", "Failed window writes (retried with back-off).", "\(v.sinkErrors)")
        out += "# HELP breakwater_telemetry_upsert_seconds Duration of one window's upsert transaction.\n"
        out += "# TYPE breakwater_telemetry_upsert_seconds summary\n"
        out += "breakwater_telemetry_upsert_seconds_sum\(l) \(v.upsertSecondsSum)\n"
        out += "breakwater_telemetry_upsert_seconds_count\(l) \(v.upsertCount)\n"
        if let stateMachines { metric("state_machines", "gauge", "Machines in the latest-state store.", "\(stateMachines)") }
        return out
    }
}
