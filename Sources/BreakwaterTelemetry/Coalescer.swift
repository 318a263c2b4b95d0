import Foundation
import Logging

/// The single writer of a telemetry section. On its own thread it reads the log from the committed offset, folds a
/// tumbling window, and at the window's end writes the fold to the sink in one transaction, then commits the log
/// offset past it. A failed write is retried with back-off (100 ms doubling to 5 s) while the log grows; the offset
/// moves only after a successful write, so nothing accepted is lost and a replay after a crash is harmless.
final class Coalescer: @unchecked Sendable {
    private let log: any TelemetryLog
    private let sink: any TelemetrySink
    private let windowSeconds: Double
    private let maxMachines: Int
    private let metrics: TelemetryMetrics
    private let logger: Logger
    private let worker = StoppableThread()
    private var condition: NSCondition { worker.condition }
    private var stopping: Bool { worker.stopping }
    private var wakeups = 0

    init(log: any TelemetryLog, sink: any TelemetrySink, windowMs: Int, maxMachines: Int, metrics: TelemetryMetrics, logger: Logger) {
        self.log = log
        self.sink = sink
        self.windowSeconds = Double(windowMs) / 1000
        self.maxMachines = maxMachines
        self.metrics = metrics
        self.logger = logger
    }

    func start(name: String) {
        metrics.set(\.committedOffset, Int(log.committedOffset))
        worker.start(name: "telemetry-\(name)-coalescer") { [self] in run() }
    }

    /// New durable records exist (called by the group committer).
    func notify() {
        condition.lock()
        wakeups += 1
        condition.signal()
        condition.unlock()
    }

    /// Writes what the current window holds (one attempt), then ends the thread.
    func stop() { worker.requestStop() }

    private var isStopping: Bool { worker.isStopping }

    private func run() {
        while !isStopping {
            var fold = WindowFold()
            let windowEnd = Date().addingTimeInterval(windowSeconds)
            // Fill the window until it ends (or holds max-machines rows, or we are told to stop).
            while fold.rows.count < maxMachines {
                do {
                    let records = try log.readNext(maxBytes: 1 << 20)
                    for r in records { fold.add(r) }
                    if !records.isEmpty { continue }
                } catch {
                    logger.error("telemetry coalescer cannot read the log: \(error)")
                }
                condition.lock()
                let seen = wakeups
                // A log fed by other processes too is polled; the local appender's wake-up comes sooner.
                let wakeAt = log.pollSeconds.map { min(windowEnd, Date().addingTimeInterval($0)) } ?? windowEnd
                while wakeups == seen && !stopping && Date() < wakeAt {
                    _ = condition.wait(until: wakeAt)
                }
                let stop = stopping
                condition.unlock()
                if stop || Date() >= windowEnd { break }
            }
            if fold.isEmpty { continue }
            flush(fold, retry: !isStopping)
        }
    }

    /// Writes the fold, retrying with back-off unless `retry` is false, then commits what was read into it.
    private func flush(_ fold: WindowFold, retry: Bool) {
        var delay = 0.1
        while true {
            let started = Date()
            do {
                let statements = try sink.write(fold)
                let seconds = Date().timeIntervalSince(started)
                try log.commitRead()
                let offset = log.committedOffset
                metrics.update {
                    $0.windows += 1
                    $0.lastWindowRows = fold.rows.count
                    $0.lastWindowRecords = fold.records
                    $0.upsertStatements += statements
                    $0.rowsWritten += fold.rows.count
                    $0.upsertSecondsSum += seconds
                    $0.upsertCount += 1
                    $0.committedOffset = Int(offset)
                }
                return
            } catch {
                metrics.add(\.sinkErrors, 1)
                logger.error("telemetry window of \(fold.rows.count) rows not written (retrying in \(delay)s, the log keeps it): \(error)")
            }
            if !retry { return }
            condition.lock()
            let deadline = Date().addingTimeInterval(delay)
            while !stopping && Date() < deadline { _ = condition.wait(until: deadline) }
            let stop = stopping
            condition.unlock()
            if stop { return }
            delay = min(delay * 2, 5)
        }
    }
}
