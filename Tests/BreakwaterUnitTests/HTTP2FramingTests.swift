@testable import BreakwaterHTTP
import NIOCore
import Testing

/// The small HTTP/2 value types of the edge (issue 9): preface detection, the frame-header scanner
/// of the connection watcher, and the request-target checks — fed at every byte split.
@Suite struct HTTP2FramingTests {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    @Test func prefaceMatchAtEverySplit() {
        for split in 0...Self.preface.count {
            var m = PrefaceMatch()
            let first = m.received(ByteBuffer(bytes: Self.preface[..<split]).readableBytesView)
            #expect(first == (split == Self.preface.count ? .http2 : .needMore))
            if split < Self.preface.count {
                #expect(m.received(ByteBuffer(bytes: Self.preface[split...]).readableBytesView) == .http2)
            }
        }
        var h1 = PrefaceMatch()
        #expect(h1.received(ByteBuffer(string: "PRI / HTTP/1.1\r\n").readableBytesView) == .http1)
        var get = PrefaceMatch()
        #expect(get.received(ByteBuffer(string: "G").readableBytesView) == .http1)
    }

    @Test func scannerFindsFrameHeadersAcrossSplits() {
        func frame(_ type: UInt8, _ stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
            let n = payload.count
            return [UInt8(n >> 16), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF), type, 0,
                    UInt8(stream >> 24), UInt8(stream >> 16 & 0xFF), UInt8(stream >> 8 & 0xFF), UInt8(stream & 0xFF)] + payload
        }
        let bytes = Self.preface + frame(4, 0, []) + frame(1, 1, [1, 2, 3]) + frame(0, 1, Array(repeating: 9, count: 300))
            + frame(1, 7, [4]) + frame(7, 0, [0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1])
        for split in stride(from: 0, through: bytes.count, by: 1) {
            var scanner = H2FrameScanner(prefaceBytes: 24)
            var seen: [(UInt8, UInt32)] = []
            for part in [bytes[..<split], bytes[split...]] {
                scanner.scan(ByteBuffer(bytes: part).readableBytesView) { f, _ in seen.append((f.type, f.streamID)) }
            }
            #expect(seen.map(\.0) == [4, 1, 0, 1, 7], "split \(split)")
            #expect(seen.map(\.1) == [0, 1, 1, 7, 0], "split \(split)")
        }
    }

    @Test func requestTargets() {
        #expect(H2RequestTarget.check(method: "GET", path: "/a?b", authority: "h.test:8080") == .accept)
        #expect(H2RequestTarget.check(method: "OPTIONS", path: "*", authority: "h.test") == .accept)
        #expect(H2RequestTarget.check(method: "CONNECT", path: nil, authority: "h.test:443") == .accept)
        #expect(H2RequestTarget.check(method: "GET", path: "HTTP://h.test/x", authority: "h.test") != .accept)
        #expect(H2RequestTarget.check(method: "GET", path: "[::1]", authority: "[::1]:80") != .accept)
        #expect(H2RequestTarget.check(method: "GET", path: "/", authority: "[::1]:80") == .accept)
        for (path, authority) in [("http://admin.test/", "h.test"), ("admin", "h.test"), ("/p#f", "h.test"),
                                  ("/", "h.test:99999"), ("/", "h.test:8x"), ("/", "u@h.test"), ("*", "h.test"), ("", "h.test")] {
            #expect(H2RequestTarget.check(method: "GET", path: path, authority: authority) != .accept, "\(path) \(authority)")
        }
    }
}
