import BreakwaterConfigModel

/// Adapts the section's module to `SectionService` (filled in by the section's issue).
enum TelemetrySections {
    static func services(for configs: [TelemetryConfig], context: SectionContext) throws -> [any SectionService] {
        []
    }
}
