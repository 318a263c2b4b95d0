import BreakwaterConfigModel
import BreakwaterJobs
import NIOConcurrencyHelpers

/// Adapts `BreakwaterJobs.JobsServer` to `SectionService`.
enum JobsSections {
    static func services(for configs: [JobsConfig], context: SectionContext) throws -> [any SectionService] {
        configs.map { JobsSectionService(server: JobsServer(config: $0, group: context.group, logger: context.logger)) }
    }
}

final class JobsSectionService: SectionService {
    let server: JobsServer
    private let gauges = NIOLockedValueBox<SectionGaugePublisher?>(nil)
    init(server: JobsServer) { self.server = server }
    var displayName: String { "jobs \(server.config.name)" }
    func start() async throws {
        try await server.start()
        let server = self.server
        gauges.withLockedValue { $0 = SectionGaugePublisher(kind: "jobs", name: server.config.name) { await server.gauges() } }
    }
    func stop(grace: Duration) async {
        gauges.withLockedValue { $0 }?.stop()
        await server.stop(grace: grace)
    }
}
