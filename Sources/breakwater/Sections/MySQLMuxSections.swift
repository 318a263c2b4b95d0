import BreakwaterConfigModel
import BreakwaterMySQLMux
import BreakwaterMySQLMuxAdmin
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Adapts `mysql-mux` sections to `SectionService`: the admin tables (state file or config), the mux listener
/// and the admin listener.
enum MySQLMuxSections {
    static func services(for configs: [MySQLMuxConfig], context: SectionContext) throws -> [any SectionService] {
        configs.map { MySQLMuxService(config: $0, context: context) }
    }
}

final class MySQLMuxService: SectionService {
    private struct Running {
        var mux: MySQLMuxServer
        var admin: MuxAdminServer
        var gauges: SectionGaugePublisher
    }

    let config: MySQLMuxConfig
    let context: SectionContext
    private let running = NIOLockedValueBox<Running?>(nil)

    init(config: MySQLMuxConfig, context: SectionContext) {
        self.config = config
        self.context = context
    }

    var displayName: String { "mysql-mux \(config.name)" }

    func start() async throws {
        guard let bind = config.bind, let adminBind = config.admin?.bind else {
            throw MuxAdminError("\(displayName): 'bind' and 'admin bind' are required")
        }
        let store = try MuxAdminStore(config: config, initial: context.initial)
        let logger = context.logger
        let name = displayName
        let mux = MySQLMuxServer(eventLoop: context.group.next(), config: MuxRuntimeConfig()) { message in
            logger.warning("\(name): \(message)")
        }
        let admin = MuxAdminServer(config: config, store: store, mux: mux, group: context.group)
        try await admin.applyToRuntime(on: mux.eventLoop).get()
        do {
            _ = try await mux.start(host: bind.host, port: bind.port).get()
        } catch {
            throw MuxAdminError("\(displayName): cannot listen on \(bind.host):\(bind.port): \(error)")
        }
        do {
            _ = try await admin.start(host: adminBind.host, port: adminBind.port).get()
        } catch {
            _ = try? await mux.stop(grace: .zero).get()
            throw MuxAdminError("\(displayName): cannot listen for the admin interface on \(adminBind.host):\(adminBind.port): \(error)")
        }
        let gauges = SectionGaugePublisher(kind: "mysql-mux", name: config.name) { (try? await mux.gauges().get()) ?? [:] }
        running.withLockedValue { $0 = Running(mux: mux, admin: admin, gauges: gauges) }
        logger.info("\(displayName): MySQL clients on \(bind.host):\(bind.port), admin on \(adminBind.host):\(adminBind.port)")
    }

    func stop(grace: Duration) async {
        guard let r = running.withLockedValue({ $0 }) else { return }
        r.gauges.stop()
        let ms = grace.components.seconds * 1000 + grace.components.attoseconds / 1_000_000_000_000_000
        _ = try? await r.admin.stop().get()
        _ = try? await r.mux.stop(grace: .milliseconds(ms)).get()
    }
}
