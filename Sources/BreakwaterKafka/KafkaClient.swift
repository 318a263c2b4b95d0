import CBreakwaterRdKafka

/// What the telemetry log needs from a Kafka producer: records made durable before it returns.
public protocol DurableRecordProducer: AnyObject, Sendable {
    /// Produces every record (keyed, so one key stays in one partition) and blocks until the delivery report of
    /// each is in; throws the first failed one. Never call on an event loop.
    func produce(_ records: [(key: [UInt8], value: [UInt8])]) throws
    func close()
}

/// What the coalescer needs from a Kafka consumer group: records from the committed offsets on, and a manual commit.
public protocol CommittingRecordConsumer: AnyObject, Sendable {
    /// Records after the position, waiting at most `timeoutMs` for the first; at most `max` of them.
    func poll(max: Int, timeoutMs: Int) throws -> [[UInt8]]
    /// Commits the position (every record returned by `poll`) of the partitions this consumer owns.
    func commit() throws
    /// Records between the position and the partitions' high watermarks, as last fetched (no round trip).
    var lag: Int { get }
    func close()
}

/// A librdkafka failure in words: what was being done, with librdkafka's own message.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }

    init(_ what: String, code: rd_kafka_resp_err_t) {
        description = "\(what): \(String(cString: rd_kafka_err2str(code)))"
    }
}

/// A librdkafka configuration from key/value pairs; a rejected setting is an error naming it.
func makeConf(_ settings: [(String, String)]) throws -> OpaquePointer {
    let conf = rd_kafka_conf_new()!
    var errstr = [CChar](repeating: 0, count: 512)
    for (k, v) in settings {
        if rd_kafka_conf_set(conf, k, v, &errstr, errstr.count) != RD_KAFKA_CONF_OK {
            rd_kafka_conf_destroy(conf)
            throw KafkaError("librdkafka rejected the setting \(k)=\(v): \(String(cString: errstr))")
        }
    }
    return conf
}

/// `rd_kafka_new` with a readable failure.
func makeHandle(_ type: rd_kafka_type_t, _ conf: OpaquePointer, what: String) throws -> OpaquePointer {
    var errstr = [CChar](repeating: 0, count: 512)
    guard let rk = rd_kafka_new(type, conf, &errstr, errstr.count) else {
        rd_kafka_conf_destroy(conf)
        throw KafkaError("cannot create the Kafka \(what): \(String(cString: errstr))")
    }
    return rk
}
