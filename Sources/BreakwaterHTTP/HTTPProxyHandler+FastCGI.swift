import BreakwaterACL
import BreakwaterConfigModel
import BreakwaterFastCGI
import BreakwaterObservability
import Logging
import NIOCore
import NIOHTTP1

/// A backend's `use-fcgi-app` compiled once per configuration generation (spec §12): the app (regex,
/// `set-param` templates), its rule conditions, and the STDERR logger (FCGI-9).
final class FastCGIBackend: Sendable {
    let app: FastCGIApplication
    /// `app.conditions`, compiled in the same order.
    let conditions: [CompiledCondition]
    /// `log-stderr` targets with the app name as syslog tag; nil = STDERR discarded.
    let stderrLogger: Logger?

    init(config: FastCGIAppConfig, framer: SyslogFramer, writer: LogWriter) throws {
        app = try FastCGIApplication(config)
        conditions = app.conditions.map(CompiledCondition.init)
        if config.logStderr.isEmpty {
            stderrLogger = nil
        } else {
            let tagged = SyslogFramer(tag: config.name, pid: framer.pid, hostname: framer.hostname)
            let targets = config.logStderr
            stderrLogger = Logger(label: "breakwater.fcgi.\(config.name)") { _ in
                SyslogLogHandler(targets: targets, framer: tagged, writer: writer)
            }
        }
    }

    /// One STDERR record → one `err` message (FCGI-9).
    var stderrHandler: ((String) -> Void)? {
        guard let logger = stderrLogger else { return nil }
        return { line in logger.error("\(line)") }
    }
}

extension HTTPProxyHandler {
    /// The FastCGI app when `server` speaks FastCGI: the backend has `use-fcgi-app` and the server
    /// `proto fcgi` (FCGI-1; SEED-4 is resolved by the parser).
    func fastCGI(_ backend: BackendRuntime, _ server: ServerRuntime) -> FastCGIBackend? {
        server.config.proto == .fcgi ? backend.fastCGI : nil
    }

    /// The server-side codec: the FastCGI client, or the HTTP/1.1 client codec. Either way the
    /// `UpstreamHandler` above it sees HTTP client parts.
    /// Returns the HTTP/1.1 codec, through which the `UpstreamHandler` passes heads as bytes.
    @discardableResult
    static func addServerCodec(_ channel: Channel, fastCGI: FastCGIBackend?) throws -> UpstreamHandler.WireCodec? {
        if let f = fastCGI {
            try channel.pipeline.syncOperations.addFastCGIClientHandlers(app: f.app, onStderr: f.stderrHandler)
            return nil
        }
        // Byte-level codec: requests leave and responses arrive with their header bytes intact.
        let encoder = HTTP1RequestEncoder()
        let decoder = HTTP1ResponseDecoder()
        decoder.handsOverHeads = true
        try channel.pipeline.syncOperations.addHandlers([encoder, ByteToMessageHandler(decoder)])
        return UpstreamHandler.WireCodec(encoder: encoder, decoder: decoder)
    }

    /// Gives the FastCGI client this request's context right before the head is written. Returns
    /// false when the path cannot be mapped to a script: the request is then answered 500 `IH--`
    /// (FCGI-7, LOG-4, ERR-1).
    func prepareFastCGI(_ request: ProxyRequest, _ upstream: UpstreamHandler) -> Bool {
        guard let backend = request.backend, let index = request.serverIndex,
              let f = fastCGI(backend, backend.servers[index]), let channel = upstream.channel,
              let handler = try? channel.pipeline.syncOperations.handler(type: FastCGIClientHandler.self) else { return true }
        let local = transport.clientLocalAddress
        let conditions = f.conditions
        let requestContext = FastCGIRequestContext(
            clientAddress: clientAddress, clientPort: clientPort,
            frontendAddress: local?.ipAddress ?? "", frontendPort: local?.port ?? 0,
            isTLS: isTLS, clientVersion: request.clientVersion,
            conditionHolds: conditions.isEmpty ? nil : { [weak request] i in request.map { conditions[i].evaluate($0) } ?? false })
        do {
            // Parameters come from the target as normalised at parse time (origin form).
            var head = request.head
            if request.target.form == .absolute { head.uri = request.target.pathAndQuery }
            try handler.prepare(requestContext, head: head)
            return true
        } catch {
            respondLocally(request, status: 500, termination: "IH--", close: false, countAs: .none)
            return false
        }
    }
}
