import Foundation
import Logging

/// Keeps up to `workers` attempts running, each on its own thread in a fresh process (JobProcess), and records
/// each outcome with its source only after the process ended (at-least-once: a crash re-delivers).
final class JobSupervisor: @unchecked Sendable {
    private let source: any JobSource
    private let process: any AttemptRunner
    private let workers: Int
    private let metrics: JobsMetrics
    private let logger: Logger

    /// Guards `running`, `stopping`, `handles`, `wake`.
    private let condition = NSCondition()
    private var running = 0
    private var stopping = false
    private var loopDone = false
    private var handles: [ObjectIdentifier: (handle: JobProcess.Handle, job: ClaimedJob)] = [:]

    init(source: any JobSource, process: any AttemptRunner, workers: Int, metrics: JobsMetrics, logger: Logger) {
        self.source = source
        self.process = process
        self.workers = workers
        self.metrics = metrics
        self.logger = logger
    }

    func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "breakwater-jobs-supervisor"
        thread.start()
    }

    /// A job was enqueued: look for work now instead of at the next poll.
    func notifyEnqueued() { source.wake() }

    private func loop() {
        while true {
            condition.lock()
            while !stopping && running >= workers { condition.wait() }
            if stopping {
                loopDone = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()

            guard let job = source.next(timeout: 0.5) else { continue }
            let handle = JobProcess.Handle()
            condition.lock()
            running += 1
            handles[ObjectIdentifier(handle)] = (handle, job)
            condition.unlock()
            metrics.started()
            let thread = Thread { [self] in runAttempt(job, handle: handle) }
            thread.name = "breakwater-job"
            thread.start()
        }
    }

    private func runAttempt(_ job: ClaimedJob, handle: JobProcess.Handle) {
        let outcome = process.run(job, handle: handle)
        var newState: JobState?
        if !handle.abandoned {
            // Acknowledge only now, after the process ended.
            do {
                newState = try source.finish(job, outcome: outcome)
                if newState == nil { metrics.duplicate() }
            } catch {
                logger.error("jobs: cannot record the end of job \(job.id): \(error); it will run again")
            }
            if case .failed(let reason, let code, _) = outcome {
                logger.warning("jobs: job \(job.id) attempt \(job.attempt) failed: \(reason)\(code.map { " (exit \($0))" } ?? "") -> \(newState.map(\.rawValue) ?? "?")")
            }
        }
        metrics.ended(outcome, newState: newState)
        condition.lock()
        running -= 1
        handles[ObjectIdentifier(handle)] = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Stops claiming, waits up to `grace` for running attempts, then kills what is left; those stay `running`
    /// in the store and are re-queued at the next start (nothing is acknowledged that did not finish).
    func stop(grace: Duration) {
        condition.lock()
        stopping = true
        condition.broadcast()
        let deadline = Date().addingTimeInterval(Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18)
        while running > 0 && Date() < deadline { _ = condition.wait(until: deadline) }
        let abandoned = handles.values.map(\.job)
        for entry in handles.values { entry.handle.abandon(cgroups: process.cgroups) }
        while running > 0 || !loopDone { _ = condition.wait(until: Date().addingTimeInterval(0.1)) }
        condition.unlock()
        process.shutdown()
        if !abandoned.isEmpty { source.requeueAbandoned(abandoned) }
    }
}
