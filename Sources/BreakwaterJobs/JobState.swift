/// Where a job is in its life. `done` and `dead` are final; `failed` is the state between attempts.
public enum JobState: String, Sendable, Equatable, CustomStringConvertible {
    case queued, running, done, failed, dead
    public var description: String { rawValue }
    public var isFinal: Bool { self == .done || self == .dead }
}

/// Why an attempt failed.
public enum FailureReason: String, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// The process exited with a non-zero status (or was killed by a signal other than the OOM killer).
    case exit
    /// The kernel's OOM killer ended it at the job's memory ceiling.
    case oom
    /// It ran longer than `timeout` and was SIGKILLed.
    case timeout
    public var description: String { rawValue }
}

/// How one attempt ended, as the supervisor observed it.
public enum AttemptOutcome: Sendable, Equatable {
    case succeeded(stdout: [UInt8])
    case failed(reason: FailureReason, exitCode: Int?, stdout: [UInt8])
}

/// The pure transition rule after an attempt: retried up to `retries` more times, then dead.
public enum JobLifecycle {
    /// The state a job moves to after attempt number `attempts` (1-based) ended with `outcome`.
    public static func stateAfter(attempts: Int, retries: Int, outcome: AttemptOutcome) -> JobState {
        switch outcome {
        case .succeeded: return .done
        case .failed: return attempts >= retries + 1 ? .dead : .failed
        }
    }
}

/// A job's status as the API shows it.
public struct JobStatus: Sendable, Equatable {
    public var id: String
    public var state: JobState
    public var attempts: Int
    public var exitCode: Int?
    public var reason: FailureReason?
    public var stdout: [UInt8]?
    /// For `failed`: when the next attempt may start (seconds since 1970), after the retry back-off.
    public var nextAttemptAt: Double?
}

/// A job handed to the supervisor for one attempt.
public struct ClaimedJob: Sendable {
    public var id: String
    public var payload: [UInt8]
    /// 1-based number of this attempt.
    public var attempt: Int
}

/// `retry-backoff BASE max MAX`: the delay before the retry after attempt n is BASE·2^(n-1) capped at MAX,
/// with equal jitter — a uniform pick in [d/2, d] — so that jobs that failed together do not retry together,
/// yet never wait longer than the cap.
public struct RetryBackoff: Sendable, Equatable {
    public var baseMs: Int
    public var maxMs: Int

    public init(baseMs: Int, maxMs: Int) {
        self.baseMs = baseMs
        self.maxMs = max(maxMs, baseMs)
    }

    /// The un-jittered delay after attempt `attempt` (1-based): BASE·2^(attempt-1), at most MAX.
    public func ceilingMs(afterAttempt attempt: Int) -> Int {
        guard baseMs > 0 else { return 0 }
        let doublings = min(max(attempt - 1, 0), 40)
        let (d, overflow) = baseMs.multipliedReportingOverflow(by: 1 << doublings)
        return overflow ? maxMs : min(d, maxMs)
    }

    /// The delay to wait, with `unit` a uniform pick in [0, 1].
    public func delayMs(afterAttempt attempt: Int, unit: Double = Double.random(in: 0...1)) -> Int {
        let d = ceilingMs(afterAttempt: attempt)
        return d / 2 + Int((Double(d - d / 2) * min(max(unit, 0), 1)).rounded())
    }
}
