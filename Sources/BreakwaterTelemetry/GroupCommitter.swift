import Foundation

/// Why an append was refused or failed: answered as 503 with a JSON error.
public struct AppendRefusal: Error, Sendable {
    public var message: String
}

/// Group commit: requests queue their encoded records here; one thread writes everything queued, fsyncs once,
/// applies the records to the latest-state store, then completes every request of the batch. Requests that arrive
/// while an fsync runs form the next batch, so one fsync covers all of them.
final class GroupCommitter: @unchecked Sendable {
    private struct Pending {
        var frames: [UInt8]
        var records: [Heartbeat]
        var completion: @Sendable (Result<Void, AppendRefusal>) -> Void
    }

    private let log: any TelemetryLog
    private let state: any LatestState
    private let metrics: TelemetryMetrics
    private let onDurable: @Sendable () -> Void
    private let worker = StoppableThread()
    private var condition: NSCondition { worker.condition }
    private var stopping: Bool { worker.stopping }
    private var queue: [Pending] = []
    private var queuedBytes = 0

    init(log: any TelemetryLog, state: any LatestState, metrics: TelemetryMetrics, onDurable: @escaping @Sendable () -> Void) {
        self.log = log
        self.state = state
        self.metrics = metrics
        self.onDurable = onDurable
    }

    func start(name: String) {
        worker.start(name: "telemetry-\(name)-log") { [self] in run() }
    }

    /// Queues the records; `completion` runs on the log thread once they are fsynced and applied, or refused.
    func submit(_ records: [Heartbeat], completion: @escaping @Sendable (Result<Void, AppendRefusal>) -> Void) {
        var frames: [UInt8] = []
        frames.reserveCapacity(records.count * 64)
        var payload: [UInt8] = []
        for r in records {
            payload.removeAll(keepingCapacity: true)
            HeartbeatCodec.encode(r, into: &payload)
            SegmentLog.appendFrame(payload, into: &frames)
        }
        condition.lock()
        if stopping {
            condition.unlock()
            completion(.failure(AppendRefusal(message: "the telemetry section is shutting down; retry against the new process")))
            return
        }
        if let problem = log.admissionProblem(records: records.count, bytes: frames.count, queuedBytes: queuedBytes) {
            condition.unlock()
            metrics.add(\.logFullRefusals, 1)
            completion(.failure(AppendRefusal(message: problem)))
            return
        }
        queuedBytes += frames.count
        queue.append(Pending(frames: frames, records: records, completion: completion))
        condition.signal()
        condition.unlock()
    }

    /// Finishes every queued request, then ends the thread.
    func stop() { worker.requestStop() }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty && stopping {
                condition.unlock()
                return
            }
            let batch = queue
            queue.removeAll(keepingCapacity: true)
            condition.unlock()

            var frames: [UInt8] = []
            var records: [Heartbeat] = []
            for p in batch {
                frames += p.frames
                records += p.records
            }
            let result: Result<Void, AppendRefusal>
            do {
                try log.appendDurably(records, frames: frames)
                metrics.add(\.fsyncs, 1)
                do {
                    try state.apply(records)
                    metrics.add(\.acceptedRecords, records.count)
                    result = .success(())
                } catch {
                    metrics.add(\.stateErrors, 1)
                    result = .failure(AppendRefusal(message: "the records are in the log (they will reach the sink) but the latest state could not be updated: \(error); retrying the request is harmless"))
                }
            } catch {
                metrics.add(\.logWriteErrors, 1)
                result = .failure(AppendRefusal(message: "the durable log could not be written: \(error); nothing of this request was accepted"))
            }
            condition.lock()
            queuedBytes -= frames.count
            condition.unlock()
            for p in batch { p.completion(result) }
            if case .success = result { onDurable() }
        }
    }
}
