import BreakwaterConfigModel
@testable import BreakwaterTLS
import CBreakwaterOpenSSL
import Foundation
import NIOCore
import NIOEmbedded
import Testing

/// An OpenSSL client over memory BIOs: the peer of an `OpenSSLServerHandler` in an `EmbeddedChannel`.
final class MemoryTLSClient {
    let ctx: OpaquePointer
    let ssl: OpaquePointer
    private let fromServer: OpaquePointer
    private let toServer: OpaquePointer

    init(version: Int32 = bw_tls1_3_version()) throws {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TestFailure("SSL_CTX_new") }
        _ = bw_ssl_ctx_set_min_proto(ctx, version)
        _ = bw_ssl_ctx_set_max_proto(ctx, version)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        guard let ssl = SSL_new(ctx), let r = BIO_new(BIO_s_mem()), let w = BIO_new(BIO_s_mem()) else {
            throw TestFailure("SSL_new")
        }
        _ = bw_bio_set_mem_eof_return(r, -1)
        SSL_set_bio(ssl, r, w)
        SSL_set_connect_state(ssl)
        self.ctx = ctx
        self.ssl = ssl
        fromServer = r
        toServer = w
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(ctx)
    }

    /// Ciphertext the server sent.
    func feed(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { _ = BIO_write(fromServer, $0.baseAddress, Int32($0.count)) }
    }

    /// Ciphertext for the server, all that is queued.
    func output() -> [UInt8] {
        let n = Int(bw_bio_ctrl_pending(toServer))
        guard n > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: n)
        _ = bytes.withUnsafeMutableBytes { BIO_read(toServer, $0.baseAddress, Int32(n)) }
        return bytes
    }

    /// Advances the handshake; true once complete.
    @discardableResult
    func handshake() -> Bool { SSL_do_handshake(ssl) == 1 }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { _ = SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
    }

    /// All plaintext readable now.
    func read() -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if n <= 0 { break }
            out += chunk[0..<Int(n)]
        }
        return out
    }

    var receivedCloseNotify: Bool { (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN) != 0 }
}

/// `OpenSSLServerHandler` in an `EmbeddedChannel` against `MemoryTLSClient`: ciphertext split and
/// joined at will, so the callback BIO sees records across reads, many records per read, EOF
/// mid-record and close_notify.
@Suite(.serialized) struct CiphertextBIOTests {
    struct Harness {
        let channel: EmbeddedChannel
        let handler: OpenSSLServerHandler
        let client: MemoryTLSClient
        /// Ciphertext buffers the server wrote (one per flush).
        var serverWrites = 0

        /// Moves what the client queued into the server, `chunk` bytes per read (nil: one read).
        mutating func clientToServer(chunk: Int? = nil) throws {
            let bytes = client.output()
            guard !bytes.isEmpty else { return }
            let size = chunk ?? bytes.count
            var i = 0
            while i < bytes.count {
                try channel.writeInbound(ByteBuffer(bytes: bytes[i..<min(bytes.count, i + size)]))
                i += size
            }
        }

        mutating func serverToClient() throws {
            while let data = try channel.readOutbound(as: IOData.self) {
                guard case .byteBuffer(let b) = data else { throw TestFailure("file region written") }
                serverWrites += 1
                client.feed(b)
            }
        }

        /// Plaintext the server delivered to the next handler.
        func serverPlaintext() throws -> [UInt8] {
            var out: [UInt8] = []
            while var b = try channel.readInbound(as: ByteBuffer.self) { out += b.readBytes(length: b.readableBytes)! }
            return out
        }

        /// Handshake with the client's flights cut into `chunk`-byte reads.
        mutating func handshake(chunk: Int? = nil) throws {
            for _ in 0..<10 {
                let done = client.handshake()
                try clientToServer(chunk: chunk)
                try serverToClient()
                if done && handler.isHandshakeComplete { break }
            }
            #expect(handler.isHandshakeComplete)
            #expect(client.handshake())
        }
    }

    func makeHarness(version: Int32 = bw_tls1_3_version()) async throws -> (Harness, URL) {
        let dir = try makeTempDir("bio")
        let pem = try await makeCertificate(in: dir, file: "a.pem", cn: "a.test", sans: ["a.test"])
        let context = try TLSServerContext(config: TLSBindConfig(certificates: [pem]), ticketRing: nil)
        let handler = try #require(OpenSSLServerHandler(context: context, handshakeTimeout: nil))
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        return (Harness(channel: channel, handler: handler, client: try MemoryTLSClient(version: version)), dir)
    }

    @Test(arguments: [1, 3, 5, 6, 100])
    func recordsSplitAcrossReadsAreReassembled(chunk: Int) async throws {
        var (h, dir) = try await makeHarness()
        defer { try? FileManager.default.removeItem(at: dir) }
        try h.handshake(chunk: chunk)
        let request = Array("GET /split HTTP/1.1\r\nHost: a.test\r\n\r\n".utf8)
        h.client.write(request)
        try h.clientToServer(chunk: chunk)
        #expect(try h.serverPlaintext() == request)
        _ = try h.channel.finish()
    }

