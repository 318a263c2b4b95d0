/// The durable log of a telemetry section, whatever holds it (`log dir`, `log redis-stream`, ...).
///
/// Two threads use it: the group committer appends (blocking calls, never on an event loop) and the coalescer reads
/// and commits. Delivery is at least once: what was read but not committed is read again after a crash, which the
/// newest-`ts` upsert makes harmless.
protocol TelemetryLog: AnyObject, Sendable {
    /// A refusal (answered 503) when `records` more records of `bytes` encoded bytes would pass the log's bound,
    /// counting `queuedBytes` already waiting for the next append.
    func admissionProblem(records: Int, bytes: Int, queuedBytes: Int) -> String?

    /// Makes the records durable; returns only once they are (fsync, or the log server's acknowledgement). `frames`
    /// are the records already framed for `log dir`; other logs may encode `records` their own way.
    func appendDurably(_ records: [Heartbeat], frames: [UInt8]) throws

    /// The next records after the reader's position (at most about `maxBytes`), advancing it; empty when none yet.
    func readNext(maxBytes: Int) throws -> [Heartbeat]

    /// Commits every record returned by `readNext` so far: after a restart they are not delivered again.
    func commitRead() throws

    /// How often the coalescer polls when idle, for logs that other processes append to (nil: it is woken by the
    /// local appender only).
    var pollSeconds: Double? { get }

    /// Feeds the records not yet committed to `body`, in order (at start, to rebuild the latest state).
    func replayUncommitted(_ body: ([Heartbeat]) throws -> Void) throws

    /// Records committed (the metric `committed_offset`) and appended (`committed_offset + log_lag_records`).
    var committedOffset: UInt64 { get }
    var endOffset: UInt64 { get }
    /// Bytes the log holds (the metric `log_bytes`; 0 when the log server does not say).
    var totalBytes: Int { get }

    /// A line for the start-up notice: where the log is and its position.
    var summary: String { get }

    /// Releases what a successor needs (a directory lock, a writer lease) once both threads have stopped.
    func close()
}
