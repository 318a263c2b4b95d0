import BreakwaterKafka
import Foundation
import Logging

/// `log kafka brokers B topic T group G`: records go to topic `T` (keyed by machine id) through an idempotent
/// producer with `acks=all`; the 202 follows the delivery report of every record of the request batch. The
/// coalescer is a member of consumer group `G`: it reads from the group's committed offsets and commits them by hand
/// after the window's upsert. With several nodes the group splits the partitions, one reader per partition, and
/// the newest-`ts` upsert makes a re-read after a rebalance or a crash harmless.
final class KafkaLog: TelemetryLog, @unchecked Sendable {
    let brokers: String
    let topic: String
    let group: String
    let maxBacklog: Int
    private let producer: any DurableRecordProducer
    private let consumer: any CommittingRecordConsumer
    private let logger: Logger
    private let lock = NSLock()
    private var committed: UInt64 = 0
    /// Coalescer thread only: records polled since the last commit.
    private var readSinceCommit = 0

    init(brokers: String, topic: String, group: String, maxBacklog: Int, logger: Logger) throws {
        (self.brokers, self.topic, self.group, self.maxBacklog, self.logger) = (brokers, topic, group, maxBacklog, logger)
        producer = try KafkaProducer(brokers: brokers, topic: topic)
        do {
            consumer = try KafkaConsumer(brokers: brokers, topic: topic, group: group)
        } catch {
            producer.close()
            throw error
        }
    }

    func admissionProblem(records: Int, bytes: Int, queuedBytes: Int) -> String? {
        let lag = consumer.lag
        guard lag + records > maxBacklog else { return nil }
        return "the durable log is full (topic \(topic) holds \(lag) records not yet written by group \(group), max-log-records \(maxBacklog)): the sink is behind or down; retry later"
    }

    func appendDurably(_ records: [Heartbeat], frames: [UInt8]) throws {
        var messages: [(key: [UInt8], value: [UInt8])] = []
        messages.reserveCapacity(records.count)
        for r in records {
            var payload: [UInt8] = []
            HeartbeatCodec.encode(r, into: &payload)
            messages.append((Array(r.machineID.utf8), payload))
        }
        try producer.produce(messages)
    }

    var pollSeconds: Double? { 0.05 }

    func readNext(maxBytes: Int) throws -> [Heartbeat] {
        let values = try consumer.poll(max: max(100, min(10_000, maxBytes / 64)), timeoutMs: 0)
        readSinceCommit += values.count
        var out: [Heartbeat] = []
        out.reserveCapacity(values.count)
        for v in values {
            guard let h = HeartbeatCodec.decode(v[...]) else {
                logger.error("telemetry: a record of Kafka topic \(topic) is not a Breakwater heartbeat; skipped")
                continue
            }
            out.append(h)
        }
        return out
    }

    func commitRead() throws {
        guard readSinceCommit > 0 else { return }
        try consumer.commit()
        lock.withLock { committed += UInt64(readSinceCommit) }
        readSinceCommit = 0
    }

    /// Nothing to replay: the topic is shared by every node, and a record whose state update failed got no 202.
    func replayUncommitted(_ body: ([Heartbeat]) throws -> Void) throws {}

    var committedOffset: UInt64 { lock.withLock { committed } }
    var endOffset: UInt64 { committedOffset + UInt64(consumer.lag) }
    var totalBytes: Int { 0 }
    var summary: String { "log kafka brokers \(brokers) topic \(topic) group \(group)" }

    func close() {
        consumer.close()
        producer.close()
    }
}
