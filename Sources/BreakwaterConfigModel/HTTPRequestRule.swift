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

        /// Terminal actions stop rule evaluation.
        public var isTerminal: Bool {
            switch self {
            case .returnResponse, .deny, .prometheusExporter: return true
            case .setHeader, .addHeader, .delHeader: return false
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
