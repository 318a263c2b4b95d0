import BreakwaterConfigModel

/// The health counter of one checked server (spec HC-3) and its passive error counter (OBS-2..4).
///
/// A value type with no clock and no I/O: the checker feeds results in, executes the transition it
/// gets back, and asks which interval to wait next (HC-4).
public struct HealthState: Sendable, Equatable {
    public enum Transition: Sendable, Equatable {
        case none
        case wentDown
        case wentUp
    }

    public let rise: Int
    public let fall: Int
    /// `h` in 0...rise+fall-1; the server is UP iff h >= rise.
    public private(set) var health: Int
    /// Consecutive passive errors (reset by any success).
    public private(set) var consecutiveErrors = 0
    /// `chkfail`: failed checks (and fail-check triggers).
    public private(set) var checkFailures = 0
    /// `chkdown`: UP→DOWN transitions.
    public private(set) var downTransitions = 0
    /// `hanafail`: times the passive error limit was reached.
    public private(set) var passiveFailures = 0
    /// No check result yet since start or leaving maintenance.
    public private(set) var unconfirmed = true

    public init(rise: Int, fall: Int) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        // Servers start UP but unconfirmed: the first result decides (HC-3).
        health = self.rise
    }

    public var maxHealth: Int { rise + fall - 1 }
    public var isUp: Bool { health >= rise }

    public mutating func checkSucceeded() -> Transition {
        let wasUp = isUp
        unconfirmed = false
        consecutiveErrors = 0
        if health < maxHealth {
            health += 1
            if health >= rise { health = maxHealth }
        }
        return transition(from: wasUp)
    }

    public mutating func checkFailed() -> Transition {
        let wasUp = isUp
        unconfirmed = false
        checkFailures += 1
        if health > 0 {
            health -= 1
            if health < rise { health = 0 }
        }
        return transition(from: wasUp)
    }

    /// `on-error mark-down`: DOWN at once.
    public mutating func markDown() -> Transition {
        let wasUp = isUp
        health = 0
        return transition(from: wasUp)
    }

    /// A server leaving maintenance restarts unconfirmed at h = rise (HC-3).
    public mutating func restart() {
        health = rise
        unconfirmed = true
        consecutiveErrors = 0
    }

    /// Carries a health value over from a previous process (hitless reload).
    public mutating func restore(health: Int, unconfirmed: Bool) {
        self.health = max(0, min(maxHealth, health))
        self.unconfirmed = unconfirmed
    }

    private mutating func transition(from wasUp: Bool) -> Transition {
        if wasUp && !isUp {
            downTransitions += 1
            return .wentDown
        }
        if !wasUp && isUp { return .wentUp }
        return .none
    }

    /// The interval before the next check, chosen at completion (HC-4).
    public func nextInterval(_ config: HealthCheckConfig) -> Int {
        if health == maxHealth && !unconfirmed { return config.inter }
        if health == 0 { return config.effectiveDowninter }
        return config.effectiveFastinter
    }

    /// Text of the `status` column (HC-3 display); admin states are applied by the caller.
    public var statusText: String {
        if health == maxHealth { return "UP" }
        if health >= rise { return "UP \(health - rise + 1)/\(fall)" }
        if health > 0 { return "DOWN \(health)/\(rise)" }
        return "DOWN"
    }

    // MARK: - Passive observation (OBS-2..OBS-4)

    public enum PassiveOutcome: Sendable, Equatable {
        case none
        /// The error limit was reached: the transition caused and whether to pull the next check in.
        case limitReached(Transition)
    }

    public mutating func passiveSuccess() {
        consecutiveErrors = 0
    }

    public mutating func passiveError(_ config: HealthCheckConfig) -> PassiveOutcome {
        consecutiveErrors += 1
        guard consecutiveErrors >= config.errorLimit else { return .none }
        consecutiveErrors = 0
        passiveFailures += 1
        switch config.onError {
        case .fastinter:
            return .limitReached(.none)
        case .failCheck:
            return .limitReached(checkFailed())
        case .suddenDeath:
            if health > rise { health = rise + 1 }
            return .limitReached(checkFailed())
        case .markDown:
            return .limitReached(markDown())
        }
    }
}
