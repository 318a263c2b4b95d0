import BreakwaterObservability
import NIOCore
import NIOHPACK
import NIOHTTP2

/// First look at an HTTP/2 stream's request head, before it is turned into an HTTP/1.1 request:
/// - a request target HAProxy refuses (`H2RequestTarget`) resets the stream with
///   RST_STREAM(PROTOCOL_ERROR) and is never forwarded;
/// - without `:authority`, `host` stands in for it (RFC 9113 §8.3.1); with `:authority`, any `host`
///   is dropped so the server sees the authority the rules saw (HAProxy does the same);
/// - `cookie` crumbs are joined with `; ` into one field (RFC 9113 §8.2.3), since HTTP/1.1 servers
///   and FastCGI's HTTP_COOKIE expect a single one.
///
/// Only the first HEADERS frame of a stream is a request head; later ones are trailers.
/// Runs on the stream channel's event loop only.
final class H2StreamRequestNormalizer: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let frontend: FrontendRuntime
    /// The stream is one more than `maxConcurrentStreams`: it is refused with REFUSED_STREAM, so
    /// the client may retry it once others finish (RFC 9113 §5.1.2, §8.7).
    private let refuseAsExcess: Bool
    private var sawHead = false
    private var refused = false

    init(frontend: FrontendRuntime, refuseAsExcess: Bool = false) {
        self.frontend = frontend
        self.refuseAsExcess = refuseAsExcess
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        guard !sawHead, case .headers(var headers) = unwrapInboundIn(data) else {
            context.fireChannelRead(data)
            return
        }
        sawHead = true
        if refuseAsExcess {
            // Not logged: a refused stream is flow control the client may retry, and during a
            // stream flood one line per stream would amplify it.
            refuse(context: context, code: .refusedStream, reason: nil)
            return
        }
        switch Self.normalize(headers.headers) {
        case .forward(let normalized):
            headers.headers = normalized
            context.fireChannelRead(wrapInboundOut(.headers(headers)))
        case .unchanged:
            context.fireChannelRead(data)
        case .refuse(let reason):
            frontend.counters.requestErrors.wrappingIncrement(ordering: .relaxed)
            refuse(context: context, code: .protocolError, reason: reason + " (PROTOCOL_ERROR)")
        }
    }

    enum Outcome {
        case unchanged
        case forward(HPACKHeaders)
        case refuse(String)
    }

    /// The request head as it is forwarded, or why it is refused.
    static func normalize(_ headers: HPACKHeaders) -> Outcome {
        var method = "", path: String?, authority: String?, host: String?
        var cookies = 0, hosts = 0
        for (name, value, _) in headers {
            switch name {
            case ":method": method = value
            case ":path": path = value
            case ":authority": authority = value
            case "host":
                hosts += 1
                if host == nil { host = value }
            case "cookie": cookies += 1
            default: break
            }
        }
        if case .refuse(let reason) = H2RequestTarget.check(method: method, path: path, authority: authority ?? host) {
            return .refuse(reason)
        }
        let fillAuthority = authority == nil && host != nil
        let dropHost = authority != nil && hosts > 0
        guard fillAuthority || dropHost || cookies > 1 else { return .unchanged }

        var out = HPACKHeaders()
        out.reserveCapacity(headers.count + 1)
        if fillAuthority, let host { out.add(name: ":authority", value: host) }
        var joinedCookie: String?
        for (name, value, indexing) in headers {
            switch name {
            case "host" where dropHost:
                continue
            case "cookie" where cookies > 1:
                joinedCookie = joinedCookie.map { $0 + "; " + value } ?? value
            default:
                out.add(name: name, value: value, indexing: indexing)
            }
        }
        if let joinedCookie { out.add(name: "cookie", value: joinedCookie, indexing: .neverIndexed) }
        return .forward(out)
    }

    private func refuse(context: ChannelHandlerContext, code: HTTP2ErrorCode, reason: String?) {
        refused = true
        if let reason, let logger = frontend.trafficLogger {
            let remote = context.channel.parent?.remoteAddress
            let line = "\(remote?.ipAddress ?? "unix"):\(remote?.port ?? 0) [\(HTTPLogFormatter.accessDate(currentWallMs()))] "
                + "\(frontend.config.name): HTTP/2 stream reset: \(reason)"
            logger.info("\(line)")
        }
        context.writeAndFlush(wrapOutboundOut(.rstStream(code)), promise: nil)
        context.close(promise: nil)
    }
}
