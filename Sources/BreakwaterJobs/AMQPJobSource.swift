import BreakwaterAMQP
import Foundation
import Logging

/// `queue amqp`: RabbitMQ holds the queue, the local SQLite table holds each job's status by id.
///
/// - Enqueue: the status row (`queued`) is written first, then the message is published persistent and the
///   202 waits for the broker's confirm; a nack or a lost connection removes the row and answers 503.
/// - Deliveries arrive with manual acks and prefetch = `workers` (unacknowledged deliveries are exactly the
///   busy worker slots, so the broker sends one only when a slot is free).
/// - The ack is sent only after the attempt's outcome is recorded in the status table: a final state
///   (done/dead) is recorded, then acked; a retry is republished (attempt + 1, through the delay queue of
///   its back-off) and acked only after the broker confirmed the republish; if that fails the delivery is
///   requeued and the attempt runs again.
/// - A delivery of a job already final here (a crash between record and ack) is acked without running; a
///   re-delivery of a job still running here (the consumer's connection was lost) replaces the old delivery,
///   so the running attempt acks the new one when it ends.
final class AMQPJobSource: JobSource, JobIntake, @unchecked Sendable {
    let store: JobStore
    let publisher: any MessagePublisher
    let consumer: any MessageConsumer
    let retries: Int
    let keepFinished: Int
    let backoff: RetryBackoff
    let metrics: JobsMetrics
    let logger: Logger
    let location: String
    var statusStore: JobStore { store }

    /// Guards `buffer` and `inFlight`.
    private let condition = NSCondition()
    private var buffer: [AMQPDelivery] = []
    private var inFlight: [String: AMQPDelivery] = [:]

    init(store: JobStore, publisher: any MessagePublisher, consumer: any MessageConsumer, location: String,
         retries: Int, keepFinished: Int, backoff: RetryBackoff, metrics: JobsMetrics, logger: Logger) {
        self.store = store
        self.publisher = publisher
        self.consumer = consumer
        self.location = location
        self.retries = retries
        self.keepFinished = keepFinished
        self.backoff = backoff
        self.metrics = metrics
        self.logger = logger
    }

    func start() {
        consumer.start { [self] delivery in deliver(delivery) }
    }

    private func deliver(_ d: AMQPDelivery) {
        condition.lock()
        defer { condition.unlock() }
        if inFlight[d.id] != nil {
            inFlight[d.id] = d  // re-delivered while it runs here: the running attempt settles this one
            return
        }
        if let i = buffer.firstIndex(where: { $0.id == d.id }) {
            buffer[i] = d
            return
        }
        buffer.append(d)
        condition.signal()
    }

    func next(timeout: TimeInterval) -> ClaimedJob? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            condition.lock()
            while buffer.isEmpty && Date() < deadline { _ = condition.wait(until: deadline) }
            guard !buffer.isEmpty else {
                condition.unlock()
                return nil
            }
            let d = buffer.removeFirst()
            condition.unlock()
            let attempt = d.attempt + 1
            do {
                switch try store.startDelivery(id: d.id, attempt: attempt) {
                case .alreadyFinal:
                    metrics.duplicate()
                    consumer.ack(d)
                    continue
                case .run:
                    condition.withLock { inFlight[d.id] = d }
                    return ClaimedJob(id: d.id, payload: d.body, attempt: attempt)
                }
            } catch {
                logger.error("jobs: cannot record the start of job \(d.id) in \(store.path): \(error); returned to the queue")
                consumer.requeue(d)
                return nil
            }
        }
    }

    func finish(_ job: ClaimedJob, outcome: AttemptOutcome) throws -> JobState? {
        let delayMs = backoff.delayMs(afterAttempt: job.attempt)
        let state: JobState?
        do {
            state = try store.finish(id: job.id, outcome: outcome, retries: retries, keepFinished: keepFinished,
                                     retryDelayMs: delayMs)
        } catch {
            // Not recorded: leave the delivery unacknowledged-then-requeued so the job runs again.
            if let d = condition.withLock({ inFlight.removeValue(forKey: job.id) }) { consumer.requeue(d) }
            throw error
        }
        guard let delivery = condition.withLock({ inFlight.removeValue(forKey: job.id) }) else { return state }
        guard state == .failed else {
            consumer.ack(delivery)
            return state
        }
        let retry = AMQPMessage(id: job.id, attempt: job.attempt, body: job.payload, delayMs: delayMs,
                                delayClassMs: backoff.ceilingMs(afterAttempt: job.attempt))
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        publisher.publish(retry) { r in
            result.set(r)
            done.signal()
        }
        done.wait()
        switch result.value {
        case .success:
            consumer.ack(delivery)
        case .failure(let e):
            logger.warning("jobs: cannot republish job \(job.id) for its retry: \(e); returned to the queue instead")
            consumer.requeue(delivery)
        case nil:
            consumer.requeue(delivery)
        }
        return state
    }

    func wake() {}

    /// Their deliveries stay unacknowledged: the broker re-delivers them when this consumer's connection closes.
    func requeueAbandoned(_ jobs: [ClaimedJob]) {
        let deliveries = condition.withLock { jobs.compactMap { inFlight.removeValue(forKey: $0.id) } }
        for d in deliveries { consumer.requeue(d) }
    }

    func stop() {
        consumer.stop()
        publisher.stop()
    }

    func enqueue(id: String, payload: [UInt8], maxQueued: Int) async throws -> JobStore.EnqueueResult {
        if let ready = publisher.readyCount, ready >= maxQueued { return .full(waiting: ready) }
        let store = self.store
        guard try await Task.detached(operation: { try store.insertQueued(id: id) }).value else {
            throw JobsError("job id \(id) exists already")
        }
        do {
            try await publisher.publish(AMQPMessage(id: id, attempt: 0, body: payload))
        } catch {
            try? await Task.detached { try store.removeQueued(id: id) }.value
            throw error
        }
        return .accepted
    }

    func waitingCount() async throws -> Int {
        if let ready = publisher.readyCount { return ready }
        return try await store.waitingCount()
    }
}

/// The result a publisher completion hands to a waiting supervisor thread.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Void, AMQPError>?
    func set(_ r: Result<Void, AMQPError>) { lock.withLock { result = r } }
    var value: Result<Void, AMQPError>? { lock.withLock { result } }
}
