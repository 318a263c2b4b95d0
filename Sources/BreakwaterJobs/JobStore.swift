import Foundation
import GRDB

/// The durable queue and status table of a `jobs` section: one SQLite file in WAL mode with
/// `synchronous = FULL`, so a committed enqueue survives kill -9 and power loss (the WAL is fsynced at commit).
///
/// Every call blocks on GRDB's serial writer queue; callers are the supervisor's threads or async handlers that
/// hop onto GRDB's own dispatch queue (never an event loop).
public final class JobStore: Sendable {
    public enum EnqueueResult: Sendable, Equatable {
        case accepted
        /// `max-queued` jobs are already waiting.
        case full(waiting: Int)
    }

    private let pool: DatabasePool
    public let path: String
    /// This process as the owner of the rows it runs: "PID:STARTTIME" (start time from /proc, so a reused
    /// PID is not mistaken for us). A successor sharing the queue during a hot reload leaves our rows alone.
    public let owner = ProcessIdentity.current

    /// Opens (or creates) `directory/jobs.sqlite`; throws a readable error naming the path.
    public init(directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw JobsError("cannot create queue directory '\(directory)': \(error.localizedDescription); create it or fix its permissions")
        }
        path = directory + "/jobs.sqlite"
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try pool.write { db in
                try db.execute(sql: """
                    CREATE TABLE IF NOT EXISTS jobs (
                        seq INTEGER PRIMARY KEY AUTOINCREMENT,
                        id TEXT NOT NULL UNIQUE,
                        state TEXT NOT NULL,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        payload BLOB NOT NULL,
                        exit_code INTEGER,
                        reason TEXT,
                        stdout BLOB,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL
                    );
                    CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs(state, seq);
                    """)
                // Added with retry back-off; a queue file of an older build gains the column.
                let columns = try Row.fetchAll(db, sql: "PRAGMA table_info(jobs)").map { $0["name"] as String }
                if !columns.contains("next_attempt_at") {
                    try db.execute(sql: "ALTER TABLE jobs ADD COLUMN next_attempt_at REAL")
                }
                if !columns.contains("owner") { try db.execute(sql: "ALTER TABLE jobs ADD COLUMN owner TEXT") }
            }
        } catch let e as JobsError {
            throw e
        } catch {
            throw JobsError("cannot open job queue '\(path)': \(error); check the file is a Breakwater queue and writable")
        }
    }

    /// Jobs a crashed process left `running` go back to `queued`; the interrupted attempt is not counted,
    /// since the job did not fail. Rows of a live owner (a predecessor still finishing its jobs during a hot
    /// reload, or this process) are left alone. Returns how many were re-queued.
    public func requeueInterrupted(isAlive: (String) -> Bool = ProcessIdentity.isAlive) throws -> Int {
        try pool.write { db in
            let owners = try String?.fetchAll(db, sql: "SELECT DISTINCT owner FROM jobs WHERE state = 'running'")
            var n = 0
            for o in owners where !(o.map(isAlive) ?? false) {
                try db.execute(
                    sql: "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), owner = NULL WHERE state = 'running' AND owner IS ?",
                    arguments: [o])
                n += db.changesCount
            }
            return n
        }
    }

    /// Jobs this process stopped without an outcome (killed at the end of the shutdown grace) go back to
    /// `queued` at once, exactly once (only rows still `running` under this owner).
    public func requeueAbandoned(ids: [String]) throws -> Int {
        try pool.write { db in
            var n = 0
            for id in ids {
                try db.execute(
                    sql: "UPDATE jobs SET state = 'queued', attempts = MAX(attempts - 1, 0), owner = NULL WHERE id = ? AND state = 'running' AND owner = ?",
                    arguments: [id, owner])
                n += db.changesCount
            }
            return n
        }
    }

    /// Stores a new job; returns only after the commit is on disk.
    public func enqueue(id: String, payload: [UInt8], maxQueued: Int) throws -> EnqueueResult {
        try pool.write { db in
            let waiting = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'failed')") ?? 0
            if waiting >= maxQueued { return .full(waiting: waiting) }
            let now = Date().timeIntervalSince1970
            try db.execute(
                sql: "INSERT INTO jobs (id, state, attempts, payload, created_at, updated_at) VALUES (?, 'queued', 0, ?, ?, ?)",
                arguments: [id, Data(payload), now, now])
            return .accepted
        }
    }

    /// Marks the oldest waiting job that is due (queued, or failed with its back-off over) `running` and
    /// counts the attempt.
    public func claimNext(now: Date = Date()) throws -> ClaimedJob? {
        try pool.write { db in
            guard let row = try Row.fetchOne(
                db, sql: """
                    SELECT seq, id, payload, attempts FROM jobs
                    WHERE state = 'queued' OR (state = 'failed' AND COALESCE(next_attempt_at, 0) <= ?)
                    ORDER BY seq LIMIT 1
                    """, arguments: [now.timeIntervalSince1970])
            else { return nil }
            let seq: Int64 = row["seq"]
            let attempt = (row["attempts"] as Int) + 1
            try db.execute(
                sql: "UPDATE jobs SET state = 'running', attempts = ?, owner = ?, updated_at = ? WHERE seq = ?",
                arguments: [attempt, owner, Date().timeIntervalSince1970, seq])
            let payload: Data = row["payload"]
            return ClaimedJob(id: row["id"], payload: [UInt8](payload), attempt: attempt)
        }
    }

    /// Records how a running attempt ended. Returns the new state, or nil when the job was not running
    /// (a duplicate delivery of a job that is already final is recognised here and changes nothing).
    /// A job that goes to `failed` waits `retryDelayMs` before it may be claimed (`next_attempt_at`).
    public func finish(id: String, outcome: AttemptOutcome, retries: Int, keepFinished: Int, retryDelayMs: Int = 0) throws -> JobState? {
        try pool.write { db in
            guard let attempts = try Int.fetchOne(
                db, sql: "SELECT attempts FROM jobs WHERE id = ? AND state = 'running'", arguments: [id])
            else { return nil }
            let next = JobLifecycle.stateAfter(attempts: attempts, retries: retries, outcome: outcome)
            let now = Date().timeIntervalSince1970
            let nextAttemptAt: Double? = next == .failed ? now + Double(retryDelayMs) / 1000 : nil
            switch outcome {
            case .succeeded(let stdout):
                try db.execute(
                    sql: "UPDATE jobs SET state = ?, exit_code = 0, reason = NULL, stdout = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
                    arguments: [next.rawValue, Data(stdout), now, id])
            case .failed(let reason, let exitCode, let stdout):
                try db.execute(
                    sql: "UPDATE jobs SET state = ?, exit_code = ?, reason = ?, stdout = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?",
                    arguments: [next.rawValue, exitCode, reason.rawValue, Data(stdout), nextAttemptAt, now, id])
            }
            if next.isFinal { try Self.pruneFinished(db, keep: keepFinished) }
            return next
        }
    }

    /// Keeps the status table bounded: only the newest `keep` final jobs are remembered.
    private static func pruneFinished(_ db: Database, keep: Int) throws {
        let finals = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE state IN ('done', 'dead')") ?? 0
        guard finals > keep else { return }
        try db.execute(
            sql: """
                DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs WHERE state IN ('done', 'dead') ORDER BY seq LIMIT ?)
                """, arguments: [finals - keep])
    }

    public func status(id: String) async throws -> JobStatus? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT id, state, attempts, exit_code, reason, stdout, next_attempt_at FROM jobs WHERE id = ?",
                arguments: [id])
            else { return nil }
            let stdout: Data? = row["stdout"]
            return JobStatus(
                id: row["id"], state: JobState(rawValue: row["state"]) ?? .queued, attempts: row["attempts"],
                exitCode: row["exit_code"], reason: (row["reason"] as String?).flatMap(FailureReason.init(rawValue:)),
                stdout: stdout.map { [UInt8]($0) }, nextAttemptAt: row["next_attempt_at"])
        }
    }

    // MARK: - Status rows of `queue amqp` (the broker holds the queue; this table holds what the API shows)

    /// A new job about to be published: its status row, `queued`. Returns false when the id exists.
    public func insertQueued(id: String) throws -> Bool {
        try pool.write { db in
            let now = Date().timeIntervalSince1970
            try db.execute(
                sql: "INSERT OR IGNORE INTO jobs (id, state, attempts, payload, created_at, updated_at) VALUES (?, 'queued', 0, x'', ?, ?)",
                arguments: [id, now, now])
            return db.changesCount == 1
        }
    }

    /// The broker refused a job the API was publishing: its row goes, unless a worker already took it.
    public func removeQueued(id: String) throws {
        try pool.write { db in try db.execute(sql: "DELETE FROM jobs WHERE id = ? AND state = 'queued'", arguments: [id]) }
    }

    public enum DeliveryStart: Sendable, Equatable {
        /// Run it: the row is now `running` with `attempts` = this attempt.
        case run
        /// The job is already done or dead here: a duplicate delivery, to acknowledge without running.
        case alreadyFinal
    }

    /// A delivery from the broker is about to run as attempt `attempt` (1-based). Creates the row when this
    /// node did not accept the job (another producer did).
    public func startDelivery(id: String, attempt: Int) throws -> DeliveryStart {
        try pool.write { db in
            let now = Date().timeIntervalSince1970
            if let state = try String.fetchOne(db, sql: "SELECT state FROM jobs WHERE id = ?", arguments: [id]) {
                if JobState(rawValue: state)?.isFinal == true { return .alreadyFinal }
                try db.execute(
                    sql: "UPDATE jobs SET state = 'running', attempts = ?, owner = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ?",
                    arguments: [attempt, owner, now, id])
            } else {
                try db.execute(
                    sql: "INSERT INTO jobs (id, state, attempts, payload, owner, created_at, updated_at) VALUES (?, 'running', ?, x'', ?, ?, ?)",
                    arguments: [id, attempt, owner, now, now])
            }
            return .run
        }
    }

    /// Jobs waiting to run (queued, or failed and waiting for their next attempt).
    public func waitingCount() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'failed')") ?? 0
        }
    }
}

/// A user-readable error of the jobs section (what failed, on what path, what to do).
public struct JobsError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// "PID:STARTTIME" of a process, from /proc/PID/stat (field 22, clock ticks since boot).
public enum ProcessIdentity {
    public static let current = identity(of: getpid()) ?? "\(getpid()):0"

    static func identity(of pid: pid_t) -> String? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return "\(pid):\(fields[19])"
    }

    /// True when the process that wrote `owner` still runs (same PID and start time).
    public static func isAlive(_ owner: String) -> Bool {
        guard let pid = owner.split(separator: ":").first.flatMap({ pid_t($0) }) else { return false }
        return identity(of: pid) == owner
    }
}
