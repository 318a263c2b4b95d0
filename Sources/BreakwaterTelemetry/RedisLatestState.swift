import BreakwaterRESP
import Foundation
import NIOCore

/// `state redis URL prefix P`: one hash `<P><machine_id>` per machine holding its fields and `ts` (milliseconds).
/// Each record is applied by a Lua script run with EVALSHA (HSET only if its ts is newer, atomically in Redis); a
/// request's records go out pipelined in one write. The connection is made lazily and remade after a failure.
final class RedisLatestState: LatestState, @unchecked Sendable {
    static let script = """
        local cur = redis.call('HGET', KEYS[1], 'ts')
        if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
        redis.call('HSET', KEYS[1], 'ts', ARGV[1], unpack(ARGV, 2))
        return 1
        """

    let host: String
    let port: Int
    let database: Int
    let prefix: String
    let group: any EventLoopGroup
    private let lock = NSLock()
    private var connection: (client: RESPClient, sha: String)?

    var machineCount: Int? { nil }

    init(url: String, prefix: String, group: any EventLoopGroup) throws {
        guard let parsed = Self.parse(url) else {
            throw SinkError(description: "state redis: cannot read '\(url)' as redis://host:port/db")
        }
        (host, port, database) = parsed
        self.prefix = prefix
        self.group = group
    }

    static func parse(_ url: String) -> (String, Int, Int)? {
        guard url.hasPrefix("redis://") else { return nil }
        var rest = Substring(url.dropFirst(8))
        var db = 0
        if let slash = rest.firstIndex(of: "/") {
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty { guard let d = Int(dbText) else { return nil }; db = d }
            rest = rest[..<slash]
        }
        var host = rest, port = 6379
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { guard let p = Int(after.dropFirst()) else { return nil }; port = p }
        } else if let colon = rest.lastIndex(of: ":") {
            guard let p = Int(rest[rest.index(after: colon)...]) else { return nil }
            host = rest[..<colon]
            port = p
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return (String(host), port, db)
    }

    private func connected() -> EventLoopFuture<(client: RESPClient, sha: String)> {
        if let c = lock.withLock({ connection }), c.client.isActive { return group.any().makeSucceededFuture(c) }
        let where_ = "redis://\(host):\(port)/\(database)"
        return RESPClient.connect(host: host, port: port, group: group).flatMap { client in
            let replies = client.pipeline([["SELECT", String(self.database)], ["SCRIPT", "LOAD", Self.script]])
            return replies[0].and(replies[1]).flatMapThrowing { select, load in
                if case .error(let e) = select { client.close(); throw SinkError(description: "state redis \(where_): SELECT failed: \(e)") }
                guard let sha = load.text else { client.close(); throw SinkError(description: "state redis \(where_): SCRIPT LOAD failed: \(load)") }
                let c = (client: client, sha: sha)
                self.lock.withLock { self.connection = c }
                return c
            }
        }.flatMapErrorThrowing { error in
            if error is SinkError { throw error }
            throw SinkError(description: "state redis \(where_): \(error)")
        }
    }

    private func drop() {
        lock.withLock {
            connection?.client.close()
            connection = nil
        }
    }

    func apply(_ records: [Heartbeat]) throws {
        for attempt in 0..<2 {
            do {
                let c = try connected().wait()
                let commands = records.map { r -> [String] in
                    var cmd = ["EVALSHA", c.sha, "1", prefix + r.machineID, String(r.tsMillis)]
                    for f in r.fields { cmd += [f.name, JSONOutput.value(f.value)] }
                    return cmd
                }
                var noScript = false
                for reply in c.client.pipeline(commands) {
                    let v = try reply.wait()
                    if case .error(let e) = v {
                        if e.hasPrefix("NOSCRIPT") { noScript = true; continue }
                        throw SinkError(description: "state redis: EVALSHA failed: \(e)")
                    }
                }
                // The script cache was flushed: load it again and re-apply (newer-ts-only makes that harmless).
                if noScript && attempt == 0 { drop(); continue }
                return
            } catch {
                drop()
                if attempt == 1 { throw error }
            }
        }
    }

    func get(_ ids: [String]) async throws -> [MachineState?] {
        let c = try await connected().get()
        var out: [MachineState?] = []
        for reply in c.client.pipeline(ids.map { ["HGETALL", prefix + $0] }) {
            guard case .array(let items?) = try await reply.get() else { out.append(nil); continue }
            var ts: Int64?
            var fields: [String: FieldValue] = [:]
            var i = 0
            while i + 1 < items.count {
                if let k = items[i].text, let v = items[i + 1].text {
                    if k == "ts" { ts = Int64(v) }
                    else if v == "true" || v == "false" { fields[k] = .bool(v == "true") }
                    else if let d = Double(v) { fields[k] = .number(d) }
                }
                i += 2
            }
            out.append(ts.map { MachineState(tsMillis: $0, fields: fields) })
        }
        return out
    }

    func admissionProblem(for ids: Set<String>) -> String? { nil }
}
