import BreakwaterConfigModel
import BreakwaterTelemetry

/// Adapts `TelemetryServer` to `SectionService`.
enum TelemetrySections {
    static func services(for configs: [TelemetryConfig], context: SectionContext) throws -> [any SectionService] {
        configs.map { TelemetrySection(server: TelemetryServer(config: $0, group: context.group, logger: context.logger, replacing: context.replacing)) }
    }
}

struct TelemetrySection: SectionService {
    let server: TelemetryServer
    var displayName: String { server.displayName }
    func start() async throws { try await server.start() }
    func stop(grace: Duration) async { await server.stop(grace: grace) }
}
