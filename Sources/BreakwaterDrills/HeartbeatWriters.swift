#if canImport(Glibc)
import Glibc
#endif
import BreakwaterMySQLWire
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The heartbeat stream of the second write-up, as W writers (the ingest nodes) that each send, every
/// `pauseMs`, one batch of `batch` heartbeats for machines drawn from `machines`. Either straight into the
/// database (one upsert statement per batch, writer i on node i mod N, autocommit) or as JSON to a telemetry
/// ingest endpoint. Bounded by `seconds`.
struct HeartbeatWriters {
    struct Result {
        var records = 0
        var batches = 0
        /// Statements answered 1213 (a deadlock, or a Galera certification conflict reported as one).
        var deadlockErrors = 0
        var otherErrors = 0
        var firstError: String?
    }

    var writers: Int
    var machines: Int
    var seconds: Double
    var batch = 10
    var pauseMs = 20

    /// Batch `n` of writer `w`: machine ids and field values, the same for both ways of writing.
    func records(writer w: Int, batch n: Int) -> [(machine: String, rpm: Int, temp: Double)] {
        var seed = UInt64(w &* 1_000_003 &+ n &* 7919 &+ 17)
        return (0..<batch).map { k in
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let m = Int((seed >> 33) % UInt64(machines))
            return ("press-\(m)", 1000 + (n + k) % 500, 60 + Double((n * 7 + k) % 200) / 10)
        }
    }

    static let directTable = "heartbeat_direct"
    static let createDirectTable = """
        CREATE TABLE drill.\(directTable) (machine_id VARCHAR(768) CHARACTER SET utf8mb4 NOT NULL PRIMARY KEY,
        ts BIGINT NOT NULL, samples INT NOT NULL DEFAULT 0, rpm DOUBLE NULL, temp DOUBLE NULL) ENGINE=InnoDB
        """

    /// The same upsert shape the telemetry sink writes (newest `ts` wins), one per batch.
    func upsert(_ rows: [(machine: String, rpm: Int, temp: Double)], ts: Int64) -> String {
        let values = rows.map { "('\($0.machine)', \(ts), 1, \($0.rpm), \($0.temp))" }.joined(separator: ", ")
        let newer = "VALUES(ts) > ts"
        return "INSERT INTO drill.\(Self.directTable) (machine_id, ts, samples, rpm, temp) VALUES \(values) ON DUPLICATE KEY UPDATE "
            + "rpm = IF(\(newer), VALUES(rpm), rpm), temp = IF(\(newer), VALUES(temp), temp), "
            + "samples = IF(\(newer), VALUES(samples), samples), ts = IF(\(newer), VALUES(ts), ts)"
    }

    /// Writer i connects to `ports[i % ports.count]` and sends its batches as upserts.
    func direct(ports: [Int], user: String, password: String, group: EventLoopGroup) throws -> Result {
        let result = NIOLockedValueBox(Result())
        let deadline = NIODeadline.now() + .milliseconds(Int64(seconds * 1000))
        let done = try (0..<writers).map { w -> EventLoopFuture<Void> in
            let loop = group.next()
            let address = try SocketAddress(ipAddress: "127.0.0.1", port: ports[w % ports.count])
            return MySQLClientConnection.connect(to: address, user: user, password: password, on: loop)
                .flatMap { conn in
                    self.directLoop(conn, writer: w, batch: 0, until: deadline, result: result)
                        .flatMap { conn.close().flatMapError { _ in loop.makeSucceededVoidFuture() } }
                }
                .flatMapError { error in
                    result.withLockedValue { r in
                        r.otherErrors += 1
                        if r.firstError == nil { r.firstError = "writer \(w) could not connect: \(error)" }
                    }
                    return loop.makeSucceededVoidFuture()
                }
        }
        try EventLoopFuture.andAllComplete(done, on: group.next()).wait()
        return result.withLockedValue { $0 }
    }

    private func directLoop(_ conn: MySQLClientConnection, writer: Int, batch n: Int, until deadline: NIODeadline,
                            result: NIOLockedValueBox<Result>) -> EventLoopFuture<Void> {
        let loop = conn.channel.eventLoop
        guard NIODeadline.now() < deadline else { return loop.makeSucceededVoidFuture() }
        let rows = records(writer: writer, batch: n)
        let sql = upsert(rows, ts: Int64(Date().timeIntervalSince1970 * 1000))
        let pause = Int64(pauseMs)
        return conn.query(sql)
            .map { _ in result.withLockedValue { $0.records += rows.count; $0.batches += 1 } }
            .flatMapError { error in
                result.withLockedValue { r in
                    if case MySQLWireError.server(let e) = error, e.code == 1213 { r.deadlockErrors += 1 } else {
                        r.otherErrors += 1
                        if r.firstError == nil { r.firstError = "\(error)" }
                    }
                }
                return loop.makeSucceededVoidFuture()
            }
            .flatMap { loop.scheduleTask(in: .milliseconds(pause)) {}.futureResult }
            .flatMap { self.directLoop(conn, writer: writer, batch: n + 1, until: deadline, result: result) }
    }

    /// Each writer POSTs its batches to `http://127.0.0.1:port/v1/heartbeats` on one keep-alive connection.
    func ingest(port: Int) -> Result {
        let results = NIOLockedValueBox(Result())
        let deadline = Date().addingTimeInterval(seconds)
        let threads = (0..<writers).map { w in
            Thread {
                var r = Result()
                var client = LoadClient(port: port)
                client.timeoutSeconds = 10
                var fd: Int32 = -1
                var n = 0
                while Date() < deadline {
                    if fd < 0 {
                        fd = client.connect(source: nil)
                        if fd < 0 { r.otherErrors += 1; usleep(50_000); continue }
                    }
                    let rows = records(writer: w, batch: n)
                    n += 1
                    let ts = ISO8601DateFormatter.string(from: Date(), timeZone: TimeZone(identifier: "UTC")!,
                                                         formatOptions: [.withInternetDateTime, .withFractionalSeconds])
                    let body = "[" + rows.map { "{\"machine_id\":\"\($0.machine)\",\"ts\":\"\(ts)\",\"fields\":{\"rpm\":\($0.rpm),\"temp\":\($0.temp)}}" }
                        .joined(separator: ",") + "]"
                    let request = "POST /v1/heartbeats HTTP/1.1\r\nHost: drill\r\nContent-Type: application/json\r\n"
                        + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
                    guard client.writeAll(fd, request), let (status, close) = client.readResponse(fd) else {
                        r.otherErrors += 1
                        Glibc.close(fd)
                        fd = -1
                        continue
                    }
                    if status == 202 { r.records += rows.count; r.batches += 1 } else {
                        r.otherErrors += 1
                        if r.firstError == nil { r.firstError = "ingest answered \(status)" }
                    }
                    if close { Glibc.close(fd); fd = -1 }
                    usleep(UInt32(pauseMs) * 1000)
                }
                if fd >= 0 { Glibc.close(fd) }
                results.withLockedValue { total in
                    total.records += r.records
                    total.batches += r.batches
                    total.otherErrors += r.otherErrors
                    if total.firstError == nil { total.firstError = r.firstError }
                }
            }
        }
        threads.forEach { $0.stackSize = 256 << 10; $0.start() }
        while !threads.allSatisfy(\.isFinished) { usleep(20_000) }
        return results.withLockedValue { $0 }
    }
}
