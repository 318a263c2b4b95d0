import BreakwaterRESP
import Foundation
import Logging
import NIOCore

/// `log redis-stream URL stream S group G`: a Redis stream shared by every ingest node, read by one consumer group.
///
/// Appending: one `XADD S MAXLEN ~ 2×max-log-records * h <record>` per record, a request batch pipelined in one
/// round trip; the 202 follows Redis's replies, so durability is the server's `appendfsync` (with `always`, Redis
/// fsyncs its AOF before it replies). The backlog (the group's `lag` + `pending`, read with `XINFO GROUPS` in the
/// same pipeline) bounds ingest at `max-log-records`; trimming keeps twice that, so it only drops entries the group
/// has acknowledged unless nodes race past the bound by more than `max-log-records`.
///
/// Reading: the coalescer is consumer `<host>-<pid>` of the group. Only the holder of a writer lease (the key
/// `<S>:writer:<G>`, set with NX and a 10 s expiry, renewed on every poll) reads, so several ingest nodes feed one
/// writer. A node that takes the lease first claims (`XAUTOCLAIM`) every entry left pending by another consumer (a
/// dead or paused writer), then reads new ones with `XREADGROUP ... >`. `commitRead` is `XACK` of what was read,
/// after the window's upsert committed.
final class RedisStreamLog: TelemetryLog, @unchecked Sendable {
    static let leaseMillis = 10_000
    static let leaseScript = """
        local cur = redis.call('GET', KEYS[1])
        if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
        if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
        return 0
        """
    static let releaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """

    let stream: String
    let group: String
    let consumer: String
    let leaseKey: String
    let maxBacklog: Int
    private let appender: BlockingRedis
    private let reader: BlockingRedis
    private let logger: Logger

    private let lock = NSLock()
    /// The group's backlog (lag + pending) when last looked at; guarded by `lock`.
    private var backlog = 0
    private var acknowledged: UInt64 = 0

    // Coalescer thread only.
    private var isWriter = false
    private var claimCursor: [UInt8]? = nil
    private var unacknowledged: [[UInt8]] = []

    init(url: String, stream: String, group: String, maxBacklog: Int, eventLoops: any EventLoopGroup, logger: Logger) throws {
        guard let (host, port, db) = RedisLatestState.parse(url) else {
            throw SinkError(description: "log redis-stream: cannot read '\(url)' as redis://host:port/db")
        }
        self.stream = stream
        self.group = group
        self.consumer = "\(ProcessInfo.processInfo.hostName)-\(getpid())"
        self.leaseKey = "\(stream):writer:\(group)"
        self.maxBacklog = maxBacklog
        self.logger = logger
        appender = BlockingRedis(host: host, port: port, database: db, group: eventLoops)
        reader = BlockingRedis(host: host, port: port, database: db, group: eventLoops)
    }

    /// Creates the group (and the stream) if missing and reads the backlog; a start fails when Redis cannot be reached.
    func open() throws {
        let created = try appender.run(["XGROUP", "CREATE", stream, group, "0", "MKSTREAM"])
        if case .error(let e) = created, !e.hasPrefix("BUSYGROUP") {
            throw SinkError(description: "log redis-stream \(appender.address): XGROUP CREATE \(stream) \(group) failed: \(e)")
        }
        let replies = try appender.run([bytes("XINFO", "GROUPS", stream), bytes("XLEN", stream)])
        noteBacklog(replies[0], length: replies[1])
    }

    // MARK: appending

    func admissionProblem(records: Int, bytes: Int, queuedBytes: Int) -> String? {
        let seen = lock.withLock { backlog }
        guard seen + records > maxBacklog else { return nil }
        return "the durable log is full (stream \(stream) holds \(seen) records not yet written by group \(group), max-log-records \(maxBacklog)): the sink is behind or down; retry later"
    }

    func appendDurably(_ records: [Heartbeat], frames: [UInt8]) throws {
        let trim = Array(String(2 * maxBacklog).utf8)
        var commands: [[[UInt8]]] = []
        commands.reserveCapacity(records.count + 2)
        var payload: [UInt8] = []
        for r in records {
            payload.removeAll(keepingCapacity: true)
            HeartbeatCodec.encode(r, into: &payload)
            commands.append([Array("XADD".utf8), Array(stream.utf8), Array("MAXLEN".utf8), [UInt8(ascii: "~")], trim,
                             [UInt8(ascii: "*")], [UInt8(ascii: "h")], payload])
        }
        commands.append(bytes("XINFO", "GROUPS", stream))
        commands.append(bytes("XLEN", stream))
        let replies = try appender.run(commands)
        for reply in replies.prefix(records.count) {
            if case .error(let e) = reply {
                throw SinkError(description: "log redis-stream \(appender.address): XADD \(stream) failed: \(e) (records before it may be in the stream; retrying is harmless)")
            }
        }
        noteBacklog(replies[records.count], length: replies[records.count + 1])
    }

    /// `backlog = pending + lag` of our group from an `XINFO GROUPS` reply (`lag` is null when Redis cannot tell:
    /// then the stream's length bounds it).
    private func noteBacklog(_ info: RESPValue, length: RESPValue) {
        guard case .array(let groups?) = info else { return }
        for case .array(let fields?) in groups {
            var map: [String: RESPValue] = [:]
            var i = 0
            while i + 1 < fields.count {
                if let k = fields[i].text { map[k] = fields[i + 1] }
                i += 2
            }
            guard map["name"]?.text == group else { continue }
            let pending = Int(map["pending"]?.integerValue ?? 0)
            let lag = map["lag"]?.integerValue.map(Int.init) ?? Int(length.integerValue ?? 0)
            lock.withLock { backlog = pending + lag }
        }
    }

    // MARK: reading (coalescer thread)

    var pollSeconds: Double? { 0.05 }

    func readNext(maxBytes: Int) throws -> [Heartbeat] {
        let held = try reader.run(["EVAL", Self.leaseScript, "1", leaseKey, consumer, String(Self.leaseMillis)])
        guard held.integerValue == 1 else {
            if isWriter { logger.notice("telemetry: \(consumer) lost the writer lease \(leaseKey); another node writes") }
            isWriter = false
            return []
        }
        if !isWriter {
            isWriter = true
            claimCursor = Array("0-0".utf8)
            logger.notice("telemetry: \(consumer) holds the writer lease \(leaseKey) of stream \(stream)")
        }
        let count = String(max(100, min(10_000, maxBytes / 64)))
        let entries: [RESPValue]
        if let cursor = claimCursor {
            // Entries another consumer read but never acknowledged: a dead writer's window.
            let reply = try reader.run([bytes("XAUTOCLAIM", stream, group, consumer, "0") + [cursor] + bytes("COUNT", count)])[0]
            guard case .array(let parts?) = reply, parts.count >= 2, case .bulkString(let next?) = parts[0],
                  case .array(let claimed?) = parts[1]
            else { throw SinkError(description: "log redis-stream: XAUTOCLAIM \(stream) answered \(reply)") }
            claimCursor = next == Array("0-0".utf8) ? nil : next
            entries = claimed
            if !claimed.isEmpty { logger.notice("telemetry: \(consumer) took over \(claimed.count) entries left pending in \(stream)") }
        } else {
            let reply = try reader.run([bytes("XREADGROUP", "GROUP", group, consumer, "COUNT", count, "STREAMS", stream, ">"),
                                        bytes("XINFO", "GROUPS", stream), bytes("XLEN", stream)])
            noteBacklog(reply[1], length: reply[2])
            if case .error(let e) = reply[0] { throw SinkError(description: "log redis-stream: XREADGROUP \(stream) failed: \(e)") }
            guard case .array(let streams?) = reply[0], case .array(let pair?) = streams.first, pair.count == 2,
                  case .array(let read?) = pair[1]
            else { return [] }
            entries = read
        }
        return decode(entries)
    }

    private func decode(_ entries: [RESPValue]) -> [Heartbeat] {
        var out: [Heartbeat] = []
        out.reserveCapacity(entries.count)
        for case .array(let entry?) in entries {
            guard entry.count == 2, case .bulkString(let id?) = entry[0] else { continue }
            unacknowledged.append(id)
            // [id, nil] is an entry trimmed or deleted while pending: nothing left to read.
            guard case .array(let fields?) = entry[1], fields.count == 2, fields[0].text == "h",
                  case .bulkString(let payload?) = fields[1], let h = HeartbeatCodec.decode(payload[...])
            else {
                logger.error("telemetry: stream \(stream) entry \(String(decoding: id, as: UTF8.self)) is not a Breakwater heartbeat (or was trimmed); skipped")
                continue
            }
            out.append(h)
        }
        return out
    }

    func commitRead() throws {
        guard !unacknowledged.isEmpty else { return }
        var commands: [[[UInt8]]] = []
        var i = 0
        while i < unacknowledged.count {
            let chunk = unacknowledged[i..<min(i + 10_000, unacknowledged.count)]
            commands.append(bytes("XACK", stream, group) + chunk)
            i += chunk.count
        }
        commands.append(bytes("XINFO", "GROUPS", stream))
        commands.append(bytes("XLEN", stream))
        let replies = try reader.run(commands)
        for reply in replies.prefix(commands.count - 2) {
            if case .error(let e) = reply { throw SinkError(description: "log redis-stream: XACK \(stream) failed: \(e)") }
        }
        noteBacklog(replies[commands.count - 2], length: replies[commands.count - 1])
        lock.withLock { acknowledged += UInt64(unacknowledged.count) }
        unacknowledged.removeAll()
    }

    /// Nothing to replay here: entries are shared by every node, and one whose apply failed got no 202.
    func replayUncommitted(_ body: ([Heartbeat]) throws -> Void) throws {}

    var committedOffset: UInt64 { lock.withLock { acknowledged } }
    var endOffset: UInt64 { lock.withLock { acknowledged + UInt64(backlog) } }
    var totalBytes: Int { 0 }
    var summary: String { "log redis-stream \(appender.address) stream \(stream) group \(group) as consumer \(consumer)" }

    /// Gives the writer lease up at once, so another node (or a reloaded successor) takes over without waiting.
    func close() {
        _ = try? reader.run(["EVAL", Self.releaseScript, "1", leaseKey, consumer])
        appender.drop()
        reader.drop()
    }

    private func bytes(_ parts: String...) -> [[UInt8]] { parts.map { Array($0.utf8) } }
}
