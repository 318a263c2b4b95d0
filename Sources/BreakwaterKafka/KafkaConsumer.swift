import CBreakwaterRdKafka
import Foundation

/// A consumer-group member for one topic with manual commits (`enable.auto.commit=false`): `poll` stores each
/// returned record's offset, `commit` commits the stored offsets synchronously. Used from one dedicated thread (the
/// coalescer's), never an event loop.
public final class KafkaConsumer: CommittingRecordConsumer, @unchecked Sendable {
    public let topic: String
    private let handle: OpaquePointer
    private let lock = NSLock()
    private var closed = false
    private var lastLag = 0

    public init(brokers: String, topic: String, group: String, extra: [(String, String)] = []) throws {
        self.topic = topic
        let conf = try makeConf([
            ("bootstrap.servers", brokers), ("group.id", group), ("enable.auto.commit", "false"),
            ("auto.offset.reset", "earliest"), ("session.timeout.ms", "6000"), ("heartbeat.interval.ms", "1000"),
        ] + extra)
        handle = try makeHandle(RD_KAFKA_CONSUMER, conf, what: "consumer for \(brokers) group \(group)")
        rd_kafka_poll_set_consumer(handle)
        let topics = rd_kafka_topic_partition_list_new(1)!
        defer { rd_kafka_topic_partition_list_destroy(topics) }
        rd_kafka_topic_partition_list_add(topics, topic, breakwater_rdkafka_partition_ua())
        let err = rd_kafka_subscribe(handle, topics)
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            rd_kafka_destroy(handle)
            throw KafkaError("cannot subscribe to Kafka topic \(topic)", code: err)
        }
    }

    public func poll(max: Int, timeoutMs: Int) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var wait = Int32(timeoutMs)
        while out.count < max, let message = rd_kafka_consumer_poll(handle, wait) {
            defer { rd_kafka_message_destroy(message) }
            wait = 0
            let m = message.pointee
            if m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { continue }
            if m.err != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaError("Kafka consumer of topic \(topic)", code: m.err)
            }
            guard let payload = m.payload else { out.append([]); continue }
            out.append([UInt8](UnsafeRawBufferPointer(start: payload, count: m.len)))
        }
        updateLag()
        return out
    }

    public func commit() throws {
        let err = rd_kafka_commit(handle, nil, 0)
        switch err {
        case RD_KAFKA_RESP_ERR_NO_ERROR, RD_KAFKA_RESP_ERR__NO_OFFSET:
            return
        case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID,
             RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR__STATE:
            // The partitions moved to another member mid-window: it reads them again from the last commit (the
            // newest-ts upsert makes the rewrite harmless). Nothing to retry here.
            return
        default:
            throw KafkaError("Kafka offset commit of topic \(topic)", code: err)
        }
    }

    public var lag: Int { lock.withLock { lastLag } }

    /// Σ (high watermark − position) over the assigned partitions, from what the fetcher last saw.
    private func updateLag() {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        guard rd_kafka_assignment(handle, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { return }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        _ = rd_kafka_position(handle, list)
        var total = 0
        for i in 0..<Int(list.pointee.cnt) {
            let p = list.pointee.elems[i]
            var low: Int64 = 0, high: Int64 = 0
            guard rd_kafka_get_watermark_offsets(handle, p.topic, p.partition, &low, &high) == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
            let position = p.offset >= 0 ? p.offset : low
            total += Int(max(0, high - position))
        }
        lock.withLock { lastLag = total }
    }

    public func close() {
        let first = lock.withLock { () -> Bool in defer { closed = true }; return !closed }
        guard first else { return }
        _ = rd_kafka_consumer_close(handle)
        rd_kafka_destroy(handle)
    }

    deinit { close() }
}
