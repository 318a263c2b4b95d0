import Foundation
import NIOCore
import NIOHPACK

/// A raw HTTP/2 client for sending frames a well-behaved client never would (upper-case names,
/// forbidden fields, bad targets) and reading back every frame the server sent. Requests are
/// encoded as HPACK literals without indexing, byte for byte as given; responses are decoded with
/// swift-nio-http2's HPACK decoder.
final class H2Client: @unchecked Sendable {
    struct Frame {
        var type: UInt8
        var flags: UInt8
        var stream: UInt32
        var payload: [UInt8]
    }

    static let rstStream: UInt8 = 3
    static let goAway: UInt8 = 7
    static let protocolError: UInt32 = 1
    static let refusedStream: UInt32 = 7

    let raw: RawClient

    private init(raw: RawClient) { self.raw = raw }

    /// Connects, sends the preface and an empty SETTINGS frame, and acknowledges the server's
    /// SETTINGS (its limits apply from then on).
    static func connect(port: Int) async throws -> H2Client {
        let c = H2Client(raw: try await RawClient.connect(port: port))
        try await c.raw.send(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(type: 4, flags: 0, stream: 0, payload: []))
        let settled = await waitUntil(timeout: 5) { c.frames.contains { $0.type == 4 && $0.flags & 0x01 == 0 } }
        guard settled else { throw HarnessError.message("no SETTINGS from the server on 127.0.0.1:\(port): \(c.raw.bytes.prefix(64))") }
        try await c.raw.send(frame(type: 4, flags: 0x01, stream: 0, payload: []))
        return c
    }

    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS, if it sent one.
    var maxConcurrentStreams: UInt32? {
        guard let f = frames.first(where: { $0.type == 4 && $0.flags & 0x01 == 0 }) else { return nil }
        for i in stride(from: 0, to: f.payload.count - 5, by: 6) where f.payload[i] == 0 && f.payload[i + 1] == 3 {
            return Self.u32(f.payload, i + 2)
        }
        return nil
    }

    static func frame(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8]) -> [UInt8] {
        let n = payload.count
        return [UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, flags,
                UInt8(stream >> 24 & 0x7F), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
    }

    /// HPACK literal header field without indexing, new name (RFC 7541 §6.2.2), no Huffman.
    static func literal(_ name: String, _ value: String) -> [UInt8] {
        [0x00] + hpackString(Array(name.utf8)) + hpackString(Array(value.utf8))
    }

    private static func hpackString(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var n = bytes.count
        if n < 127 {
            out.append(UInt8(n))
        } else {
            out.append(127)
            n -= 127
            while n >= 128 {
                out.append(UInt8(n & 0x7F | 0x80))
                n >>= 7
            }
            out.append(UInt8(n))
        }
        return out + bytes
    }

    /// The usual request pseudo-headers, then `extra` (in order).
    static func requestBlock(method: String = "GET", path: String = "/", authority: String? = "h2.test",
                             _ extra: [(String, String)] = []) -> [UInt8] {
        var block = literal(":method", method) + literal(":scheme", "http") + literal(":path", path)
        if let authority { block += literal(":authority", authority) }
        for (n, v) in extra { block += literal(n, v) }
        return block
    }

    /// Sends one HEADERS frame (END_HEADERS, and END_STREAM unless `endStream` is false).
    func sendHeaders(stream: UInt32, block: [UInt8], endStream: Bool = true) async throws {
        try await raw.send(Self.frame(type: 1, flags: endStream ? 0x05 : 0x04, stream: stream, payload: block))
    }

    func sendRequest(stream: UInt32, method: String = "GET", path: String = "/", authority: String? = "h2.test",
                     _ extra: [(String, String)] = [], endStream: Bool = true) async throws {
        try await sendHeaders(stream: stream, block: Self.requestBlock(method: method, path: path, authority: authority, extra),
                              endStream: endStream)
    }

    /// Every complete frame received so far.
    var frames: [Frame] {
        let bytes = raw.bytes
        var out: [Frame] = []
        var i = 0
        while i + 9 <= bytes.count {
            let len = Int(bytes[i]) << 16 | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2])
            guard i + 9 + len <= bytes.count else { break }
            let stream = (UInt32(bytes[i + 5]) << 24 | UInt32(bytes[i + 6]) << 16 | UInt32(bytes[i + 7]) << 8 | UInt32(bytes[i + 8])) & 0x7FFF_FFFF
            out.append(Frame(type: bytes[i + 3], flags: bytes[i + 4], stream: stream, payload: Array(bytes[(i + 9)..<(i + 9 + len)])))
            i += 9 + len
        }
        return out
    }

    /// The error code of the RST_STREAM the server sent on `stream`.
    func reset(_ stream: UInt32) -> UInt32? {
        frames.first { $0.type == Self.rstStream && $0.stream == stream }.map { Self.u32($0.payload, 0) }
    }

    /// (last stream id, error code) of the server's GOAWAY.
    var goAway: (lastStream: UInt32, code: UInt32)? {
        frames.first { $0.type == Self.goAway }.map { (Self.u32($0.payload, 0) & 0x7FFF_FFFF, Self.u32($0.payload, 4)) }
    }

    /// Response header blocks by stream, decoded in arrival order (one HPACK context per connection).
    var responseHeaders: [UInt32: [HPACKHeaders]] {
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        var out: [UInt32: [HPACKHeaders]] = [:]
        for f in frames where f.type == 1 {
            var payload = f.payload[...]
            if f.flags & 0x08 != 0, let pad = payload.first { payload = payload.dropFirst().dropLast(Int(pad)) }
            if f.flags & 0x20 != 0 { payload = payload.dropFirst(5) }
            var buffer = ByteBuffer(bytes: payload)
            guard let h = try? decoder.decodeHeaders(from: &buffer) else { continue }
            out[f.stream, default: []].append(h)
        }
        return out
    }

    func status(_ stream: UInt32) -> String? { responseHeaders[stream]?.first?.first(name: ":status") }

    /// The response body of `stream` (DATA payloads, padding removed).
    func body(_ stream: UInt32) -> String {
        var out: [UInt8] = []
        for f in frames where f.type == 0 && f.stream == stream {
            var p = f.payload[...]
            if f.flags & 0x08 != 0, let pad = p.first { p = p.dropFirst().dropLast(Int(pad)) }
            out += p
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// True once the server ended `stream` (END_STREAM on HEADERS or DATA, or RST_STREAM).
    func ended(_ stream: UInt32) -> Bool {
        frames.contains { $0.stream == stream && (($0.type == 0 || $0.type == 1) && $0.flags & 0x01 != 0 || $0.type == Self.rstStream) }
    }

    @discardableResult
    func waitEnded(_ streams: [UInt32], timeout: Double = 10) async -> Bool {
        await waitUntil(timeout: timeout) { streams.allSatisfy { self.ended($0) } || self.raw.isClosed }
    }

    private static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        guard b.count >= at + 4 else { return UInt32.max }
        return UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }
}
