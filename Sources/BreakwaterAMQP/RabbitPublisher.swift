import Foundation
import Logging

/// Publishes persistent messages to one work queue with publisher confirms, on a dedicated thread that owns
/// its librabbitmq connection. A caller's completion runs only after the broker's `basic.ack` for that
/// message (durable on the broker), or with the reason it failed: a `basic.nack`, a lost connection (every
/// unconfirmed message fails: nothing is claimed that the broker did not confirm), or no connection at all.
/// When the broker goes away the thread reconnects with back-off (`ReconnectBackoff`).
///
/// Retries with a delay go to a per-delay-class queue `QUEUE.retry.<ms>` whose expired messages dead-letter
/// back into the work queue (declared on first use).
public final class RabbitPublisher: MessagePublisher, @unchecked Sendable {
    public typealias Completion = @Sendable (Result<Void, AMQPError>) -> Void
    private struct Request { var message: AMQPMessage; var completion: Completion; var queuedAt: Date }

    private let endpoint: AMQPEndpoint
    private let queue: String
    private let maxPending: Int
    private let logger: Logger
    private let confirmTimeout: TimeInterval = 30

    /// Guards `requests`, `stopping`, `connected`, `lastReadyCount`.
    private let condition = NSCondition()
    private var requests: [Request] = []
    private var stopping = false
    private var connected = false
    private var lastReadyCount: Int?
    private var finished = false

    /// `maxPending` bounds the messages waiting for the thread (beyond it `publish` fails at once).
    public init(endpoint: AMQPEndpoint, queue: String, maxPending: Int = 10_000, logger: Logger) {
        self.endpoint = endpoint
        self.queue = queue
        self.maxPending = maxPending
        self.logger = logger
        let thread = Thread { [self] in run() }
        thread.name = "breakwater-amqp-publish"
        thread.start()
    }

    public var readyCount: Int? { condition.withLock { connected ? lastReadyCount : nil } }

    public func publish(_ message: AMQPMessage, completion: @escaping Completion) {
        let refused: String? = condition.withLock {
            if stopping { return "shutting down" }
            if !connected { return "not connected" }
            if requests.count >= maxPending { return "\(maxPending) messages already wait for the broker" }
            requests.append(Request(message: message, completion: completion, queuedAt: Date()))
            condition.signal()
            return nil
        }
        if let refused { completion(.failure(AMQPError("RabbitMQ at \(endpoint): \(refused); job \(message.id) not queued"))) }
    }

    public func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
            while !finished { condition.wait() }
        }
    }

    // MARK: - The publisher thread

    private func run() {
        var backoff = ReconnectBackoff()
        while let conn = backoff.connect(logger: logger, isStopping: { isStopping }, sleep: { sleep(ms: $0) }, { () throws(AMQPError) in
            let conn = try RabbitConnection(endpoint: endpoint)
            try conn.declareQueue(queue)
            try conn.confirmSelect()
            return conn
        }) {
            logger.info("jobs: publishing to queue '\(queue)' on \(endpoint) with publisher confirms")
            condition.withLock { connected = true }
            let reason = serve(conn)
            let failed: [Request] = condition.withLock {
                connected = false
                let r = requests
                requests = []
                return r
            }
            for r in failed { r.completion(.failure(AMQPError("\(reason); job \(r.message.id) not queued"))) }
            if !isStopping { logger.warning("jobs: \(reason); reconnecting") }
        }
        condition.withLock {
            finished = true
            condition.broadcast()
        }
    }

    private var isStopping: Bool { condition.withLock { stopping } }

    private func sleep(ms: Int) {
        condition.withLock {
            let until = Date().addingTimeInterval(Double(ms) / 1000)
            while !stopping && Date() < until { _ = condition.wait(until: until) }
        }
    }

    /// Publishes and collects confirms until the connection fails or the publisher stops; returns why.
    private func serve(_ conn: RabbitConnection) -> String {
        var nextTag: UInt64 = 1
        var unconfirmed: [UInt64: Request] = [:]
        var delayQueues: Set<String> = []
        var lastCount = Date.distantPast
        func failUnconfirmed(_ why: String) {
            for (_, r) in unconfirmed { r.completion(.failure(AMQPError("\(why); job \(r.message.id) not confirmed, not queued"))) }
            unconfirmed = [:]
        }
        while true {
            let batch: [Request]? = condition.withLock {
                if stopping && unconfirmed.isEmpty { return nil }
                if requests.isEmpty && unconfirmed.isEmpty { _ = condition.wait(until: Date().addingTimeInterval(0.05)) }
                let b = requests
                requests = []
                return b
            }
            guard let batch else { return "RabbitMQ at \(endpoint): publisher stopped" }
            var published = 0
            do {
                for r in batch {
                    var target = queue
                    if r.message.delayMs > 0 {
                        target = "\(queue).retry.\(r.message.delayClassMs)"
                        if !delayQueues.contains(target) {
                            try conn.declareQueue(target, deadLetterTo: queue)
                            delayQueues.insert(target)
                        }
                    }
                    try conn.publish(r.message, to: target)
                    unconfirmed[nextTag] = r
                    nextTag += 1
                    published += 1
                }
                // Collect what the broker confirmed so far (and service heartbeats when idle).
                var wait: Int32 = unconfirmed.isEmpty ? 0 : 20
                while let confirm = try conn.waitConfirm(timeoutMs: wait) {
                    wait = 0
                    let (tag, multiple, ok): (UInt64, Bool, Bool) = switch confirm {
                    case .ack(let t, let m): (t, m, true)
                    case .nack(let t, let m): (t, m, false)
                    }
                    let tags = multiple ? unconfirmed.keys.filter { $0 <= tag } : [tag]
                    for t in tags {
                        guard let r = unconfirmed.removeValue(forKey: t) else { continue }
                        r.completion(ok ? .success(()) : .failure(AMQPError(
                            "RabbitMQ at \(endpoint) refused job \(r.message.id) (basic.nack); not queued")))
                    }
                }
                if let oldest = unconfirmed.values.map(\.queuedAt).min(), Date().timeIntervalSince(oldest) > confirmTimeout {
                    failUnconfirmed("RabbitMQ at \(endpoint): no confirm within \(Int(confirmTimeout)) s")
                    return "RabbitMQ at \(endpoint): confirms stopped arriving"
                }
                if unconfirmed.isEmpty && Date().timeIntervalSince(lastCount) > 1 {
                    let n = try conn.declareQueue(queue, passive: true)
                    lastCount = Date()
                    condition.withLock { lastReadyCount = n }
                }
            } catch {
                failUnconfirmed(error.description)
                for r in batch.dropFirst(published) { r.completion(.failure(AMQPError("\(error); job \(r.message.id) not queued"))) }
                return error.description
            }
        }
    }
}
