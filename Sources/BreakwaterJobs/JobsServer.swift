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
    private let task = NIOLockedValueBox<Task<Void, any Error>?>(nil)
    private let supervisor = NIOLockedValueBox<JobSupervisor?>(nil)
    private let cgroups = NIOLockedValueBox<JobCgroups?>(nil)
    /// Read by `gauges()` (JobsServer+Gauges.swift).
    let gaugeSource = NIOLockedValueBox<JobsGaugeSource?>(nil)

    public init(config: JobsConfig, group: any EventLoopGroup, logger: Logger) {
        self.config = config
        self.group = group
        self.logger = logger
    }

    public func start() async throws {
        guard case .directory(let dir) = config.queue else {
            throw JobsError("jobs \(config.name): 'queue amqp' is not built yet; use 'queue dir PATH' (see docs/jobs.md)")
        }
        let store = try JobStore(directory: dir)
        let requeued = try store.requeueInterrupted()
        if requeued > 0 { logger.notice("jobs \(config.name): re-queued \(requeued) job(s) a previous run left running") }
        let cg = JobCgroups.detect(memoryMax: config.memoryMax, unit: "\(config.name)-\(config.bindPort)")
        if case .rlimit = cg.mode {
            logger.warning("jobs \(config.name): no writable memory cgroup; \(cg.mode): a leak is bounded by address space, and OOM kills are reported as exit")
        } else {
            logger.info("jobs \(config.name): each job runs in its own \(cg.mode)")
        }
        cgroups.withLockedValue { $0 = cg }
        let metrics = JobsMetrics(section: config.name)
        let process = JobProcess(command: config.command, timeoutMs: config.timeoutMs, maxStdout: config.maxStdout, cgroups: cg)
        let sup = JobSupervisor(store: store, process: process, workers: config.workers, retries: config.retries,
                                keepFinished: config.keepFinished, metrics: metrics, logger: logger)
        let api = JobsAPI(store: store, metrics: metrics, maxPayload: config.maxPayload, maxQueued: config.maxQueued,
                          onEnqueued: { sup.notifyEnqueued() })
        let bound = BindSignal()
        let app = Application(
            router: api.buildRouter(),
            configuration: .init(address: .hostname(config.bindHost, port: config.bindPort), reuseAddress: true),
            onServerRunning: { _ in bound.fire(nil) },
            eventLoopGroupProvider: .shared(group),
            logger: logger)
        let name = config.name, host = config.bindHost, port = config.bindPort
        let t = Task {
            do { try await app.run() } catch {
                bound.fire(JobsError("jobs \(name): cannot listen on \(host):\(port): \(error)"))
                throw error
            }
        }
        task.withLockedValue { $0 = t }
        if let error = await bound.wait() { throw error }
        sup.start()
        supervisor.withLockedValue { $0 = sup }
        gaugeSource.withLockedValue { $0 = JobsGaugeSource(metrics: metrics, store: store) }
    }

    public func stop(grace: Duration) async {
        task.withLockedValue { $0 }?.cancel()
        if let sup = supervisor.withLockedValue({ $0 }) {
            await Task.detached { sup.stop(grace: grace) }.value
        }
        cgroups.withLockedValue { $0 }?.removeParent()
    }
}

/// Fires once: when the listener is up (nil) or failed (the error).
final class BindSignal: Sendable {
    private let state = NIOLockedValueBox<(fired: Bool, error: JobsError?, waiter: CheckedContinuation<JobsError?, Never>?)>((false, nil, nil))

    func fire(_ error: JobsError?) {
        let waiter: CheckedContinuation<JobsError?, Never>? = state.withLockedValue { s in
            guard !s.fired else { return nil }
            s.fired = true
            s.error = error
            let w = s.waiter
            s.waiter = nil
            return w
        }
        waiter?.resume(returning: error)
    }

    func wait() async -> JobsError? {
        await withCheckedContinuation { c in
            let ready: JobsError?? = state.withLockedValue {
                if $0.fired { return .some($0.error) }
                $0.waiter = c
                return .none
            }
            if case .some(let e) = ready { c.resume(returning: e) }
        }
    }
}
