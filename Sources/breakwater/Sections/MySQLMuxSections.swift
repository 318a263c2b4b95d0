import BreakwaterConfigModel

/// Adapts the section's module to `SectionService` (filled in by the section's issue).
enum MySQLMuxSections {
    static func services(for configs: [MySQLMuxConfig], context: SectionContext) throws -> [any SectionService] {
        []
    }
}
