import Synchronization

/// Completed TLS handshakes of one frontend, full and resumed (session ticket or session id), for the
/// dashboard's TLS resumption ratio. Counted by `OpenSSLServerHandler` when a handshake completes.
public final class TLSHandshakeCounters: Sendable {
    private let counts = Mutex<(full: Int, resumed: Int)>((0, 0))

    public init() {}

    func record(resumed: Bool) {
        counts.withLock { if resumed { $0.resumed += 1 } else { $0.full += 1 } }
    }

    public var full: Int { counts.withLock { $0.full } }
    public var resumed: Int { counts.withLock { $0.resumed } }

    /// Resumed ÷ all handshakes; nil before the first handshake.
    public var resumptionRatio: Double? {
        let (full, resumed) = counts.withLock { ($0.full, $0.resumed) }
        let total = full + resumed
        guard total > 0 else { return nil }
        return Double(resumed) / Double(total)
    }

    /// The process's counters per frontend name, shared by every TLS bind of that frontend. Bounded by the
    /// number of frontends a configuration declares (`maxFrontends` beyond that share one entry).
    public static func forFrontend(_ name: String) -> TLSHandshakeCounters {
        registry.withLock { r in
            if let c = r[name] { return c }
            let key = r.count < maxFrontends ? name : ""
            let c = r[key] ?? TLSHandshakeCounters()
            r[key] = c
            return c
        }
    }

    /// The counters of `name`, if a TLS bind of that frontend was loaded.
    public static func existing(frontend name: String) -> TLSHandshakeCounters? { registry.withLock { $0[name] } }

    static let maxFrontends = 4096
    private static let registry = Mutex<[String: TLSHandshakeCounters]>([:])
}
