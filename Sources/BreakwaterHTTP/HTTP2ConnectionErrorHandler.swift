import BreakwaterObservability
import NIOCore
import NIOHTTP2

/// The last handler of an HTTP/2 connection. nio-http2 reports both kinds of protocol error here,
/// after it has answered them:
/// - a stream error (malformed header block, `te: gzip`, a `connection` header, a content-length
///   that the body contradicts, one stream more than SETTINGS_MAX_CONCURRENT_STREAMS) has been
///   answered with RST_STREAM on that stream only; the connection and its other streams go on
///   (RFC 9113 §5.4.2), as in HAProxy. It is counted and logged.
/// - a connection error (flood, rapid reset, bad frame) has been answered with GOAWAY; ending the
///   connection is ours to do. Any other error (I/O) closes it as well.
///
/// Runs on the connection's event loop only.
final class HTTP2ConnectionErrorHandler: ChannelInboundHandler {
    typealias InboundIn = Any

    private let watcher: H2ConnectionWatcher
    private let frontend: FrontendRuntime

    init(watcher: H2ConnectionWatcher, frontend: FrontendRuntime) {
        self.watcher = watcher
        self.frontend = frontend
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard error is any NIOHTTP2Error, !watcher.sentGoAway else {
            context.close(promise: nil)
            return
        }
        frontend.counters.requestErrors.wrappingIncrement(ordering: .relaxed)
        guard let logger = frontend.trafficLogger else { return }
        let remote = context.channel.remoteAddress
        let line = "\(remote?.ipAddress ?? "unix"):\(remote?.port ?? 0) [\(HTTPLogFormatter.accessDate(currentWallMs()))] "
            + "\(frontend.config.name): HTTP/2 stream reset: \(Self.reason(error))"
        logger.info("\(line)")
    }

    /// The stream error in words, for the log.
    static func reason(_ error: Error) -> String {
        switch error {
        case is NIOHTTP2Errors.MaxStreamsViolation:
            return "more concurrent streams than advertised (REFUSED_STREAM)"
        case is NIOHTTP2Errors.InvalidHTTP2HeaderFieldName:
            return "header name not valid in HTTP/2 (upper case or a forbidden character) (PROTOCOL_ERROR)"
        case is NIOHTTP2Errors.InvalidHTTP2HeaderFieldValue:
            return "header value not valid in HTTP/2 (PROTOCOL_ERROR)"
        case is NIOHTTP2Errors.ForbiddenHeaderField:
            return "connection-specific header field (connection, te other than trailers, …) (PROTOCOL_ERROR)"
        case is NIOHTTP2Errors.ContentLengthViolated, is NIOHTTP2Errors.ContentLengthHeadersMismatch,
             is NIOHTTP2Errors.ContentLengthHeaderNegative, is NIOHTTP2Errors.ContentLengthHeaderMalformedValue:
            return "content-length contradicted by the stream's data (PROTOCOL_ERROR)"
        case is NIOHTTP2Errors.MissingPseudoHeader, is NIOHTTP2Errors.DuplicatePseudoHeader,
             is NIOHTTP2Errors.PseudoHeaderAfterRegularHeader, is NIOHTTP2Errors.UnknownPseudoHeader,
             is NIOHTTP2Errors.UnsupportedPseudoHeader, is NIOHTTP2Errors.InvalidPseudoHeaders,
             is NIOHTTP2Errors.InvalidPseudoHeaderValue, is NIOHTTP2Errors.EmptyPathHeader:
            return "invalid pseudo-header fields (PROTOCOL_ERROR)"
        case is NIOHTTP2Errors.StreamClosed, is NIOHTTP2Errors.NoSuchStream:
            return "frame on a closed stream (STREAM_CLOSED)"
        default:
            return "protocol violation on one stream"
        }
    }
}
