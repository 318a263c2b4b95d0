import BreakwaterBalancing
import BreakwaterConfigModel
import Synchronization

/// Check status codes (spec HC-8).
public enum CheckStatus: String, Sendable {
    case unknown = "UNK", initialising = "INI", healthAnalyze = "HANA", socketError = "SOCKERR"
    case l4ok = "L4OK", l4timeout = "L4TOUT", l4connect = "L4CON"
    case l7timeout = "L7TOUT", l7response = "L7RSP", l7ok = "L7OK", l7status = "L7STS"

    public var code: Int {
        switch self {
        case .unknown: return 0
        case .initialising: return 1
        case .healthAnalyze: return 4
        case .socketError: return 5
        case .l4ok: return 6
        case .l4timeout: return 7
        case .l4connect: return 8
        case .l7timeout: return 12
        case .l7response: return 13
        case .l7ok: return 15
        case .l7status: return 17
        }
    }

    /// The `reason:` text of state-change messages (HC-9).
    public var reason: String {
        switch self {
        case .unknown: return "Unknown"
        case .initialising: return "Initializing"
        case .healthAnalyze: return "Health analyze"
        case .socketError: return "Socket error"
        case .l4ok: return "Layer4 check passed"
        case .l4timeout: return "Layer4 timeout"
        case .l4connect: return "Layer4 connection problem"
        case .l7timeout: return "Layer7 timeout"
        case .l7response: return "Layer7 invalid response"
        case .l7ok: return "Layer7 check passed"
        case .l7status: return "Layer7 wrong status"
        }
    }
}

/// A passive observation of real traffic to a server (spec OBS-2).
public enum PassiveEvent: Sendable {
    case connectFailed
    case connected
    case response(status: Int)
    case invalidResponse
    case readTimeout
    case closedBeforeResponse

    var description: String {
        switch self {
        case .connectFailed: return "L4 unsuccessful connection"
        case .connected: return "L4 successful connection"
        case .response: return "Wrong http response"
        case .invalidResponse: return "Invalid http response (headers)"
        case .readTimeout: return "Read timeout (http)"
        case .closedBeforeResponse: return "Close from server (http)"
        }
    }
}

/// Health of one server: the HC-3 counter, the last check's result and the passive counter.
/// Shared by the checker and every event loop's passive observations.
public final class ServerHealth: Sendable {
    public struct Snapshot: Sendable {
        public var state: HealthState
        public var lastStatus: CheckStatus
        public var lastInfo: String?
        public var lastDurationMs: Int
        public var checkRunning: Bool
        /// Wall-clock ms of the last UP/DOWN change (`lastchg`).
        public var lastChangeMs: Int64
        /// Total ms spent DOWN (`downtime`), not counting a current DOWN period.
        public var downtimeMs: Int64
    }

    public let config: HealthCheckConfig
    private let state: Mutex<Snapshot>

    init(config: HealthCheckConfig, nowMs: Int64) {
        self.config = config
        state = Mutex(Snapshot(state: HealthState(rise: config.rise, fall: config.fall), lastStatus: .initialising,
                               lastInfo: nil, lastDurationMs: 0, checkRunning: false, lastChangeMs: nowMs, downtimeMs: 0))
    }

    public var snapshot: Snapshot { state.withLock { $0 } }
    public var isUp: Bool { state.withLock { $0.state.isUp } }

    /// Records an active check result; returns the transition it caused.
    func recordCheck(passed: Bool, status: CheckStatus, info: String?, durationMs: Int, nowMs: Int64) -> HealthState.Transition {
        state.withLock { s in
            s.lastStatus = status
            s.lastInfo = info
            s.lastDurationMs = durationMs
            s.checkRunning = false
            let t = passed ? s.state.checkSucceeded() : s.state.checkFailed()
            Self.noteChange(&s, t, nowMs)
            return t
        }
    }

    func setRunning() { state.withLock { $0.checkRunning = true } }

    /// Records a passive event (only called when `observe` is enabled and the server is checked).
    func recordPassive(_ event: PassiveEvent, nowMs: Int64) -> HealthState.PassiveOutcome {
        let isError: Bool?
        switch (config.observe, event) {
        case (.none, _): isError = nil
        case (_, .connectFailed): isError = true
        case (.layer4, .connected): isError = false
        case (.layer4, _): isError = nil
        case (.layer7, .connected): isError = nil
        case (.layer7, .response(let status)): isError = !((100...499).contains(status) || status == 501 || status == 505)
        case (.layer7, _): isError = true
        }
        guard let isError else { return .none }
        return state.withLock { s in
            if !isError {
                s.state.passiveSuccess()
                return .none
            }
            let outcome = s.state.passiveError(config)
            if case .limitReached(let t) = outcome {
                s.lastStatus = .healthAnalyze
                s.lastInfo = "Detected \(config.errorLimit) consecutive errors, last one was: \(event.description)"
                Self.noteChange(&s, t, nowMs)
            }
            return outcome
        }
    }

    /// Restores the health counter saved by a previous process (hitless reload).
    public func restore(health: Int, unconfirmed: Bool) {
        state.withLock { $0.state.restore(health: health, unconfirmed: unconfirmed) }
    }

    /// Leaving maintenance: unconfirmed again at h = rise (HC-3).
    public func restart() {
        state.withLock { $0.state.restart() }
    }

    private static func noteChange(_ s: inout Snapshot, _ t: HealthState.Transition, _ nowMs: Int64) {
        switch t {
        case .none: break
        case .wentDown:
            s.lastChangeMs = nowMs
        case .wentUp:
            s.downtimeMs += nowMs - s.lastChangeMs
            s.lastChangeMs = nowMs
        }
    }

    /// The interval to wait before the next check.
    func nextInterval() -> Int {
        state.withLock { $0.state.nextInterval(config) }
    }
}
