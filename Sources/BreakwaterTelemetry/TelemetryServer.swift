import BreakwaterConfigModel
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// One `telemetry NAME` section at run time: the durable log, the latest-state store, the group committer, the
/// coalescer and the HTTP API. `start()` recovers the log and binds; `stop()` stops accepting, finishes queued
/// appends and writes the open window once.
public final class TelemetryServer: Sendable {
    public let config: TelemetryConfig
    private let group: any EventLoopGroup
    private let logger: Logger
    private struct Running {
        var log: SegmentLog
        var committer: GroupCommitter
        var coalescer: Coalescer
        var http: Task<Void, Never>
        var services: ServiceGroup
    }
    private let running = NIOLockedValueBox<Running?>(nil)
    /// Read by `gauges()` (TelemetryServer+Gauges.swift).
    let gaugeSource = NIOLockedValueBox<TelemetryGaugeSource?>(nil)

    public init(config: TelemetryConfig, group: any EventLoopGroup, logger: Logger) {
        self.config = config
        self.group = group
        self.logger = logger
    }

    public var displayName: String { "telemetry \(config.name)" }

    public func start() async throws {
        guard case .directory(let dir) = config.log else {
            throw StartError(description: "\(config.location): telemetry \(config.name): this build runs only 'log dir'")
        }
        let key = config.sink.key
        let limits = config.limits
        let log = try SegmentLog(directory: dir, segmentTargetBytes: max(4 << 10, min(64 << 20, limits.maxLogBytes / 8)))
        let metrics = TelemetryMetrics(section: config.name)
        let state: any LatestState
        switch config.state {
        case .memory: state = MemoryLatestState(maxMachines: limits.maxMachines)
        case .redis(let url, let prefix): state = try RedisLatestState(url: url, prefix: prefix, group: group)
        }
        let sink: any TelemetrySink
        switch config.sink {
        case .sqlite(let path, let table, _):
            sink = SQLiteSink(path: path, table: table, key: key, maxRowsPerStatement: limits.upsertMaxRows)
        case .mysql(let url, let table, _):
            sink = try MySQLSink(url: url, table: table, key: key, maxRowsPerStatement: limits.upsertMaxRows, group: group)
        }
        let coalescer = Coalescer(log: log, sink: sink, windowMs: config.windowMs, maxMachines: limits.maxMachines, metrics: metrics, logger: logger)
        let committer = GroupCommitter(log: log, state: state, maxLogBytes: limits.maxLogBytes, metrics: metrics) { coalescer.notify() }
        try rebuildState(state, from: log)
        gaugeSource.withLockedValue { $0 = TelemetryGaugeSource(metrics: metrics, log: log) }

        let routes = IngestRoutes(
            committer: committer, state: state, log: log, metrics: metrics,
            limits: IngestLimits(maxBatchRecords: limits.maxBatchRecords, maxFieldsPerRecord: limits.maxFieldsPerRecord,
                                 maxKeyLength: limits.maxKeyLength, reservedNames: [key, "ts", "samples"]),
            maxBodyBytes: limits.maxBodyBytes)
        let router = Router()
        routes.register(on: router)
        let (bound, boundCont) = AsyncStream.makeStream(of: Result<Void, any Error>.self)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(config.bindHost, port: config.bindPort), serverName: "breakwater"),
            onServerRunning: { _ in boundCont.yield(.success(())) },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
        let host = config.bindHost, port = config.bindPort
        let services = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        let http = Task {
            do { try await services.run() } catch { boundCont.yield(.failure(error)) }
            boundCont.finish()
        }
        var outcome: Result<Void, any Error> = .failure(LogError("the HTTP server stopped before listening on", path: "\(host):\(port)"))
        for await r in bound { outcome = r; break }
        if case .failure(let e) = outcome {
            http.cancel()
            throw StartError(description: "telemetry \(config.name): cannot listen on \(host):\(port): \(Self.describe(e)); is another process bound there?")
        }
        committer.start(name: config.name)
        coalescer.start(name: config.name)
        running.withLockedValue { $0 = Running(log: log, committer: committer, coalescer: coalescer, http: http, services: services) }
        logger.notice("telemetry \(config.name) listening on \(host):\(port); log \(dir) at offset \(log.committedOffset)..\(log.endOffset)")
    }

    public func stop(grace: Duration) async {
        guard let r = running.withLockedValue({ v in defer { v = nil }; return v }) else { return }
        // Graceful: stop accepting, let in-flight requests get their answer, then stop the log and the coalescer.
        await r.services.triggerGracefulShutdown()
        let deadline = Task {
            try? await Task.sleep(for: grace == .zero ? .seconds(1) : grace)
            r.http.cancel()
        }
        _ = await r.http.value
        deadline.cancel()
        r.committer.stop()
        r.coalescer.stop()
    }

    /// Replays the uncommitted log into the latest-state store: `state memory` starts empty, and a crash between
    /// an fsync and its apply (no 202 was sent) must still reach Redis. Newer-ts-only makes the replay harmless.
    private func rebuildState(_ state: any LatestState, from log: SegmentLog) throws {
        var cursor = SegmentLog.Cursor(offset: log.committedOffset)
        while true {
            let (records, next) = try log.read(from: cursor, maxBytes: 1 << 20)
            if records.isEmpty { return }
            do {
                try state.apply(records)
            } catch {
                logger.warning("telemetry \(config.name): the uncommitted log could not be replayed into the latest state (\(error)); ingest answers 503 until it can be updated")
                return
            }
            cursor = next
        }
    }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    static func describe(_ e: any Error) -> String {
        if let io = e as? IOError { return io.description }
        return String(describing: e)
    }
}
