import NIOCore
import Synchronization

/// Errors the mux sent to clients, by MySQL error code (1040 too many connections, 9001 no backend…).
/// Bounded: at most `maxCodes` distinct codes are counted; the rest go to code 0.
public final class MuxErrorCounters: Sendable {
    static let maxCodes = 64
    private let counts = Mutex<[UInt16: Int]>([:])

    public init() {}

    func count(_ code: UInt16) {
        counts.withLock { c in
            let key = c[code] != nil || c.count < Self.maxCodes ? code : 0
            c[key, default: 0] += 1
        }
    }

    public var snapshot: [UInt16: Int] { counts.withLock { $0 } }
}

extension MySQLMuxServer {
    /// The dashboard's gauge snapshot: client connections, sessions waiting for a backend, pins by reason,
    /// backend connections (in use + idle) per server, and the errors 1040 / 9001 sent to clients so far.
    public func gauges() -> EventLoopFuture<[String: Double]> {
        processList().and(connectionPoolStats()).map { sessions, servers in
            var g: [String: Double] = [
                "client_connections": Double(sessions.count),
                "queued": Double(sessions.filter { $0.command == "waiting for a backend" }.count),
            ]
            for reason in MuxPinReason.allCases {
                g["pins_\(reason.rawValue)"] = Double(sessions.filter { $0.pinnedReason.split(separator: ",").contains(Substring(reason.rawValue)) }.count)
            }
            for s in servers {
                g["backend_connections_\(s.server.host):\(s.server.port)"] = Double(s.used + s.free)
            }
            let errors = self.errorCounters.snapshot
            g["errors_1040_total"] = Double(errors[1040] ?? 0)
            g["errors_9001_total"] = Double(errors[9001] ?? 0)
            return g
        }
    }
}
