import BreakwaterConfigModel
import BreakwaterTelemetry
import NIOConcurrencyHelpers

/// Adapts `TelemetryServer` to `SectionService`.
enum TelemetrySections {
    static func services(for configs: [TelemetryConfig], context: SectionContext) throws -> [any SectionService] {
        configs.map { TelemetrySection(server: TelemetryServer(config: $0, group: context.group, logger: context.logger, replacing: context.replacing)) }
    }
}

final class TelemetrySection: SectionService {
    let server: TelemetryServer
    private let gauges = NIOLockedValueBox<SectionGaugePublisher?>(nil)
    init(server: TelemetryServer) { self.server = server }
    var displayName: String { server.displayName }
    func start() async throws {
        try await server.start()
        let server = self.server
        gauges.withLockedValue { $0 = SectionGaugePublisher(kind: "telemetry", name: server.config.name) { server.gauges() } }
    }
    func stop(grace: Duration) async {
        gauges.withLockedValue { $0 }?.stop()
        await server.stop(grace: grace)
    }
}
