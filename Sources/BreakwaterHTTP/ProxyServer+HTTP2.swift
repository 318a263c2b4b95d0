import BreakwaterConfigModel
import NIOCore
import NIOHTTP1
import NIOHTTP2

extension ProxyServer {
    /// HTTP/2 limits (issue 5): bounded concurrent streams and header lists; nio-http2's DoS
    /// heuristics cut off rapid-reset (CVE-2023-44487) and other stream-flood patterns.
    static func http2Configuration(_ global: GlobalSettings) -> NIOHTTP2Handler.ConnectionConfiguration {
        var config = NIOHTTP2Handler.ConnectionConfiguration()
        config.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
            HTTP2Setting(parameter: .maxHeaderListSize, value: global.maxHeaderBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: 65535),
        ]
        config.maximumRecentlyResetStreams = 200
        return config
    }

    /// Puts the HTTP/1.1 proxy on a client connection (after TLS, if any).
    static func configureHTTP1(_ channel: Channel, runtime: ProxyRuntime, frontend: FrontendRuntime, pools: UpstreamPools,
                               limits: NIOHTTPDecoderLimitConfiguration, isTLS: Bool) throws {
        let io = ClientIOHandler()
        // A client that shuts down its sending side after the request still gets the answer (clear
        // text; the TLS handler ends the session on EOF).
        if !isTLS { try channel.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true) }
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(io)
        try sync.configureHTTPServerPipeline(
            position: .last, withPipeliningAssistance: false, withServerUpgrade: nil,
            withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
        try sync.addHandler(HTTPProxyHandler(runtime: runtime, frontend: frontend, pools: pools, io: io, isTLS: isTLS))
    }

    /// Puts HTTP/2 on a client connection: each stream gets its own proxy handler, so every stream
    /// is an independent request for routing, queueing, tracking and logging (spec FE-2).
    static func configureHTTP2(_ channel: Channel, runtime: ProxyRuntime, frontend: FrontendRuntime, pools: UpstreamPools,
                               isTLS: Bool) throws {
        _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server,
            connectionConfiguration: http2Configuration(runtime.snapshot.global),
            streamConfiguration: .init()
        ) { stream in
            stream.eventLoop.makeCompletedFuture {
                let io = H2StreamIOHandler()
                let sync = stream.pipeline.syncOperations
                try sync.addHandler(io)
                try sync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try sync.addHandler(HTTPProxyHandler(runtime: runtime, frontend: frontend, pools: pools, io: io, isTLS: isTLS))
            }
        }
        try channel.pipeline.syncOperations.addHandler(HTTP2ConnectionErrorHandler())
    }
}

/// Closes an HTTP/2 connection on a connection error (rapid reset, flood, protocol violation):
/// nio-http2 sends the GOAWAY and reports the error; ending the connection is ours to do.
final class HTTP2ConnectionErrorHandler: ChannelInboundHandler {
    typealias InboundIn = Any

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
