import Testing

@testable import BreakwaterJobs

/// The retry rule without I/O: `attempts` ends at `retries + 1`, then dead.
@Suite struct JobLifecycleTests {
    let failure = AttemptOutcome.failed(reason: .oom, exitCode: nil, stdout: [])

    @Test func successIsDoneAtAnyAttempt() {
        #expect(JobLifecycle.stateAfter(attempts: 1, retries: 3, outcome: .succeeded(stdout: [])) == .done)
        #expect(JobLifecycle.stateAfter(attempts: 4, retries: 3, outcome: .succeeded(stdout: [])) == .done)
    }

    @Test func failureRetriesThenDead() {
        #expect(JobLifecycle.stateAfter(attempts: 1, retries: 3, outcome: failure) == .failed)
        #expect(JobLifecycle.stateAfter(attempts: 3, retries: 3, outcome: failure) == .failed)
        #expect(JobLifecycle.stateAfter(attempts: 4, retries: 3, outcome: failure) == .dead)
        #expect(JobLifecycle.stateAfter(attempts: 1, retries: 0, outcome: failure) == .dead)
    }

    @Test func finalStates() {
        #expect(JobState.done.isFinal && JobState.dead.isFinal)
        #expect(!JobState.failed.isFinal && !JobState.queued.isFinal && !JobState.running.isFinal)
    }

    @Test func backoffDoublesToItsCapWithEqualJitter() {
        let b = RetryBackoff(baseMs: 1_000, maxMs: 60_000)
        #expect(b.ceilingMs(afterAttempt: 1) == 1_000)
        #expect(b.ceilingMs(afterAttempt: 2) == 2_000)
        #expect(b.ceilingMs(afterAttempt: 6) == 32_000)
        #expect(b.ceilingMs(afterAttempt: 7) == 60_000)
        #expect(b.ceilingMs(afterAttempt: 100) == 60_000)
        #expect(b.delayMs(afterAttempt: 3, unit: 0) == 2_000)
        #expect(b.delayMs(afterAttempt: 3, unit: 1) == 4_000)
        #expect(b.delayMs(afterAttempt: 3, unit: 0.5) == 3_000)
        for _ in 0..<100 { #expect((30_000...60_000).contains(b.delayMs(afterAttempt: 9))) }
        #expect(RetryBackoff(baseMs: 0, maxMs: 0).delayMs(afterAttempt: 5) == 0)
    }
}
