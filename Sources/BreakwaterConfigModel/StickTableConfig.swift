/// A `stick-table` declaration (spec STK-1). The table is named after its enclosing proxy.
public struct StickTableConfig: Sendable, Equatable {
    /// `type ip | ipv6 | integer | string [len N] | binary [len N]`.
    public enum KeyType: Sendable, Equatable {
        /// IPv4 keys, 4 bytes. IPv4-mapped IPv6 sources are converted; other IPv6 sources are not tracked.
        case ip
        /// IPv6 keys, 16 bytes; IPv4 sources are stored as `::ffff:a.b.c.d`.
        case ipv6
        /// 32-bit integer keys (HAProxy keeps the low 32 bits of the sample).
        case integer
        /// Strings of up to `len` bytes (HAProxy default 32); longer keys are truncated to `len`.
        case string(len: Int)
        /// Binary blocks of exactly `len` bytes (HAProxy default 32); shorter keys are zero-padded.
        case binary(len: Int)

        /// Default `len` for `string` and `binary` when omitted.
        public static let defaultLength = 32

        /// The keyword printed by `show table` (`type: ip`, …).
        public var keyword: String {
            switch self {
            case .ip: return "ip"
            case .ipv6: return "ipv6"
            case .integer: return "integer"
            case .string: return "string"
            case .binary: return "binary"
            }
        }
    }

    public var keyType: KeyType
    /// Maximum number of entries (`size`, e.g. `2m` = 2 097 152).
    public var size: Int
    /// `expire` in ms; nil = entries never expire (removed only by eviction or the CLI).
    public var expireMs: Int?
    /// When full, refuse new entries instead of evicting (STK-7).
    public var nopurge: Bool
    /// Stored data, in declaration order (display order is fixed by `StoreType.Kind`).
    public var stores: [StoreType]

    public init(keyType: KeyType, size: Int, expireMs: Int? = nil, nopurge: Bool = false, stores: [StoreType] = []) {
        self.keyType = keyType
        self.size = size
        self.expireMs = expireMs
        self.nopurge = nopurge
        self.stores = stores
    }

    /// The stored entry for a kind, if the table stores it (the first one wins when repeated).
    public func store(of kind: StoreType.Kind) -> StoreType? {
        stores.first { $0.kind == kind }
    }
}

/// One `store` data type (spec STK-2). Rates carry their period in ms.
public enum StoreType: Sendable, Equatable, Hashable, CustomStringConvertible {
    case gpc0
    case gpc0Rate(periodMs: Int)
    case connCnt
    case connRate(periodMs: Int)
    case connCur
    case sessCnt
    case sessRate(periodMs: Int)
    case httpReqCnt
    case httpReqRate(periodMs: Int)
    case httpErrCnt
    case httpErrRate(periodMs: Int)
    case bytesInCnt
    case bytesInRate(periodMs: Int)
    case bytesOutCnt
    case bytesOutRate(periodMs: Int)

    /// The data type without its period. Declared in HAProxy's fixed display order (CLI-6);
    /// raw values are HAProxy's names.
    public enum Kind: String, Sendable, CaseIterable, Hashable, Comparable {
        case gpc0
        case gpc0Rate = "gpc0_rate"
        case connCnt = "conn_cnt"
        case connRate = "conn_rate"
        case connCur = "conn_cur"
        case sessCnt = "sess_cnt"
        case sessRate = "sess_rate"
        case httpReqCnt = "http_req_cnt"
        case httpReqRate = "http_req_rate"
        case httpErrCnt = "http_err_cnt"
        case httpErrRate = "http_err_rate"
        case bytesInCnt = "bytes_in_cnt"
        case bytesInRate = "bytes_in_rate"
        case bytesOutCnt = "bytes_out_cnt"
        case bytesOutRate = "bytes_out_rate"

        /// True for period counters (`*_rate(P)`), which need a period argument.
        public var isRate: Bool {
            switch self {
            case .gpc0Rate, .connRate, .sessRate, .httpReqRate, .httpErrRate, .bytesInRate, .bytesOutRate: return true
            default: return false
            }
        }

        /// True for the 64-bit byte counters; other counters are 32-bit.
        public var is64Bit: Bool { self == .bytesInCnt || self == .bytesOutCnt }

        /// Position in the CLI-6 display order.
        public var displayOrder: Int { Kind.allCases.firstIndex(of: self)! }

        public static func < (lhs: Kind, rhs: Kind) -> Bool { lhs.displayOrder < rhs.displayOrder }
    }

    /// Builds a store type from its HAProxy name; `periodMs` must be given exactly for rate types.
    /// Returns nil for unknown names or a wrong argument (the parser words the error).
    public init?(name: String, periodMs: Int?) {
        guard let kind = Kind(rawValue: name) else { return nil }
        if kind.isRate != (periodMs != nil) { return nil }
        self.init(kind: kind, periodMs: periodMs ?? 0)
    }

    /// Builds a store type from its kind (the period is ignored for counters).
    public init(kind: Kind, periodMs: Int) {
        switch kind {
        case .gpc0: self = .gpc0
        case .gpc0Rate: self = .gpc0Rate(periodMs: periodMs)
        case .connCnt: self = .connCnt
        case .connRate: self = .connRate(periodMs: periodMs)
        case .connCur: self = .connCur
        case .sessCnt: self = .sessCnt
        case .sessRate: self = .sessRate(periodMs: periodMs)
        case .httpReqCnt: self = .httpReqCnt
        case .httpReqRate: self = .httpReqRate(periodMs: periodMs)
        case .httpErrCnt: self = .httpErrCnt
        case .httpErrRate: self = .httpErrRate(periodMs: periodMs)
        case .bytesInCnt: self = .bytesInCnt
        case .bytesInRate: self = .bytesInRate(periodMs: periodMs)
        case .bytesOutCnt: self = .bytesOutCnt
        case .bytesOutRate: self = .bytesOutRate(periodMs: periodMs)
        }
    }

    public var kind: Kind {
        switch self {
        case .gpc0: return .gpc0
        case .gpc0Rate: return .gpc0Rate
        case .connCnt: return .connCnt
        case .connRate: return .connRate
        case .connCur: return .connCur
        case .sessCnt: return .sessCnt
        case .sessRate: return .sessRate
        case .httpReqCnt: return .httpReqCnt
        case .httpReqRate: return .httpReqRate
        case .httpErrCnt: return .httpErrCnt
        case .httpErrRate: return .httpErrRate
        case .bytesInCnt: return .bytesInCnt
        case .bytesInRate: return .bytesInRate
        case .bytesOutCnt: return .bytesOutCnt
        case .bytesOutRate: return .bytesOutRate
        }
    }

    /// The period in ms for rate types, nil for counters.
    public var periodMs: Int? {
        switch self {
        case .gpc0Rate(let p), .connRate(let p), .sessRate(let p), .httpReqRate(let p), .httpErrRate(let p),
             .bytesInRate(let p), .bytesOutRate(let p):
            return p
        default:
            return nil
        }
    }

    /// HAProxy's name, e.g. `http_req_rate`.
    public var name: String { kind.rawValue }

    /// `http_req_rate(10000)` for rates, `http_req_cnt` for counters.
    public var description: String {
        if let p = periodMs { return "\(name)(\(p))" }
        return name
    }
}
