import BreakwaterConfigModel

/// Adapts the section's module to `SectionService` (filled in by the section's issue).
enum JobsSections {
    static func services(for configs: [JobsConfig], context: SectionContext) throws -> [any SectionService] {
        []
    }
}
