import CBreakwaterRdKafka
import Foundation

/// An idempotent producer (`acks=all`, `enable.idempotence=true`) for one topic. A dedicated thread polls
/// librdkafka for delivery reports; `produce` blocks its caller (the telemetry log thread) until the reports of its
/// records are in.
public final class KafkaProducer: DurableRecordProducer, @unchecked Sendable {
    public let topic: String
    private let handle: OpaquePointer
    private let topicHandle: OpaquePointer
    private let pollThread: Thread
    private let stopLock = NSLock()
    private var stopping = false
    private let pollDone = DispatchSemaphore(value: 0)

    /// `brokers` is `host:port[,host:port]`; `extra` settings go to librdkafka as they are.
    public init(brokers: String, topic: String, extra: [(String, String)] = []) throws {
        self.topic = topic
        let conf = try makeConf([
            ("bootstrap.servers", brokers), ("acks", "all"), ("enable.idempotence", "true"),
            ("linger.ms", "1"), ("message.timeout.ms", "30000"),
        ] + extra)
        rd_kafka_conf_set_dr_msg_cb(conf, deliveryReport)
        handle = try makeHandle(RD_KAFKA_PRODUCER, conf, what: "producer for \(brokers)")
        guard let t = rd_kafka_topic_new(handle, topic, nil) else {
            rd_kafka_destroy(handle)
            throw KafkaError("cannot open Kafka topic \(topic)", code: rd_kafka_last_error())
        }
        topicHandle = t
        let (h, done) = (UncheckedHandle(pointer: handle), pollDone)
        let box = StopFlag()
        pollThread = Thread {
            while !box.isSet { rd_kafka_poll(h.pointer, 100) }
            done.signal()
        }
        stopFlag = box
        pollThread.name = "kafka-producer-poll"
        pollThread.start()
    }

    private let stopFlag: StopFlag

    public func produce(_ records: [(key: [UInt8], value: [UInt8])]) throws {
        let batch = DeliveryBatch(count: records.count)
        for r in records {
            let opaque = Unmanaged.passRetained(batch).toOpaque()
            while true {
                let rc = r.value.withUnsafeBytes { v in
                    r.key.withUnsafeBytes { k in
                        rd_kafka_produce(topicHandle, breakwater_rdkafka_partition_ua(), breakwater_rdkafka_msg_f_copy(),
                                         UnsafeMutableRawPointer(mutating: v.baseAddress), v.count, k.baseAddress, k.count, opaque)
                    }
                }
                if rc == 0 { break }
                let code = rd_kafka_last_error()
                // The local queue is full: the poll thread drains it as reports come in.
                if code == RD_KAFKA_RESP_ERR__QUEUE_FULL { usleep(1000); continue }
                Unmanaged<DeliveryBatch>.fromOpaque(opaque).release()
                batch.report(code)
                break
            }
        }
        if let failed = batch.wait() {
            throw KafkaError("Kafka did not acknowledge a record of topic \(topic) (acks=all)", code: failed)
        }
    }

    public func close() {
        stopLock.lock()
        let first = !stopping
        stopping = true
        stopLock.unlock()
        guard first else { return }
        rd_kafka_flush(handle, 10_000)
        stopFlag.set()
        pollDone.wait()
        rd_kafka_topic_destroy(topicHandle)
        rd_kafka_destroy(handle)
    }

    deinit { close() }
}

/// Counts the delivery reports of one `produce` call down to zero and keeps the first error.
final class DeliveryBatch: @unchecked Sendable {
    private let condition = NSCondition()
    private var remaining: Int
    private var firstError: rd_kafka_resp_err_t?

    init(count: Int) { remaining = count }

    func report(_ err: rd_kafka_resp_err_t) {
        condition.lock()
        if err != RD_KAFKA_RESP_ERR_NO_ERROR && firstError == nil { firstError = err }
        remaining -= 1
        if remaining == 0 { condition.broadcast() }
        condition.unlock()
    }

    /// Waits for every report; the first error, if any.
    func wait() -> rd_kafka_resp_err_t? {
        condition.lock()
        while remaining > 0 { condition.wait() }
        defer { condition.unlock() }
        return firstError
    }
}

/// librdkafka handles are thread-safe; this lets the poll thread's closure hold one.
struct UncheckedHandle: @unchecked Sendable {
    let pointer: OpaquePointer
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}

/// librdkafka's delivery-report callback (on the poll thread): the message's opaque is its retained batch.
private let deliveryReport: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = { _, message, _ in
    guard let message, let opaque = message.pointee._private else { return }
    Unmanaged<DeliveryBatch>.fromOpaque(opaque).takeRetainedValue().report(message.pointee.err)
}