    @Test func manyRecordsInOneReadAreAllDelivered() async throws {
        var (h, dir) = try await makeHarness(version: bw_tls1_2_version())
        defer { try? FileManager.default.removeItem(at: dir) }
        try h.handshake()
        var expected: [UInt8] = []
        for i in 0..<20 {
            let part = Array("part \(i);".utf8) + [UInt8](repeating: UInt8(i), count: i * 1000)
            h.client.write(part)
            expected += part
        }
        try h.clientToServer()  // 20 records in one read
        #expect(try h.serverPlaintext() == expected)
        _ = try h.channel.finish()
    }

    @Test func largeWriteSpansManyRecordsInOneBuffer() async throws {
        var (h, dir) = try await makeHarness()
        defer { try? FileManager.default.removeItem(at: dir) }
        try h.handshake()
        var expected: [UInt8] = []
        // A head, a body larger than several records and small trailing pieces: one flush.
        let parts: [[UInt8]] = [Array("HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n".utf8),
                                (0..<90_000).map { UInt8(truncatingIfNeeded: $0 &* 31) },
                                [UInt8](repeating: 0x41, count: 9_000), [UInt8](repeating: 0x42, count: 1_000)]
        for p in parts {
            h.channel.write(IOData.byteBuffer(ByteBuffer(bytes: p)), promise: nil)
            expected += p
        }
        let written = h.serverWrites
        h.channel.flush()
        try h.serverToClient()
        #expect(h.serverWrites == written + 1, "one ciphertext buffer per flush")
        #expect(h.client.read() == expected)
        // Small flushes afterwards still arrive intact, each in one buffer.
        for i in 0..<5 {
            let small = Array("small \(i)".utf8)
            h.channel.writeAndFlush(IOData.byteBuffer(ByteBuffer(bytes: small)), promise: nil)
            try h.serverToClient()
            #expect(h.client.read() == small)
        }
        _ = try h.channel.finish()
    }

    @Test func closeNotifyFromTheClientIsAnsweredAndTheChannelCloses() async throws {
        var (h, dir) = try await makeHarness()
        defer { try? FileManager.default.removeItem(at: dir) }
        try h.handshake()
        let request = Array("GET / HTTP/1.1\r\n\r\n".utf8)
        h.client.write(request)
        _ = SSL_shutdown(h.client.ssl)  // data and close_notify in one read
        try h.clientToServer()
        #expect(try h.serverPlaintext() == request)
        try h.serverToClient()
        _ = h.client.read()
        #expect(h.client.receivedCloseNotify)
        h.channel.embeddedEventLoop.run()
        #expect(!h.channel.isActive)
    }

    @Test func eofMidRecordDeliversNothingOfThatRecord() async throws {
        var (h, dir) = try await makeHarness()
        defer { try? FileManager.default.removeItem(at: dir) }
        try h.handshake()
        let complete = Array("whole".utf8)
        h.client.write(complete)
        h.client.write([UInt8](repeating: 0x43, count: 500))
        let bytes = h.client.output()
        // The first record whole, the second cut in its middle, then the TCP FIN.
        try h.channel.writeInbound(ByteBuffer(bytes: bytes[0..<(bytes.count - 300)]))
        h.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(try h.serverPlaintext() == complete)
        #expect(h.channel.isActive, "the application decides what a truncated input means")
        _ = try h.channel.finish()
    }

    @Test func eofMidClientHelloIsAClosedHandshake() async throws {
        var (h, dir) = try await makeHarness()
        defer { try? FileManager.default.removeItem(at: dir) }
        h.client.handshake()
        let hello = h.client.output()
        try h.channel.writeInbound(ByteBuffer(bytes: hello[0..<(hello.count / 2)]))
        #expect(h.handler.handshakeBytesReceived == hello.count / 2)
        var caught: Error?
        do {
            h.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            try h.channel.throwIfErrorCaught()
        } catch { caught = error }
        #expect(caught as? TLSError == .closedDuringHandshake)
        h.channel.embeddedEventLoop.run()
        #expect(!h.channel.isActive)
    }

    @Test func garbageIsAHandshakeFailure() async throws {
        var (h, dir) = try await makeHarness()
        defer { try? FileManager.default.removeItem(at: dir) }
        var caught: Error?
        do {
            try h.channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: plain\r\n\r\n"))
        } catch { caught = error }
        if caught == nil { do { try h.channel.throwIfErrorCaught() } catch { caught = error } }
        guard case .handshakeFailed = caught as? TLSError else {
            Issue.record("expected a handshake failure, got \(String(describing: caught))")
            return
        }
        try h.serverToClient()
        h.channel.embeddedEventLoop.run()
        #expect(!h.channel.isActive)
    }
}
