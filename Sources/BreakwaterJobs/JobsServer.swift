import BreakwaterAMQP
import BreakwaterConfigModel
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// One `jobs NAME` section with the embedded queue: the HTTP intake, the store and the supervisor.
/// `start()` and `stop(grace:)` are called from the executable's section wiring.
public final class JobsServer: Sendable {
    public let config: JobsConfig
    private let group: any EventLoopGroup
    private let logger: Logger
    private let listeners = NIOLockedValueBox<JobsListener?>(nil)
    private let supervisor = NIOLockedValueBox<JobSupervisor?>(nil)
    private let cgroups = NIOLockedValueBox<JobCgroups?>(nil)
    private let sources = NIOLockedValueBox<(any JobSource)?>(nil)
    /// Read by `gauges()` (JobsServer+Gauges.swift).
    let gaugeSource = NIOLockedValueBox<JobsGaugeSource?>(nil)

    public init(config: JobsConfig, group: any EventLoopGroup, logger: Logger) {
        self.config = config
        self.group = group
        self.logger = logger
    }

    public func start() async throws {
        let metrics = JobsMetrics(section: config.name)
        let backoff = RetryBackoff(baseMs: config.retryBackoffMs, maxMs: config.retryBackoffMaxMs)
        let source: any JobSource & JobIntake
        var amqpSource: AMQPJobSource?
        switch config.queue {
        case .directory(let dir)?:
            let store = try JobStore(directory: dir)
            let requeued = try store.requeueInterrupted()
            if requeued > 0 { logger.notice("jobs \(config.name): re-queued \(requeued) job(s) a previous run left running") }
            source = StoreJobSource(store: store, retries: config.retries, keepFinished: config.keepFinished, backoff: backoff, logger: logger)
        case .amqp(let q)?:
            // The broker holds the queue; a status table on this node answers GET /v1/jobs/ID.
            let store = try JobStore(directory: config.stateDirectory ?? "/var/lib/breakwater/jobs-\(config.name)")
            let endpoint = AMQPEndpoint(host: q.host, port: q.port, vhost: q.vhost, user: q.user, password: q.password)
            let publisher = RabbitPublisher(endpoint: endpoint, queue: q.queue, maxPending: max(config.maxQueued, 1), logger: logger)
            let consumer = RabbitConsumer(endpoint: endpoint, queue: q.queue, prefetch: config.workers, logger: logger)
            let s = AMQPJobSource(store: store, publisher: publisher, consumer: consumer, location: "queue '\(q.queue)' on \(endpoint)",
                                  retries: config.retries, keepFinished: config.keepFinished, backoff: backoff,
                                  metrics: metrics, logger: logger)
            amqpSource = s
            source = s
        case nil:
            throw JobsError("no queue configured")
        }
        let cg = JobCgroups.detect(memoryMax: config.memoryMax, unit: "\(config.name)-\(config.bindPort)")
        if case .rlimit = cg.mode {
            logger.warning("jobs \(config.name): no writable memory cgroup; \(cg.mode): a leak is bounded by address space, and OOM kills are reported as exit")
        } else {
            logger.info("jobs \(config.name): each job runs in its own \(cg.mode)")
        }
        cgroups.withLockedValue { $0 = cg }
        let fresh = JobProcess(command: config.command, timeoutMs: config.timeoutMs, maxStdout: config.maxStdout, cgroups: cg)
        // max-jobs-per-worker 1 (the default): a fresh process per attempt; above 1: reused workers.
        let process: any AttemptRunner = config.maxJobsPerWorker > 1 ? WorkerPool(fresh: fresh, maxJobs: config.maxJobsPerWorker) : fresh
        let sup = JobSupervisor(source: source, process: process, workers: config.workers, metrics: metrics, logger: logger)
        let api = JobsAPI(intake: source, store: source.statusStore, metrics: metrics, maxPayload: config.maxPayload, maxQueued: config.maxQueued,
                          onEnqueued: { sup.notifyEnqueued() })
        let listener: JobsListener
        do {
            listener = try await JobsListener(host: config.bindHost, port: config.bindPort, router: api.buildRouter(),
                                              group: group, logger: logger)
        } catch {
            source.stop()
            throw error
        }
        listeners.withLockedValue { $0 = listener }
        amqpSource?.start()
        sup.start()
        supervisor.withLockedValue { $0 = sup }
        sources.withLockedValue { $0 = source }
        gaugeSource.withLockedValue { $0 = JobsGaugeSource(metrics: metrics, source: source) }
    }

    public func stop(grace: Duration) async {
        let listener = listeners.withLockedValue { $0 }
        await listener?.stopAccepting()
        if let sup = supervisor.withLockedValue({ $0 }) {
            await Task.detached { sup.stop(grace: grace) }.value
        }
        // After the supervisor: the acks of the jobs that finished during the grace are sent before the
        // consumer's connection closes (the broker re-delivers whatever stayed unacknowledged).
        if let source = sources.withLockedValue({ $0 }) { await Task.detached { source.stop() }.value }
        await listener?.close()
        cgroups.withLockedValue { $0 }?.removeParent()
    }
}
