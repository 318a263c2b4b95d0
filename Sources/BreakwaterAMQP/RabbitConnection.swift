import CBreakwaterRabbitMQ

/// One librabbitmq connection with channel 1 open. Owned by exactly one thread (librabbitmq is not thread
/// safe); every call blocks that thread for at most its timeout, never an event loop.
final class RabbitConnection {
    private let conn: OpaquePointer
    let endpoint: AMQPEndpoint
    private var err = [CChar](repeating: 0, count: 512)

    /// Connects, logs in and opens the channel; throws the reason in words.
    init(endpoint: AMQPEndpoint, heartbeatSeconds: Int32 = 10, timeoutMs: Int32 = 5_000) throws(AMQPError) {
        self.endpoint = endpoint
        var err = [CChar](repeating: 0, count: 512)
        guard let c = bw_amqp_connect(endpoint.host, Int32(endpoint.port), endpoint.vhost, endpoint.user,
                                      endpoint.password, heartbeatSeconds, timeoutMs, &err, err.count)
        else { throw AMQPError("RabbitMQ at \(endpoint): \(String(cString: err))") }
        conn = c
    }

    deinit { bw_amqp_close(conn) }

    private func fail(_ what: String) -> AMQPError {
        AMQPError("RabbitMQ at \(endpoint): \(what): \(String(cString: err))")
    }

    /// Declares a durable queue (or, `passive`, checks it); returns its ready-message count.
    @discardableResult
    func declareQueue(_ name: String, deadLetterTo: String? = nil, passive: Bool = false) throws(AMQPError) -> Int {
        var count: UInt32 = 0
        let rc: Int32
        if let deadLetterTo {
            rc = bw_amqp_declare_queue(conn, name, deadLetterTo, passive ? 1 : 0, &count, &err, err.count)
        } else {
            rc = bw_amqp_declare_queue(conn, name, nil, passive ? 1 : 0, &count, &err, err.count)
        }
        guard rc == 0 else { throw fail("declaring queue '\(name)'") }
        return Int(count)
    }

    func confirmSelect() throws(AMQPError) {
        guard bw_amqp_confirm_select(conn, &err, err.count) == 0 else { throw fail("enabling publisher confirms") }
    }

    func publish(_ m: AMQPMessage, to queue: String) throws(AMQPError) {
        let rc = m.body.withUnsafeBytes { b in
            bw_amqp_publish(conn, queue, b.baseAddress, b.count, m.id, Int64(m.attempt), Int64(m.delayMs), &err, err.count)
        }
        guard rc == 0 else { throw fail("publishing job \(m.id)") }
    }

    enum Confirm { case ack(tag: UInt64, multiple: Bool), nack(tag: UInt64, multiple: Bool) }

    /// Waits up to `timeoutMs` for a publisher confirm; nil on timeout.
    func waitConfirm(timeoutMs: Int32) throws(AMQPError) -> Confirm? {
        var tag: UInt64 = 0
        var multiple: Int32 = 0, isAck: Int32 = 0
        switch bw_amqp_wait_confirm(conn, timeoutMs, &tag, &multiple, &isAck, &err, err.count) {
        case 1: return isAck != 0 ? .ack(tag: tag, multiple: multiple != 0) : .nack(tag: tag, multiple: multiple != 0)
        case 0: return nil
        default: throw fail("waiting for confirms")
        }
    }

    func qos(prefetch: Int) throws(AMQPError) {
        guard bw_amqp_qos(conn, UInt16(clamping: prefetch), &err, err.count) == 0 else { throw fail("setting prefetch") }
    }

    func consume(_ queue: String) throws(AMQPError) {
        guard bw_amqp_consume(conn, queue, &err, err.count) == 0 else { throw fail("consuming '\(queue)'") }
    }

    /// Waits up to `timeoutMs` for a delivery; nil on timeout.
    func nextDelivery(timeoutMs: Int32, generation: Int) throws(AMQPError) -> AMQPDelivery? {
        var d = bw_amqp_delivery()
        switch bw_amqp_next_delivery(conn, timeoutMs, &d, &err, err.count) {
        case 1:
            defer { bw_amqp_free(d.body) }
            let body = d.body_len == 0 ? [] : [UInt8](UnsafeRawBufferPointer(start: d.body, count: d.body_len))
            let id = withUnsafeBytes(of: d.message_id) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            return AMQPDelivery(tag: d.delivery_tag, generation: generation, id: id, attempt: Int(d.attempt),
                                redelivered: d.redelivered != 0, body: body)
        case 0: return nil
        default: throw fail("receiving")
        }
    }

    func ack(_ tag: UInt64) throws(AMQPError) {
        guard bw_amqp_ack(conn, tag, &err, err.count) == 0 else { throw fail("acknowledging") }
    }

    func requeue(_ tag: UInt64) throws(AMQPError) {
        guard bw_amqp_nack(conn, tag, 1, &err, err.count) == 0 else { throw fail("requeueing") }
    }
}
