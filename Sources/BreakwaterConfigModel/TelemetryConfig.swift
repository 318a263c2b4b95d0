/// A `telemetry NAME` section: an ingest API, a latest-state store, a durable log and one coalescing writer.
public struct TelemetryConfig: Sendable, Equatable {
    /// Where the latest state per machine lives (`state ...`).
    public enum State: Sendable, Equatable {
        /// `state memory`: a bounded in-process map (the embedded default).
        case memory
        /// `state redis URL [prefix P]`: one hash `<prefix><machine_id>` per machine.
        case redis(url: String, prefix: String)
    }

    /// Where accepted records are made durable before the 202 (`log ...`).
    public enum Log: Sendable, Equatable {
        /// `log dir PATH`: CRC-framed segment files with group-commit fsync (the embedded default).
        case directory(path: String)
        /// `log redis-stream URL stream S group G`.
        case redisStream(url: String, stream: String, group: String)
        /// `log kafka brokers B topic T group G`.
        case kafka(brokers: String, topic: String, group: String)
    }

    /// Where the coalescer writes each window's bulk upsert (`sink ...`).
    public enum Sink: Sendable, Equatable {
        /// `sink sqlite PATH table T key K` (the embedded default).
        case sqlite(path: String, table: String, key: String)
        /// `sink mysql URL table T key K`.
        case mysql(url: String, table: String, key: String)

        public var table: String {
            switch self { case .sqlite(_, let t, _), .mysql(_, let t, _): return t }
        }
        public var key: String {
            switch self { case .sqlite(_, _, let k), .mysql(_, _, let k): return k }
        }
    }

    /// Every bound of the section, each with a config keyword (see docs/telemetry.md).
    public struct Limits: Sendable, Equatable {
        /// `max-body-size SIZE`: larger request bodies get 413. Default 1m.
        public var maxBodyBytes: Int = 1 << 20
        /// `max-batch-records N`: records per request. Default 10000.
        public var maxBatchRecords: Int = 10_000
        /// `max-fields N`: fields per record. Default 64.
        public var maxFieldsPerRecord: Int = 64
        /// `max-key-length N`: bytes of `machine_id`. Default 128.
        public var maxKeyLength: Int = 128
        /// `max-log-size SIZE`: bytes of log not yet committed by the coalescer; ingest answers 503 past it. Default 1g.
        public var maxLogBytes: Int = 1 << 30
        /// `max-log-records N`: records not yet committed by the coalescer (for `log redis-stream` the group's
        /// backlog; the stream is trimmed to twice this). Default 10000000.
        public var maxLogRecords: Int = 10_000_000
        /// `upsert-max-rows N`: rows per INSERT statement of a window's upsert. Default 500.
        public var upsertMaxRows: Int = 500
        /// `max-machines N`: distinct machines in `state memory` and in one window's fold. Default 1000000.
        public var maxMachines: Int = 1_000_000

        public init() {}
    }

    public var name: String
    public var location: SourceLocation
    /// `bind HOST:PORT`.
    public var bindHost: String = ""
    public var bindPort: Int = 0
    public var state: State = .memory
    public var log: Log = .directory(path: "")
    /// `window D` in milliseconds. Default 60s.
    public var windowMs: Int = 60_000
    public var sink: Sink = .sqlite(path: "", table: "", key: "")
    public var limits = Limits()

    public init(name: String, location: SourceLocation) {
        self.name = name
        self.location = location
    }

    /// `[A-Za-z_][A-Za-z0-9_]{0,63}`: a table, key or field name, safe as an SQL identifier in SQLite and MySQL.
    public static func isColumnName(_ s: String) -> Bool {
        guard let first = s.utf8.first, s.utf8.count <= 64, !(48...57).contains(first) else { return false }
        return s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }
}
