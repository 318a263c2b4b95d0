/// Where a RabbitMQ broker is and how to log in: the parts of `amqp://USER:PASS@HOST:PORT/VHOST`.
public struct AMQPEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var vhost: String
    public var user: String
    public var password: String

    public init(host: String, port: Int, vhost: String, user: String, password: String) {
        self.host = host
        self.port = port
        self.vhost = vhost
        self.user = user
        self.password = password
    }

    /// The address without the password, for log lines and errors.
    public var description: String { "amqp://\(user)@\(host):\(port)/\(vhost == "/" ? "" : vhost)" }
}

/// A RabbitMQ failure in words: what was being done, on which broker, and the broker's or library's reason.
public struct AMQPError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A message to publish: persistent, with the job id as message-id and the attempts made so far in `x-attempt`.
public struct AMQPMessage: Sendable {
    public var id: String
    /// Attempts already made (0 for a new job).
    public var attempt: Int
    public var body: [UInt8]
    /// When > 0 the message waits this long in a delay queue before it reaches the work queue.
    public var delayMs: Int
    /// The un-jittered delay that names the delay queue (`QUEUE.retry.<ms>`): messages of one queue expire
    /// within a jitter of each other, so a long TTL never holds a short one back for long (RabbitMQ expires
    /// messages only at the head of a queue).
    public var delayClassMs: Int

    public init(id: String, attempt: Int, body: [UInt8], delayMs: Int = 0, delayClassMs: Int = 0) {
        self.id = id
        self.attempt = attempt
        self.body = body
        self.delayMs = delayMs
        self.delayClassMs = delayClassMs
    }
}

/// A message the broker delivered; acknowledged (or not) through the consumer that received it.
public struct AMQPDelivery: Sendable {
    public var tag: UInt64
    /// Which connection of the consumer it came on: a tag is only valid on its own connection.
    public var generation: Int
    public var id: String
    /// Attempts already made before this delivery (the `x-attempt` header).
    public var attempt: Int
    public var redelivered: Bool
    public var body: [UInt8]
}

/// Publishes with publisher confirms. Implemented by `RabbitPublisher` (librabbitmq on its own thread).
public protocol MessagePublisher: Sendable {
    /// Calls `completion` (on the publisher's thread) once the broker confirmed the message durable, or with
    /// the reason it did not: a nack, a lost connection, no connection. Never blocks the caller.
    func publish(_ message: AMQPMessage, completion: @escaping @Sendable (Result<Void, AMQPError>) -> Void)
    /// Messages in the work queue as last counted (nil before the first count or while disconnected).
    var readyCount: Int? { get }
    func stop()
}

extension MessagePublisher {
    /// `publish` for async callers.
    public func publish(_ message: AMQPMessage) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            publish(message) { c.resume(with: $0.mapError { $0 as any Error }) }
        }
    }
}

/// Consumes with manual acks and a prefetch. Implemented by `RabbitConsumer`.
public protocol MessageConsumer: Sendable {
    /// Starts consuming; `onDelivery` runs on the consumer's thread and must not block.
    func start(onDelivery: @escaping @Sendable (AMQPDelivery) -> Void)
    /// Acknowledges on the delivery's own connection; dropped when that connection is gone (the broker
    /// then re-delivers the message, which the receiver recognises by id).
    func ack(_ delivery: AMQPDelivery)
    /// Rejects with requeue (the message goes back to the queue for another consumer).
    func requeue(_ delivery: AMQPDelivery)
    func stop()
}
