/// One `http-request` rule (spec FE-3, ACT-2).
public struct HTTPRequestRule: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        /// `http-request return status N [content-type T] [string S | file F]` (file contents loaded at parse time).
        case returnResponse(status: Int, contentType: String?, body: [UInt8])
        /// `http-request deny [deny_status N]` (default 403).
        case deny(status: Int)
        /// `http-request set-header NAME VALUE` (value is literal text after `%%` unescaping).
        case setHeader(name: String, value: String)
        case addHeader(name: String, value: String)
        case delHeader(name: String)
        /// `http-request use-service prometheus-exporter`.
        case prometheusExporter
        /// `http-request track-sc0|1|2 KEY [table T]` (spec STK-5); `table` is the resolved name of the proxy holding the table (the rule's own proxy when omitted).
        case track(slot: Int, key: TrackKey, table: String)
        /// `http-request tarpit [deny_status N]` (spec ACT-1), default status 500.
        case tarpit(status: Int)
        /// `http-request silent-drop`: close without a response.
        case silentDrop
        /// `http-request sc-inc-gpc0(N)`.
        case incrementGPC0(slot: Int)

        /// Terminal actions stop rule evaluation.
        public var isTerminal: Bool {
            switch self {
            case .returnResponse, .deny, .prometheusExporter, .tarpit, .silentDrop: return true
            case .setHeader, .addHeader, .delHeader, .track, .incrementGPC0: return false
            }
        }
    }
    public var action: Action
    public var condition: RuleCondition?
    public var location: SourceLocation

    public init(action: Action, condition: RuleCondition?, location: SourceLocation) {
        self.action = action
        self.condition = condition
        self.location = location
    }
}

/// The key a `track-sc*` rule computes (spec STK-5).
public enum TrackKey: Sendable, Equatable {
    /// `src`: the client address.
    case source
    /// `hdr(NAME)` / `req.hdr(NAME)`: the last occurrence of a header (name lower-cased).
    case header(String)
}

/// One `tcp-request connection` rule (spec STK-9, ACT-2), evaluated at accept.
public struct TCPConnectionRule: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case reject
        /// `track-sc<N> src [table T]` (table resolved to a proxy name).
        case track(slot: Int, table: String)
    }
    public var action: Action
    /// Only `src`-based conditions make sense at accept; others see no request.
    public var condition: RuleCondition?
    public var location: SourceLocation
    public init(action: Action, condition: RuleCondition?, location: SourceLocation) {
        self.action = action
        self.condition = condition
        self.location = location
    }
}
