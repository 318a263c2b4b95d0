import NIOConcurrencyHelpers

/// Every metric of a `jobs` section (Prometheus text at GET /metrics), labelled `section="NAME"`.
///
/// - `breakwater_jobs_enqueued_total` counter: jobs accepted (202).
/// - `breakwater_jobs_completed_total` counter: jobs that ended `done`.
/// - `breakwater_jobs_failed_total{reason="oom|timeout|exit"}` counter: failed attempts by reason.
/// - `breakwater_jobs_dead_total` counter: jobs that ended `dead` after their last retry.
/// - `breakwater_jobs_duplicates_total` counter: deliveries of a job that was already final, recognised by id.
/// - `breakwater_jobs_queue_depth` gauge: jobs waiting to run (queued or between attempts).
/// - `breakwater_jobs_running` gauge: attempts running now.
public final class JobsMetrics: Sendable {
    struct Counters {
        var enqueued = 0, completed = 0, dead = 0, duplicates = 0, running = 0
        var failed: [FailureReason: Int] = [:]
    }
    let counters = NIOLockedValueBox(Counters())
    let section: String

    init(section: String) { self.section = section }

    func enqueued() { counters.withLockedValue { $0.enqueued += 1 } }
    func duplicate() { counters.withLockedValue { $0.duplicates += 1 } }
    func started() { counters.withLockedValue { $0.running += 1 } }
    func ended(_ outcome: AttemptOutcome, newState: JobState?) {
        counters.withLockedValue {
            $0.running -= 1
            if case .failed(let reason, _, _) = outcome { $0.failed[reason, default: 0] += 1 }
            if newState == .done { $0.completed += 1 }
            if newState == .dead { $0.dead += 1 }
        }
    }

    func render(queueDepth: Int) -> String {
        let c = counters.withLockedValue { $0 }
        let l = "section=\"\(section)\""
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ lines: [(String, Int)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (labels, v) in lines { out += "\(name){\(labels)} \(v)\n" }
        }
        metric("breakwater_jobs_enqueued_total", "counter", "Jobs accepted with 202.", [(l, c.enqueued)])
        metric("breakwater_jobs_completed_total", "counter", "Jobs that ended done.", [(l, c.completed)])
        metric("breakwater_jobs_failed_total", "counter", "Failed attempts by reason.",
               FailureReason.allCases.map { ("\(l),reason=\"\($0)\"", c.failed[$0] ?? 0) })
        metric("breakwater_jobs_dead_total", "counter", "Jobs dead after their last retry.", [(l, c.dead)])
        metric("breakwater_jobs_duplicates_total", "counter", "Deliveries of an already final job.", [(l, c.duplicates)])
        metric("breakwater_jobs_queue_depth", "gauge", "Jobs waiting to run.", [(l, queueDepth)])
        metric("breakwater_jobs_running", "gauge", "Attempts running now.", [(l, c.running)])
        return out
    }
}
