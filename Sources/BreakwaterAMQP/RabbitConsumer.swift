import Foundation
import Logging

/// Consumes one work queue with manual acks and `basic.qos` prefetch on a dedicated thread that owns its
/// librabbitmq connection. Acks are queued by any thread and sent by this one between waits (every 20 ms at
/// most). When the broker goes away the thread reconnects with back-off; deliveries of the lost connection
/// can no longer be acknowledged (their acks are dropped) and the broker re-delivers them.
public final class RabbitConsumer: MessageConsumer, @unchecked Sendable {
    private enum Settle { case ack, requeue }

    private let endpoint: AMQPEndpoint
    private let queue: String
    private let prefetch: Int
    private let logger: Logger

    /// Guards `settles`, `stopping`, `generation`, `finished`.
    private let condition = NSCondition()
    private var settles: [(AMQPDelivery, Settle)] = []
    private var stopping = false
    private var finished = false
    private var started = false
    private var generation = 0

    public init(endpoint: AMQPEndpoint, queue: String, prefetch: Int, logger: Logger) {
        self.endpoint = endpoint
        self.queue = queue
        self.prefetch = prefetch
        self.logger = logger
    }

    public func start(onDelivery: @escaping @Sendable (AMQPDelivery) -> Void) {
        condition.withLock { started = true }
        let thread = Thread { [self] in run(onDelivery) }
        thread.name = "breakwater-amqp-consume"
        thread.start()
    }

    public func ack(_ delivery: AMQPDelivery) { settle(delivery, .ack) }
    public func requeue(_ delivery: AMQPDelivery) { settle(delivery, .requeue) }

    private func settle(_ d: AMQPDelivery, _ how: Settle) {
        condition.withLock { settles.append((d, how)) }
    }

    public func stop() {
        condition.withLock {
            stopping = true
            while started && !finished { condition.wait() }
        }
    }

    private var isStopping: Bool { condition.withLock { stopping } }

    private func run(_ onDelivery: @Sendable (AMQPDelivery) -> Void) {
        var backoff = ReconnectBackoff()
        let sleep: (Int) -> Void = { [self] ms in
            condition.withLock {
                let until = Date().addingTimeInterval(Double(ms) / 1000)
                while !stopping && Date() < until { _ = condition.wait(until: until) }
            }
        }
        while let conn = backoff.connect(logger: logger, isStopping: { isStopping }, sleep: sleep, { () throws(AMQPError) in
            let conn = try RabbitConnection(endpoint: endpoint)
            try conn.declareQueue(queue)
            try conn.qos(prefetch: prefetch)
            try conn.consume(queue)
            return conn
        }) {
            let gen: Int = condition.withLock {
                generation += 1
                return generation
            }
            logger.info("jobs: consuming queue '\(queue)' on \(endpoint), prefetch \(prefetch), manual acks")
            do {
                while !isStopping {
                    let pending: [(AMQPDelivery, Settle)] = condition.withLock {
                        let p = settles
                        settles = []
                        return p
                    }
                    for (d, how) in pending where d.generation == gen {
                        switch how {
                        case .ack: try conn.ack(d.tag)
                        case .requeue: try conn.requeue(d.tag)
                        }
                    }
                    if let d = try conn.nextDelivery(timeoutMs: 20, generation: gen) { onDelivery(d) }
                }
                // Send the acks queued before stop, so finished jobs are not re-delivered.
                let last: [(AMQPDelivery, Settle)] = condition.withLock { let p = settles; settles = []; return p }
                for (d, how) in last where d.generation == gen {
                    if how == .ack { try conn.ack(d.tag) } else { try conn.requeue(d.tag) }
                }
            } catch {
                if !isStopping { logger.warning("jobs: \(error); reconnecting (unacknowledged jobs will be re-delivered)") }
                condition.withLock { settles.removeAll { $0.0.generation == gen } }
            }
        }
        condition.withLock {
            finished = true
            condition.broadcast()
        }
    }
}
