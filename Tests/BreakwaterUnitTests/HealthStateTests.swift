import BreakwaterBalancing
import BreakwaterConfigModel
import Testing

/// The HC-3 health counter, HC-4 interval choice and OBS-3/OBS-4 passive actions, without a clock.
@Suite struct HealthStateTests {
    static func config(rise: Int = 2, fall: Int = 3, errorLimit: Int = 3, onError: OnErrorAction = .failCheck) -> HealthCheckConfig {
        var c = HealthCheckConfig()
        c.enabled = true
        c.inter = 10_000
        c.fastinter = 2_000
        c.downinter = 5_000
        c.rise = rise
        c.fall = fall
        c.errorLimit = errorLimit
        c.onError = onError
        c.observe = .layer7
        return c
    }

    @Test func startsUpButUnconfirmedAndOneFailureMarksDown() {
        var h = HealthState(rise: 2, fall: 3)
        #expect(h.isUp)
        #expect(h.health == 2)
        #expect(h.nextInterval(Self.config()) == 2_000)  // unconfirmed → fastinter
        #expect(h.checkFailed() == .wentDown)
        #expect(h.health == 0)
        #expect(h.statusText == "DOWN")
    }

    @Test func firstSuccessConfirmsAtMax() {
        var h = HealthState(rise: 2, fall: 3)
        #expect(h.checkSucceeded() == .none)
        #expect(h.health == 4)
        #expect(h.statusText == "UP")
        #expect(h.nextInterval(Self.config()) == 10_000)
    }

    @Test func fallConsecutiveFailuresToGoDownAndASuccessRestores() {
        var h = HealthState(rise: 2, fall: 3)
        _ = h.checkSucceeded()
        #expect(h.checkFailed() == .none)
        #expect(h.statusText == "UP 2/3")
        #expect(h.nextInterval(Self.config()) == 2_000)
        #expect(h.checkFailed() == .none)
        #expect(h.statusText == "UP 1/3")
        #expect(h.checkSucceeded() == .none)
        #expect(h.statusText == "UP")
        _ = h.checkFailed()
        _ = h.checkFailed()
        #expect(h.checkFailed() == .wentDown)
        #expect(h.downTransitions == 1)
        #expect(h.nextInterval(Self.config()) == 5_000)  // steadily down → downinter
    }

    @Test func riseConsecutiveSuccessesToComeBackAndAFailureResets() {
        var h = HealthState(rise: 2, fall: 3)
        _ = h.checkFailed()
        #expect(h.checkSucceeded() == .none)
        #expect(h.statusText == "DOWN 1/2")
        #expect(h.nextInterval(Self.config()) == 2_000)
        #expect(h.checkFailed() == .none)
        #expect(h.health == 0)
        _ = h.checkSucceeded()
        #expect(h.checkSucceeded() == .wentUp)
        #expect(h.statusText == "UP")
    }

    @Test func passiveMarkDownAfterErrorLimitConsecutiveErrors() {
        let c = Self.config(errorLimit: 3, onError: .markDown)
        var h = HealthState(rise: 2, fall: 3)
        _ = h.checkSucceeded()
        #expect(h.passiveError(c) == .none)
        #expect(h.passiveError(c) == .none)
        h.passiveSuccess()  // a success resets the count: consecutive only
        #expect(h.passiveError(c) == .none)
        #expect(h.passiveError(c) == .none)
        #expect(h.passiveError(c) == .limitReached(.wentDown))
        #expect(h.passiveFailures == 1)
        #expect(h.consecutiveErrors == 0)
    }

    @Test func passiveFailCheckCountsAsOneFailedCheck() {
        let c = Self.config(errorLimit: 1, onError: .failCheck)
        var h = HealthState(rise: 2, fall: 3)
        _ = h.checkSucceeded()
        #expect(h.passiveError(c) == .limitReached(.none))
        #expect(h.passiveError(c) == .limitReached(.none))
        #expect(h.passiveError(c) == .limitReached(.wentDown))
    }

    @Test func passiveSuddenDeathLeavesOneFailureToDown() {
        let c = Self.config(errorLimit: 1, onError: .suddenDeath)
        var h = HealthState(rise: 2, fall: 3)
        _ = h.checkSucceeded()
        #expect(h.passiveError(c) == .limitReached(.none))
        #expect(h.isUp)
        #expect(h.checkFailed() == .wentDown)
    }

    @Test func passiveFastinterChangesNoHealth() {
        let c = Self.config(errorLimit: 1, onError: .fastinter)
        var h = HealthState(rise: 2, fall: 3)
        _ = h.checkSucceeded()
        #expect(h.passiveError(c) == .limitReached(.none))
        #expect(h.health == 4)
    }

    @Test func restartAfterMaintenanceIsUnconfirmedAtRise() {
        var h = HealthState(rise: 3, fall: 2)
        _ = h.checkFailed()
        h.restart()
        #expect(h.health == 3)
        #expect(h.isUp)
        #expect(h.unconfirmed)
    }

    @Test func activeSuccessResetsPassiveErrors() {
        let c = Self.config(errorLimit: 2, onError: .markDown)
        var h = HealthState(rise: 2, fall: 3)
        #expect(h.passiveError(c) == .none)
        _ = h.checkSucceeded()
        #expect(h.passiveError(c) == .none)
        #expect(h.isUp)
    }
}
