import Foundation
import NIOConcurrencyHelpers

/// What ingest needs once the log is open: the group committer and the log. A reload's successor serves before its
/// predecessor has released the log directory; requests then wait here (bounded) until the log is open.
final class IngestGate: Sendable {
    struct Open: Sendable {
        var committer: GroupCommitter
        var log: any TelemetryLog
    }

    private enum Phase: Sendable {
        case waiting
        case open(Open)
        case failed(String)
    }

    private let phase = NIOLockedValueBox(Phase.waiting)

    var current: Open? {
        if case .open(let o) = phase.withLockedValue({ $0 }) { return o }
        return nil
    }

    func open(_ o: Open) { phase.withLockedValue { $0 = .open(o) } }
    func fail(_ message: String) { phase.withLockedValue { $0 = .failed(message) } }

    /// The open log, waiting up to `timeout` seconds for it; else the reason to answer 503.
    func ready(timeout: Double) async -> Result<Open, AppendRefusal> {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            switch phase.withLockedValue({ $0 }) {
            case .open(let o): return .success(o)
            case .failed(let m): return .failure(AppendRefusal(message: m))
            case .waiting:
                if Date() >= deadline {
                    return .failure(AppendRefusal(message: "the telemetry section is starting: the process it replaces still holds the log; retry shortly"))
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}
