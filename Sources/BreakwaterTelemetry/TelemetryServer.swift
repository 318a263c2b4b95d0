import BreakwaterConfigModel
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One `telemetry NAME` section at run time: the durable log, the latest-state store, the group committer, the
/// coalescer and the HTTP API. `start()` recovers the log and binds; `stop()` stops accepting, finishes queued
/// appends, writes the open window once and releases the log.
///
/// Reload: the listener has SO_REUSEPORT, so a successor (`replacing`) binds while this process still serves. If
/// the log directory's lock is still held by the predecessor, the successor serves at once and opens the log in the
/// background as soon as the predecessor, draining, releases it (bounded by `lockWaitSeconds`); requests wait for it.
public final class TelemetryServer: Sendable {
    public let config: TelemetryConfig
    private let group: any EventLoopGroup
    private let logger: Logger
    private let replacing: Bool
    static let lockWaitSeconds = 120.0

    private struct Parts: Sendable {
        var committer: GroupCommitter
        var coalescer: Coalescer
        var log: any TelemetryLog
    }
    private let parts = NIOLockedValueBox<Parts?>(nil)
    private let listener = NIOLockedValueBox<TelemetryHTTPListener?>(nil)
    private let opener = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let stopped = NIOLockedValueBox(false)
    /// Read by `gauges()` (TelemetryServer+Gauges.swift).
    let gaugeSource = NIOLockedValueBox<TelemetryGaugeSource?>(nil)

    public init(config: TelemetryConfig, group: any EventLoopGroup, logger: Logger, replacing: Bool = false) {
        self.config = config
        self.group = group
        self.logger = logger
        self.replacing = replacing
    }

    public var displayName: String { "telemetry \(config.name)" }

    public func start() async throws {
        let limits = config.limits
        let metrics = TelemetryMetrics(section: config.name)
        let state: any LatestState
        switch config.state {
        case .memory: state = MemoryLatestState(maxMachines: limits.maxMachines)
        case .redis(let url, let prefix): state = try RedisLatestState(url: url, prefix: prefix, group: group)
        }
        let sink: any TelemetrySink
        switch config.sink {
        case .sqlite(let path, let table, let key):
            sink = SQLiteSink(path: path, table: table, key: key, maxRowsPerStatement: limits.upsertMaxRows)
        case .mysql(let url, let table, let key):
            sink = try MySQLSink(url: url, table: table, key: key, maxRowsPerStatement: limits.upsertMaxRows, group: group)
        }
        let gate = IngestGate()
        var waitForLock = false
        do {
            try openParts(state: state, sink: sink, metrics: metrics, gate: gate)
        } catch let e as LogError where e.lockIsHeld && replacing {
            waitForLock = true
        }

        let key = config.sink.key
        let routes = IngestRoutes(
            gate: gate, state: state, metrics: metrics,
            limits: IngestLimits(maxBatchRecords: limits.maxBatchRecords, maxFieldsPerRecord: limits.maxFieldsPerRecord,
                                 maxKeyLength: limits.maxKeyLength, reservedNames: [key, "ts", "samples"]),
            maxBodyBytes: limits.maxBodyBytes)
        let router = Router()
        routes.register(on: router)
        let host = config.bindHost, port = config.bindPort
        do {
            listener.withLockedValue { $0 = nil }
            let l = try await TelemetryHTTPListener.bind(host: host, port: port, group: group, router: router, logger: logger)
            listener.withLockedValue { $0 = l }
        } catch {
            stopParts()
            throw StartError(description: "cannot listen on \(host):\(port): \(Self.describe(error)); is another process bound there?")
        }
        if waitForLock {
            logger.notice("telemetry \(config.name) listening on \(host):\(port); waiting for the process it replaces to release the log")
            let task = Task { await self.waitForLog(state: state, sink: sink, metrics: metrics, gate: gate) }
            opener.withLockedValue { $0 = task }
        } else if let log = parts.withLockedValue({ $0?.log }) {
            logger.notice("telemetry \(config.name) listening on \(host):\(port); \(log.summary)")
        }
    }

