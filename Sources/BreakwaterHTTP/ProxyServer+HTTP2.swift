import BreakwaterConfigModel
import NIOCore
import NIOHTTP1
import NIOHTTP2

extension ProxyServer {
    /// SETTINGS_MAX_CONCURRENT_STREAMS as advertised (HAProxy's default): a stream beyond it is
    /// refused on its own with REFUSED_STREAM (issue 9 item 8).
    static let maxConcurrentStreams = 100
    /// What nio-http2 itself enforces. It treats an excess stream as a connection error, so it gets
    /// twice the advertised value (the watcher advertises the real one) and only a client that
    /// ignores the setting that far is cut off.
    static let hardMaxConcurrentStreams = 2 * maxConcurrentStreams

    /// HTTP/2 limits (issue 5): bounded concurrent streams and header lists; nio-http2's DoS
    /// heuristics cut off rapid-reset (CVE-2023-44487) and other stream-flood patterns.
    static func http2Configuration(_ global: GlobalSettings) -> NIOHTTP2Handler.ConnectionConfiguration {
        var config = NIOHTTP2Handler.ConnectionConfiguration()
        config.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: hardMaxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: global.maxHeaderBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: 65535),
        ]
        config.maximumRecentlyResetStreams = 200
        return config
    }

    /// Puts the HTTP/1.1 proxy on a client connection (after TLS, if any).
    static func configureHTTP1(_ channel: Channel, runtime: ProxyRuntime, frontend: FrontendRuntime, pools: UpstreamPools,
                               limits: NIOHTTPDecoderLimitConfiguration, isTLS: Bool,
                               acceptedEarlier: (at: NIODeadline, wallMs: Int64)? = nil) throws {
        let io = ClientIOHandler()
        // A client that shuts down its sending side after the request still gets the answer (clear
        // text; the TLS handler ends the session on EOF).
        if !isTLS { try channel.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true) }
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(io)
        // The byte-level scanner in place of llhttp: any token method, header bytes kept both ways.
        let encoder = HTTP1ResponseEncoder()
        io.responseEncoder = encoder
        let storagePool = pools.headStorage(for: channel.eventLoop)
        encoder.storagePool = storagePool
        try sync.addHandler(encoder)
        let decoder = HTTP1RequestDecoder(limits, responseEncoder: encoder, wireHeads: io, storagePool: storagePool)
        io.requestDecoder = decoder
        try sync.addHandler(ByteToMessageHandler(decoder))
        let proxy = HTTPProxyHandler(runtime: runtime, frontend: frontend, pools: pools, io: io, isTLS: isTLS)
        proxy.acceptedEarlier = acceptedEarlier
        try sync.addHandler(proxy)
    }

    /// A plain (clear-text, not `proto h2`) bind speaks HTTP/1.1 and, when a connection opens with
    /// the HTTP/2 preface, h2c with prior knowledge, as HAProxy does (issue 9 item 10).
    static func configurePlainHTTP(_ channel: Channel, runtime: ProxyRuntime, frontend: FrontendRuntime, pools: UpstreamPools,
                                   limits: NIOHTTPDecoderLimitConfiguration) throws {
        let accepted = (at: NIODeadline.now(), wallMs: currentWallMs())
        let wait = frontend.config.timeouts.effectiveHTTPRequest.flatMap { $0 > 0 ? TimeAmount.milliseconds(Int64($0)) : nil }
        // HTTP/1.1 answers half-closed clients, so half-closure is on until the protocol is known;
        // HTTP/2 treats the end of input as the end of the connection.
        try channel.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        let detector = H2PrefaceDetector(waitLimit: wait) { http2, context in
            if http2 {
                try context.channel.syncOptions?.setOption(ChannelOptions.allowRemoteHalfClosure, value: false)
                try configureHTTP2(context.channel, runtime: runtime, frontend: frontend, pools: pools, isTLS: false)
            } else {
                try configureHTTP1(context.channel, runtime: runtime, frontend: frontend, pools: pools, limits: limits,
                                   isTLS: false, acceptedEarlier: accepted)
            }
        }
        try channel.pipeline.syncOperations.addHandler(detector)
    }

    /// Puts HTTP/2 on a client connection: nio-http2 in frame mode and one handler holding every
    /// stream's state, so each stream is still an independent request for routing, queueing,
    /// tracking and logging (spec FE-2) without a channel or pipeline of its own.
    static func configureHTTP2(_ channel: Channel, runtime: ProxyRuntime, frontend: FrontendRuntime, pools: UpstreamPools,
                               isTLS: Bool) throws {
        let watcher = H2ConnectionWatcher(advertise: (internal: UInt32(hardMaxConcurrentStreams),
                                                      advertised: UInt32(maxConcurrentStreams)))
        let sync = channel.pipeline.syncOperations
        // One flush (one SSL_write and socket write) per event-loop tick for all streams' output.
        try sync.addHandler(H2FlushCoalescer())
        try sync.addHandler(watcher)
        try sync.addHandler(NIOHTTP2Handler(mode: .server, connectionConfiguration: http2Configuration(runtime.snapshot.global),
                                            streamConfiguration: .init()))
        try sync.addHandler(H2ConnectionHandler(runtime: runtime, frontend: frontend, pools: pools, isTLS: isTLS,
                                                maxConcurrentStreams: maxConcurrentStreams))
        try sync.addHandler(HTTP2ConnectionErrorHandler(watcher: watcher, frontend: frontend))
    }
}
