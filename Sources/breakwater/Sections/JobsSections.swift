import BreakwaterConfigModel
import BreakwaterJobs

/// Adapts `BreakwaterJobs.JobsServer` to `SectionService`.
enum JobsSections {
    static func services(for configs: [JobsConfig], context: SectionContext) throws -> [any SectionService] {
        configs.map { JobsSectionService(server: JobsServer(config: $0, group: context.group, logger: context.logger)) }
    }
}

struct JobsSectionService: SectionService {
    let server: JobsServer
    var displayName: String { "jobs \(server.config.name)" }
    func start() async throws { try await server.start() }
    func stop(grace: Duration) async { await server.stop(grace: grace) }
}
