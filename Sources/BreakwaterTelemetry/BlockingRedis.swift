import BreakwaterRESP
import Foundation
import NIOCore

/// One Redis connection used from a dedicated thread (never an event loop): `run` sends a pipeline in one write and
/// blocks until every reply is in, or `timeout` passes (then the connection is closed, failing the rest). Connects
/// lazily (with `SELECT db`) and reconnects on the next call after a failure.
final class BlockingRedis: @unchecked Sendable {
    let host: String
    let port: Int
    let database: Int
    let group: any EventLoopGroup
    let timeout: TimeAmount
    private let lock = NSLock()
    private var client: RESPClient?

    var address: String { "redis://\(host):\(port)/\(database)" }

    init(host: String, port: Int, database: Int, group: any EventLoopGroup, timeout: TimeAmount = .seconds(10)) {
        (self.host, self.port, self.database, self.group, self.timeout) = (host, port, database, group, timeout)
    }

    /// The replies, in order (Redis error replies are values: the caller judges them). Throws when the connection
    /// fails or times out.
    func run(_ commands: [[[UInt8]]]) throws -> [RESPValue] {
        let c = try connected()
        let futures = c.pipeline(binary: commands)
        let watchdog = c.eventLoop.scheduleTask(in: timeout) { c.close() }
        defer { watchdog.cancel() }
        do {
            return try futures.map { try $0.wait() }
        } catch {
            drop()
            throw SinkError(description: "\(address): \(error)")
        }
    }

    func run(_ command: [String]) throws -> RESPValue {
        try run([command.map { Array($0.utf8) }])[0]
    }

    private func connected() throws -> RESPClient {
        if let c = lock.withLock({ client }), c.isActive { return c }
        let c: RESPClient
        do {
            c = try RESPClient.connect(host: host, port: port, group: group).wait()
        } catch {
            throw SinkError(description: "cannot connect to \(address): \(error)")
        }
        let select = try c.send(["SELECT", String(database)]).wait()
        if case .error(let e) = select {
            c.close()
            throw SinkError(description: "\(address): SELECT \(database) failed: \(e)")
        }
        lock.withLock { client = c }
        return c
    }

    func drop() {
        lock.withLock {
            client?.close()
            client = nil
        }
    }
}

extension RESPValue {
    var integerValue: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulkString(let b?): return Int64(String(decoding: b, as: UTF8.self))
        default: return nil
        }
    }
}
