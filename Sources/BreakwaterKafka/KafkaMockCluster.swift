import CBreakwaterRdKafka

/// librdkafka's in-process mock cluster: brokers speaking the real Kafka protocol on loopback ports, for tests
/// (Debian ships no Kafka broker). It lives as long as this object, in the process that made it.
public final class KafkaMockCluster: @unchecked Sendable {
    private let handle: OpaquePointer
    private let cluster: OpaquePointer
    /// `host:port,...` of the mock brokers, for `bootstrap.servers`.
    public let bootstrapServers: String

    public init(brokers: Int = 3) throws {
        // The host handle never connects anywhere; level 3 keeps its "no bootstrap.servers" notice quiet.
        let conf = try makeConf([("log_level", "3")])
        handle = try makeHandle(RD_KAFKA_PRODUCER, conf, what: "mock cluster host")
        guard let c = rd_kafka_mock_cluster_new(handle, Int32(brokers)) else {
            rd_kafka_destroy(handle)
            throw KafkaError("cannot create a librdkafka mock cluster of \(brokers) brokers")
        }
        cluster = c
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(c))
    }

    /// Creates `topic` with `partitions` partitions replicated on `replicas` brokers.
    public func createTopic(_ topic: String, partitions: Int, replicas: Int) throws {
        let err = rd_kafka_mock_topic_create(cluster, topic, Int32(partitions), Int32(replicas))
        guard err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError("mock cluster: cannot create topic \(topic)", code: err) }
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
        rd_kafka_destroy(handle)
    }
}
