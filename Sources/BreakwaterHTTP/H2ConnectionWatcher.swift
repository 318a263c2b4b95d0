import NIOCore
import NIOHTTP2

/// Walks a byte stream of HTTP/2 frames across buffer boundaries and reports each frame header
/// together with where its payload starts in the current buffer.
struct H2FrameScanner {
    struct FrameHeader {
        var length: Int
        var type: UInt8
        var streamID: UInt32
    }

    /// Bytes still to pass over before the next frame header: the client preface at the start,
    /// afterwards the rest of the current frame's payload.
    private var skip: Int
    private var header: [UInt8] = []

    init(prefaceBytes: Int) {
        skip = prefaceBytes
        header.reserveCapacity(9)
    }

    /// Bytes that carry no frame header (a file region is only ever DATA payload).
    mutating func pass(count: Int) {
        skip = max(0, skip - count)
    }

    /// Calls `onFrame` for every frame header completed in `bytes`, with the index (into `bytes`)
    /// of the payload's first byte.
    mutating func scan(_ bytes: ByteBufferView, _ onFrame: (FrameHeader, ByteBufferView.Index) -> Void) {
        var i = bytes.startIndex
        while i < bytes.endIndex {
            if skip > 0 {
                let step = min(skip, bytes.endIndex - i)
                skip -= step
                i += step
                continue
            }
            header.append(bytes[i])
            i += 1
            guard header.count == 9 else { continue }
            let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            let stream = (UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8]))
                & 0x7FFF_FFFF
            let type = header[3]
            header.removeAll(keepingCapacity: true)
            skip = length
            onFrame(FrameHeader(length: length, type: type, streamID: stream), i)
        }
    }
}

/// Sits between the transport (socket or TLS) and nio-http2 on a client connection and reads the
/// frame headers going both ways, so that
/// - a GOAWAY that nio-http2 sends on a connection error carries the highest stream the client
///   opened (RFC 9113 §6.8) instead of 2^31−1, which would tell the client that streams it never
///   sent might have been processed;
/// - the first SETTINGS advertises the configured SETTINGS_MAX_CONCURRENT_STREAMS while nio-http2
///   enforces a higher hard limit (it would end the connection for one stream too many; the
///   stream initializer refuses the excess streams one by one instead);
/// - the connection's error handler can tell connection errors (GOAWAY sent: close) from stream
///   errors (RST_STREAM sent: the other streams go on).
///
/// Runs on the connection's event loop only.
final class H2ConnectionWatcher: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private static let headersType: UInt8 = 0x1
    private static let goAwayType: UInt8 = 0x7
    private static let settingsType: UInt8 = 0x4
    private static let maxConcurrentStreamsSetting: UInt16 = 0x3
    private static let unknownLastStream: UInt32 = 0x7FFF_FFFF

    private var inbound = H2FrameScanner(prefaceBytes: 24)
    private var outbound = H2FrameScanner(prefaceBytes: 0)
    /// The highest client-initiated stream a HEADERS frame opened.
    private(set) var lastClientStream: UInt32 = 0
    /// True once a GOAWAY went out: the connection is ending.
    private(set) var sentGoAway = false
    /// nio-http2's own max-concurrent-streams value, and the one the client is told.
    private let advertise: (internal: UInt32, advertised: UInt32)

    init(advertise: (internal: UInt32, advertised: UInt32)) {
        self.advertise = advertise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        inbound.scan(buffer.readableBytesView) { frame, _ in
            if frame.type == Self.headersType, frame.streamID & 1 == 1, frame.streamID > lastClientStream {
                lastClientStream = frame.streamID
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .fileRegion(let region):
            outbound.pass(count: region.readableBytes)
            context.write(data, promise: promise)
        case .byteBuffer(var buffer):
            // nio-http2 writes each frame header with its (non-DATA) payload in one buffer.
            var goAwayAt: Int?
            var settings: [(at: Int, length: Int)] = []
            let view = buffer.readableBytesView
            outbound.scan(view) { frame, payload in
                let at = buffer.readerIndex + (payload - view.startIndex)
                let inBuffer = view.endIndex - payload >= frame.length
                if frame.type == Self.goAwayType {
                    sentGoAway = true
                    if inBuffer, frame.length >= 4 { goAwayAt = at }
                } else if frame.type == Self.settingsType, inBuffer {
                    settings.append((at, frame.length))
                }
            }
            guard goAwayAt != nil || !settings.isEmpty else {
                context.write(data, promise: promise)
                return
            }
            if let at = goAwayAt, buffer.getInteger(at: at, as: UInt32.self) == Self.unknownLastStream {
                buffer.setInteger(lastClientStream, at: at)
            }
            for (start, length) in settings {
                for entry in stride(from: start, to: start + length - 5, by: 6)
                    where buffer.getInteger(at: entry, as: UInt16.self) == Self.maxConcurrentStreamsSetting
                    && buffer.getInteger(at: entry + 2, as: UInt32.self) == advertise.internal {
                    buffer.setInteger(advertise.advertised, at: entry + 2)
                }
            }
            context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
        }
    }
}
