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
}
