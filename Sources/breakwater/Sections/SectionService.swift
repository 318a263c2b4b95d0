import BreakwaterConfigModel
import Logging
import NIOCore

/// A data-tier section (`mysql-mux`, `telemetry`, `jobs`) that `breakwater proxy` runs beside the edge proxy.
/// Each section's module provides its own server; the executable adapts it to this shape, so the edge
/// data path never learns about the data tier.
protocol SectionService: Sendable {
    /// "mysql-mux main", for log lines and start-up errors.
    var displayName: String { get }
    /// Opens listeners and starts background work; throws a user-readable error (address, path, what to do).
    func start() async throws
    /// Stops accepting, lets in-flight work finish for up to `grace`, then closes what is left.
    func stop(grace: Duration) async
}

/// What a section needs from the process to build its service.
struct SectionContext: Sendable {
    var group: any EventLoopGroup
    var logger: Logger
    /// `breakwater proxy --initial`: rebuild state files from the configuration (ProxySQL's `--initial`).
    var initial: Bool
    /// Started by a reload (`-sf PID`): the predecessor still holds what it will release as it drains.
    var replacing: Bool = false
}

/// Builds every data-tier section of a snapshot, in declaration order per kind.
enum SectionRegistry {
    static func services(for snapshot: ConfigSnapshot, context: SectionContext) throws -> [any SectionService] {
        var services: [any SectionService] = []
        services += try MySQLMuxSections.services(for: snapshot.mysqlMuxes, context: context)
        services += try TelemetrySections.services(for: snapshot.telemetrySections, context: context)
        services += try JobsSections.services(for: snapshot.jobSections, context: context)
        return services
    }
}
