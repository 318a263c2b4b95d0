import BreakwaterConfigModel
import BreakwaterObservability
import BreakwaterTLS
import NIOCore
import NIOHTTP1
import Synchronization

/// The TLS state of a running configuration: one server context per TLS bind line and the
/// ticket-key rings (shared by binds naming the same file). Built once in `ProxyServer.start`.
public final class TLSBindings: Sendable {
    private let state: Mutex<(contexts: [SourceLocation: TLSServerContext], keys: TicketKeyRegistry)> =
        Mutex(([:], TicketKeyRegistry(rings: [])))

    public init() {}

    /// `show tls-keys` / `set ssl tls-key` operate on this registry.
    public var ticketKeys: TicketKeyRegistry { state.withLock { $0.keys } }

    func context(for bind: BindConfig) -> TLSServerContext? { state.withLock { $0.contexts[bind.location] } }

    /// A configuration error of one bind line, reported as `FILE:LINE: error: …`.
    public struct BindError: Error, CustomStringConvertible {
        public let location: SourceLocation
        public let message: String
        public var description: String { "\(location.file):\(location.line): error: \(message)" }
    }

    /// Loads every key file and certificate of `frontends` (file I/O: control plane only).
    public static func load(frontends: [FrontendConfig]) throws(BindError) -> (contexts: [SourceLocation: TLSServerContext], keys: TicketKeyRegistry) {
        var files: [String] = []
        for f in frontends {
            for b in f.binds { if let k = b.tls?.ticketKeysFile, !files.contains(k) { files.append(k) } }
        }
        var rings: [String: TicketKeyRing] = [:]
        for (i, path) in files.enumerated() {
            do {
                // HAProxy 2.6 numbers key files in reverse order of first appearance (CLI-9).
                rings[path] = try TicketKeyRing(loading: path, id: files.count - 1 - i)
            } catch {
                let loc = frontends.lazy.flatMap(\.binds).first { $0.tls?.ticketKeysFile == path }!.location
                throw BindError(location: loc, message: "'bind' : \(error.description)")
            }
        }
        var contexts: [SourceLocation: TLSServerContext] = [:]
        for f in frontends {
            for b in f.binds {
                guard let tls = b.tls, contexts[b.location] == nil else { continue }
                do {
                    contexts[b.location] = try TLSServerContext(config: tls, ticketRing: tls.ticketKeysFile.flatMap { rings[$0] },
                                                                handshakes: .forFrontend(f.name))
                } catch {
                    throw BindError(location: b.location, message: "'bind \(b.host):\(b.port)' in proxy '\(f.name)' : \(error.description)")
                }
            }
        }
        return (contexts, TicketKeyRegistry(rings: Array(rings.values)))
    }

    func install(_ loaded: (contexts: [SourceLocation: TLSServerContext], keys: TicketKeyRegistry)) {
        state.withLock { $0 = loaded }
    }
}

extension ProxyServer {
    /// Builds the TLS contexts of every TLS bind before any listener opens.
    func prepareTLS() throws {
        guard runtime.snapshot.frontends.contains(where: { $0.binds.contains { $0.tls != nil } }) else { return }
        tls.install(try TLSBindings.load(frontends: runtime.snapshot.frontends))
    }

    /// Puts TLS first on a client connection; the HTTP pipeline (HTTP/1.1, or HTTP/2 when ALPN picks
    /// `h2`) is added once the handshake completes. Handshake failures are logged as LOG-6.
    static func configureTLS(_ channel: Channel, context: TLSServerContext, runtime: ProxyRuntime, frontend: FrontendRuntime,
                             pools: UpstreamPools, limits: NIOHTTPDecoderLimitConfiguration, bindLabel: String) throws {
        let t = frontend.config.timeouts
        let timeout = (t.client ?? t.effectiveHTTPRequest).flatMap { $0 > 0 ? TimeAmount.milliseconds(Int64($0)) : nil }
        guard let handler = OpenSSLServerHandler(context: context, handshakeTimeout: timeout) else {
            throw TLSError.handshakeFailed(reason: "SSL_new failed")
        }
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(handler)
        try sync.addHandler(TLSHandshakeWatcher(tls: handler, runtime: runtime, frontend: frontend, pools: pools,
                                                limits: limits, bindLabel: bindLabel))
    }

    /// `<bind name>` or the 1-based listener number within the frontend (LOG-6).
    static func bindLabel(_ bind: BindConfig, in frontend: FrontendConfig) -> String {
        if let n = bind.name { return n }
        return String((frontend.binds.firstIndex(of: bind) ?? 0) + 1)
    }
}

/// Waits for the handshake: then installs the HTTP pipeline behind itself and leaves; on failure
/// writes the LOG-6 connection-error line (`%ci:%cp [%t] fe/bind: SSL handshake failure`).
final class TLSHandshakeWatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let tls: OpenSSLServerHandler
    let runtime: ProxyRuntime
    let frontend: FrontendRuntime
    let pools: UpstreamPools
    let limits: NIOHTTPDecoderLimitConfiguration
    let bindLabel: String
    let acceptedWallMs = currentWallMs()
    private var logged = false

    init(tls: OpenSSLServerHandler, runtime: ProxyRuntime, frontend: FrontendRuntime, pools: UpstreamPools,
         limits: NIOHTTPDecoderLimitConfiguration, bindLabel: String) {
        self.tls = tls
        self.runtime = runtime
        self.frontend = frontend
        self.pools = pools
        self.limits = limits
        self.bindLabel = bindLabel
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let done = event as? TLSHandshakeCompleted {
            do {
                if done.info.alpn == "h2" {
                    try ProxyServer.configureHTTP2(context.channel, runtime: runtime, frontend: frontend, pools: pools, isTLS: true)
                } else {
                    try ProxyServer.configureHTTP1(context.channel, runtime: runtime, frontend: frontend, pools: pools,
                                                   limits: limits, isTLS: true)
                }
            } catch {
                context.close(promise: nil)
                return
            }
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        if event is ChannelShouldQuiesceEvent {
            // Draining: a connection still in its handshake has no request to finish.
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let e = error as? TLSError, let message = e.logMessage {
            log(message, context: context)
            context.close(promise: nil)
            return
        }
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    private func log(_ message: String, context: ChannelHandlerContext) {
        guard !logged else { return }
        logged = true
        frontend.counters.requestErrors.wrappingIncrement(ordering: .relaxed)
        // `dontlognull`: a connection that closed without sending anything is not logged (LOG-6).
        if frontend.config.options.dontlognull && tls.handshakeBytesReceived == 0 { return }
        guard let logger = frontend.trafficLogger else { return }
        let remote = context.channel.remoteAddress
        let line = "\(remote?.ipAddress ?? "unix"):\(remote?.port ?? 0) [\(HTTPLogFormatter.accessDate(acceptedWallMs))] "
            + "\(frontend.config.name)/\(bindLabel): \(message)"
        logger.info("\(line)")
    }
}
