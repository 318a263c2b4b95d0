import Foundation
import Logging

/// Where the supervisor takes jobs from and reports their outcomes to: the embedded SQLite queue
/// (`StoreJobSource`) or a RabbitMQ queue (`AMQPJobSource`). Called from supervisor threads only.
protocol JobSource: AnyObject, Sendable {
    /// The next job to run, waiting up to `timeout` seconds; nil when there is none.
    func next(timeout: TimeInterval) -> ClaimedJob?
    /// Records how the attempt ended (and settles it with the queue); returns the job's new state, or nil
    /// when it was a duplicate of a job already final.
    func finish(_ job: ClaimedJob, outcome: AttemptOutcome) throws -> JobState?
    /// A job was enqueued on this node: look now instead of at the next poll.
    func wake()
    /// Attempts killed at the end of the shutdown grace, with no outcome: hand them back to the queue.
    func requeueAbandoned(_ jobs: [ClaimedJob])
    /// Stops taking deliveries (after the supervisor stopped running jobs).
    func stop()
}

/// What the HTTP intake needs: store a job durably, count the waiting ones.
protocol JobIntake: Sendable {
    var location: String { get }
    /// The status table that GET /v1/jobs/ID reads.
    var statusStore: JobStore { get }
    /// Returns once the job is durable (committed and fsynced, or confirmed by the broker).
    func enqueue(id: String, payload: [UInt8], maxQueued: Int) async throws -> JobStore.EnqueueResult
    func waitingCount() async throws -> Int
}

/// The embedded queue: one SQLite table is both queue and status (docs/jobs.md).
final class StoreJobSource: JobSource, JobIntake, @unchecked Sendable {
    let store: JobStore
    let retries: Int
    let keepFinished: Int
    let backoff: RetryBackoff
    private let condition = NSCondition()
    private var woken = false
    private var lastSweep = Date()
    private let logger: Logger

    init(store: JobStore, retries: Int, keepFinished: Int, backoff: RetryBackoff, logger: Logger) {
        self.logger = logger
        self.store = store
        self.retries = retries
        self.keepFinished = keepFinished
        self.backoff = backoff
    }

    var location: String { store.path }
    var statusStore: JobStore { store }

    func next(timeout: TimeInterval) -> ClaimedJob? {
        // Rows of a process that died while sharing the queue (a predecessor killed during a hot reload).
        if Date().timeIntervalSince(lastSweep) > 5 {
            lastSweep = Date()
            if let n = try? store.requeueInterrupted(), n > 0 { logger.notice("jobs: re-queued \(n) job(s) of a process that died") }
        }
        do {
            if let job = try store.claimNext() { return job }
        } catch {
            logger.error("jobs: cannot read the queue at \(store.path): \(error)")
        }
        condition.lock()
        if !woken { _ = condition.wait(until: Date().addingTimeInterval(timeout)) }
        woken = false
        condition.unlock()
        return nil
    }

    func finish(_ job: ClaimedJob, outcome: AttemptOutcome) throws -> JobState? {
        try store.finish(id: job.id, outcome: outcome, retries: retries, keepFinished: keepFinished,
                         retryDelayMs: backoff.delayMs(afterAttempt: job.attempt))
    }

    func wake() {
        condition.lock()
        woken = true
        condition.signal()
        condition.unlock()
    }

    func stop() { wake() }

    func requeueAbandoned(_ jobs: [ClaimedJob]) {
        do {
            let n = try store.requeueAbandoned(ids: jobs.map(\.id))
            if n > 0 { logger.notice("jobs: \(n) running job(s) stopped at the end of the grace went back to the queue") }
        } catch {
            logger.error("jobs: cannot re-queue stopped jobs in \(store.path): \(error); the next start re-queues them")
        }
    }

    func enqueue(id: String, payload: [UInt8], maxQueued: Int) async throws -> JobStore.EnqueueResult {
        let store = self.store
        return try await Task.detached { try store.enqueue(id: id, payload: payload, maxQueued: maxQueued) }.value
    }

    func waitingCount() async throws -> Int { try await store.waitingCount() }
}
