import BreakwaterConfigModel
import BreakwaterTLS
import Foundation
import NIOCore
import NIOPosix
import NIOConcurrencyHelpers

func makeTempDir(_ prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("bw-tls-\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Runs a process to completion; stdin gets `input` then EOF (after `holdStdin` seconds).
func run(_ path: String, _ args: [String], input: String = "", holdStdin: Double = 0, timeout: Double = 30) async throws -> (Int32, String, String) {
    let dir = try makeTempDir("run")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    let pipe = Pipe()
    p.standardInput = pipe
    let status: Int32 = try await withCheckedThrowingContinuation { cont in
        p.terminationHandler = { cont.resume(returning: $0.terminationStatus) }
        do { try p.run() } catch {
            p.terminationHandler = nil
            cont.resume(throwing: error)
            return
        }
        let writer = pipe.fileHandleForWriting
        let data = Data(input.utf8)
        Thread.detachNewThread {
            writer.write(data)
            if holdStdin > 0 { Thread.sleep(forTimeInterval: holdStdin) }
            try? writer.close()
        }
        let pid = p.processIdentifier
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if p.isRunning { kill(pid, SIGKILL) } }
    }
    return (status, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// Self-signed EC P-256 certificate+key PEM at `dir/file` for `cn` and `sans`.
@discardableResult
func makeCertificate(in dir: URL, file: String, cn: String, sans: [String], separateKey: Bool = false) async throws -> String {
    let cert = dir.appendingPathComponent(file + ".crt.tmp").path
    let key = dir.appendingPathComponent(file + ".key.tmp").path
    var args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=\(cn)"]
    if !sans.isEmpty { args += ["-addext", "subjectAltName=" + sans.map { "DNS:\($0)" }.joined(separator: ",")] }
    let (code, _, err) = try await run("/usr/bin/openssl", args)
    guard code == 0 else { throw TestFailure("openssl req failed: \(err)") }
    let pem = dir.appendingPathComponent(file).path
    let c = try String(contentsOfFile: cert, encoding: .utf8), k = try String(contentsOfFile: key, encoding: .utf8)
    if separateKey {
        try c.write(toFile: pem, atomically: true, encoding: .utf8)
        try k.write(toFile: pem + ".key", atomically: true, encoding: .utf8)
    } else {
        try (c + k).write(toFile: pem, atomically: true, encoding: .utf8)
    }
    try? FileManager.default.removeItem(atPath: cert)
    try? FileManager.default.removeItem(atPath: key)
    return pem
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// `count` random keys of `size` bytes, base64 lines.
func keyFile(at url: URL, count: Int = 3, size: Int = 48) throws -> [String] {
    let lines = (0..<count).map { _ in Data((0..<size).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }
    try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
    return lines
}

/// Answers each connection's first request (after the TLS handler) with the negotiated parameters,
/// then closes: `proto=TLSv1.3 alpn=http/1.1 sni=a.test resumed=0`.
final class InfoResponder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = IOData
    private var seen = ""
    private var info: TLSConnectionInfo?

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? TLSHandshakeCompleted { info = e.info }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var b = unwrapInboundIn(data)
        seen += b.readString(length: b.readableBytes) ?? ""
        guard seen.contains("\r\n\r\n") else { return }
        seen = ""
        let i = info
        let body = "proto=\(i?.protocolVersion ?? "-") alpn=\(i?.alpn ?? "-") sni=\(i?.serverName ?? "-") resumed=\(i?.resumed == true ? 1 : 0) cipher=\(i?.cipher ?? "-")\n"
        let response = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: \(body.utf8.count)\r\nconnection: close\r\n\r\n\(body)"
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(ByteBuffer(string: response)))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

/// Records TLS errors the handler reports.
final class ErrorRecorder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let errors = NIOLockedValueBox<[TLSError]>([])
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let e = error as? TLSError { errors.withLockedValue { $0.append(e) } }
        context.fireErrorCaught(error)
    }
}

/// A tiny TLS server on 127.0.0.1 using `OpenSSLServerHandler` directly.
final class TinyTLSServer: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    let recorder = ErrorRecorder()
    var port: Int { channel.localAddress!.port! }

    init(context: TLSServerContext, handshakeTimeout: TimeAmount? = .seconds(10)) async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let recorder = self.recorder
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.eventLoop.makeCompletedFuture {
                    guard let tls = OpenSSLServerHandler(context: context, handshakeTimeout: handshakeTimeout) else {
                        throw TestFailure("SSL_new failed")
                    }
                    try ch.pipeline.syncOperations.addHandler(tls)
                    try ch.pipeline.syncOperations.addHandler(recorder)
                    try ch.pipeline.syncOperations.addHandler(InfoResponder())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// `openssl s_client` against 127.0.0.1:port sending one request; returns stdout+stderr.
func sClient(port: Int, args: [String] = [], request: Bool = true) async throws -> String {
    let input = request ? "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" : ""
    let (_, out, err) = try await run("/usr/bin/openssl",
        ["s_client", "-connect", "127.0.0.1:\(port)", "-ign_eof"] + args, input: input, timeout: 20)
    return out + err
}

func isReused(_ output: String) -> Bool { output.contains("Reused, TLS") }
