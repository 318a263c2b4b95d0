import Foundation
import Testing

@testable import BreakwaterJobs

/// The durable queue without the binary: claim order, retry accounting, duplicate finishes recognised by id,
/// crash recovery of `running` rows, the max-queued and keep-finished bounds.
@Suite struct JobStoreTests {
    func tempStore() throws -> (JobStore, String) {
        let dir = NSTemporaryDirectory() + "/bw-jobstore-\(UUID().uuidString.prefix(8))"
        return (try JobStore(directory: dir), dir)
    }

    @Test func duplicateFinishOfAFinalJobChangesNothing() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try store.enqueue(id: "a", payload: Array("x".utf8), maxQueued: 10) == .accepted)
        let job = try #require(try store.claimNext())
        #expect(job.id == "a" && job.attempt == 1 && job.payload == Array("x".utf8))
        #expect(try store.finish(id: "a", outcome: .succeeded(stdout: []), retries: 0, keepFinished: 10) == .done)
        #expect(try store.finish(id: "a", outcome: .failed(reason: .exit, exitCode: 1, stdout: []), retries: 0, keepFinished: 10) == nil)
        #expect(try store.claimNext() == nil)
    }

    @Test func failedAttemptsRetryThenDead() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try store.enqueue(id: "b", payload: [], maxQueued: 10)
        let failure = AttemptOutcome.failed(reason: .oom, exitCode: nil, stdout: [])
        #expect(try store.claimNext()?.attempt == 1)
        #expect(try store.finish(id: "b", outcome: failure, retries: 1, keepFinished: 10) == .failed)
        #expect(try store.claimNext()?.attempt == 2)
        #expect(try store.finish(id: "b", outcome: failure, retries: 1, keepFinished: 10) == .dead)
        #expect(try store.claimNext() == nil)
    }

    @Test func interruptedJobsAreRequeuedWithoutCountingTheAttempt() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try store.enqueue(id: "c", payload: [], maxQueued: 10)
        _ = try store.claimNext()
        let reopened = try JobStore(directory: dir)
        // The owner (this test process) is alive: a hot-reload successor must leave its running jobs alone.
        #expect(try reopened.requeueInterrupted() == 0)
        #expect(try reopened.claimNext() == nil)
        // Once the owner is gone (a crash), the job goes back to the queue, its attempt not counted.
        #expect(try reopened.requeueInterrupted(isAlive: { _ in false }) == 1)
        #expect(try reopened.claimNext()?.attempt == 1)
    }

    @Test func abandonedJobsAreRequeuedExactlyOnce() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try store.enqueue(id: "f", payload: [], maxQueued: 10)
        _ = try store.claimNext()
        #expect(try store.requeueAbandoned(ids: ["f"]) == 1)
        #expect(try store.requeueAbandoned(ids: ["f"]) == 0)
        #expect(try store.claimNext()?.attempt == 1)
    }

    @Test func boundsAreEnforced() async throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try store.enqueue(id: "1", payload: [], maxQueued: 2) == .accepted)
        #expect(try store.enqueue(id: "2", payload: [], maxQueued: 2) == .accepted)
        #expect(try store.enqueue(id: "3", payload: [], maxQueued: 2) == .full(waiting: 2))
        for _ in 0..<2 {
            let j = try #require(try store.claimNext())
            _ = try store.finish(id: j.id, outcome: .succeeded(stdout: []), retries: 0, keepFinished: 1)
        }
        #expect(try await store.status(id: "1") == nil)  // pruned: only the newest final job is kept
        #expect(try await store.status(id: "2")?.state == .done)
    }

    /// A failed job waits out its back-off: it is not claimed before `next_attempt_at`, and the status shows it.
    @Test func failedJobWaitsForItsNextAttempt() async throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try store.enqueue(id: "d", payload: [], maxQueued: 10)
        _ = try store.claimNext()
        let before = Date().timeIntervalSince1970
        let failure = AttemptOutcome.failed(reason: .exit, exitCode: 2, stdout: [])
        #expect(try store.finish(id: "d", outcome: failure, retries: 2, keepFinished: 10, retryDelayMs: 60_000) == .failed)
        #expect(try store.claimNext() == nil)
        let s = try #require(try await store.status(id: "d"))
        let at = try #require(s.nextAttemptAt)
        #expect(at >= before + 59 && at <= Date().timeIntervalSince1970 + 61)
        #expect(try store.claimNext(now: Date().addingTimeInterval(61))?.attempt == 2)
    }

    /// queue amqp rows: a delivery of a job already final here is recognised (not run again).
    @Test func deliveryOfAFinalJobIsRecognised() throws {
        let (store, dir) = try tempStore()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try store.insertQueued(id: "e"))
        #expect(try !store.insertQueued(id: "e"))
        #expect(try store.startDelivery(id: "e", attempt: 1) == .run)
        #expect(try store.finish(id: "e", outcome: .succeeded(stdout: []), retries: 0, keepFinished: 10) == .done)
        #expect(try store.startDelivery(id: "e", attempt: 1) == .alreadyFinal)
        #expect(try store.startDelivery(id: "from-another-node", attempt: 2) == .run)
    }
}