    /// Opens the log, rebuilds the latest state from it, starts the committer and the coalescer, opens the gate.
    private func openParts(state: any LatestState, sink: any TelemetrySink, metrics: TelemetryMetrics, gate: IngestGate) throws {
        let log = try openLog()
        let limits = config.limits
        let coalescer = Coalescer(log: log, sink: sink, windowMs: config.windowMs, maxMachines: limits.maxMachines, metrics: metrics, logger: logger)
        let committer = GroupCommitter(log: log, state: state, metrics: metrics) { coalescer.notify() }
        rebuildState(state, from: log)
        committer.start(name: config.name)
        coalescer.start(name: config.name)
        parts.withLockedValue { $0 = Parts(committer: committer, coalescer: coalescer, log: log) }
        gaugeSource.withLockedValue { $0 = TelemetryGaugeSource(metrics: metrics, log: log) }
        gate.open(.init(committer: committer, log: log))
    }

    private func waitForLog(state: any LatestState, sink: any TelemetrySink, metrics: TelemetryMetrics, gate: IngestGate) async {
        let deadline = Date().addingTimeInterval(Self.lockWaitSeconds)
        while !stopped.withLockedValue({ $0 }) {
            do {
                try openParts(state: state, sink: sink, metrics: metrics, gate: gate)
                if let log = parts.withLockedValue({ $0?.log }) { logger.notice("telemetry \(config.name): took over the log; \(log.summary)") }
                return
            } catch let e as LogError where e.lockIsHeld && Date() < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            } catch {
                let message = "telemetry \(config.name): cannot open the log after the reload: \(error); restart the process"
                logger.error("\(message)")
                gate.fail(message)
                return
            }
        }
    }

    public func stop(grace: Duration) async {
        stopped.withLockedValue { $0 = true }
        // Graceful: stop accepting, let in-flight requests get their answer, then stop the log and the coalescer.
        if let l = listener.withLockedValue({ v in defer { v = nil }; return v }) {
            await l.stop(grace: grace == .zero ? .seconds(1) : grace)
        }
        if let task = opener.withLockedValue({ $0 }) { await task.value }
        stopParts()
    }

    private func stopParts() {
        guard let p = parts.withLockedValue({ v in defer { v = nil }; return v }) else { return }
        p.committer.stop()
        p.coalescer.stop()
        p.log.close()
    }

    private func openLog() throws -> any TelemetryLog {
        let limits = config.limits
        switch config.log {
        case .directory(let dir):
            return try SegmentLog(directory: dir, segmentTargetBytes: max(4 << 10, min(64 << 20, limits.maxLogBytes / 8)),
                                  maxLiveBytes: limits.maxLogBytes, maxLiveRecords: limits.maxLogRecords)
        case .redisStream(let url, let stream, let groupName):
            let log = try RedisStreamLog(url: url, stream: stream, group: groupName, maxBacklog: limits.maxLogRecords,
                                         eventLoops: group, logger: logger)
            do {
                try log.open()
            } catch {
                throw StartError(description: "\(error); is redis-server running there?")
            }
            return log
        case .kafka(let brokers, let topic, let groupName):
            do {
                return try KafkaLog(brokers: brokers, topic: topic, group: groupName, maxBacklog: limits.maxLogRecords, logger: logger)
            } catch {
                throw StartError(description: "\(error)")
            }
        }
    }

    /// Replays the uncommitted log into the latest-state store: `state memory` starts empty, and a crash between
    /// an fsync and its apply (no 202 was sent) must still reach Redis. Newer-ts-only makes the replay harmless.
    private func rebuildState(_ state: any LatestState, from log: any TelemetryLog) {
        do {
            try log.replayUncommitted { try state.apply($0) }
        } catch {
            logger.warning("telemetry \(config.name): the uncommitted log could not be replayed into the latest state (\(error)); ingest answers 503 until it can be updated")
        }
    }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    static func describe(_ e: any Error) -> String {
        if let io = e as? IOError { return "\(String(cString: strerror(io.errnoCode))) (errno \(io.errnoCode))" }
        return String(describing: e)
    }
}
